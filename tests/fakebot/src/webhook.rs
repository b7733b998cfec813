//! Telegram's side of a webhook: queued updates posted to the bot's URL until a 2xx.

use crate::server::Shared;
use serde_json::Value;
use std::sync::Weak;
use std::time::Duration;

const SECRET_HEADER: &str = "X-Telegram-Bot-Api-Secret-Token";

pub(crate) fn spawn(shared: Weak<Shared>, twice_every: Option<usize>) {
    tokio::spawn(async move {
        // A new connection per post, so that a load balancer in between (one that balances
        // connections) spreads the posts, and a copy goes to another instance than the first.
        let client = match reqwest::Client::builder().pool_max_idle_per_host(0).build() {
            Ok(c) => c,
            Err(e) => panic!("fakebot: webhook client: {e}"),
        };
        let mut n = 0usize;
        loop {
            let Some(sh) = shared.upgrade() else { return };
            let notified = sh.updates_changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let due: Vec<(i64, Value, String, String)> = {
                let mut st = sh.lock();
                if st.webhook_url.is_empty() {
                    Vec::new()
                } else {
                    let (url, secret) = (st.webhook_url.clone(), st.webhook_secret.clone());
                    st.updates
                        .iter_mut()
                        .filter(|q| !q.dropped && !q.delivered && !q.posting)
                        .map(|q| {
                            q.posting = true;
                            (q.id, q.update.clone(), url.clone(), secret.clone())
                        })
                        .collect()
                }
            };
            for (id, update, url, secret) in due {
                n += 1;
                let copies = if twice_every.is_some_and(|k| k > 0 && n.is_multiple_of(k)) {
                    2
                } else {
                    1
                };
                for _ in 0..copies {
                    let job = (client.clone(), shared.clone(), update.clone());
                    let (url, secret) = (url.clone(), secret.clone());
                    tokio::spawn(post_until_taken(job.0, job.1, id, job.2, url, secret));
                }
            }
            let _ = tokio::time::timeout(Duration::from_millis(50), notified).await;
        }
    });
}

async fn post_until_taken(
    client: reqwest::Client,
    shared: Weak<Shared>,
    id: i64,
    update: Value,
    url: String,
    secret: String,
) {
    loop {
        let taken = client
            .post(&url)
            .header(SECRET_HEADER, &secret)
            .json(&update)
            .send()
            .await
            .is_ok_and(|r| r.status().is_success());
        let Some(sh) = shared.upgrade() else { return };
        if taken {
            let mut st = sh.lock();
            if let Some(q) = st.updates.iter_mut().find(|q| q.id == id) {
                q.delivered = true;
                q.confirmed = true;
            }
            return;
        }
        drop(sh);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
