//! The `approval-reminder` digest: one message listing every request waiting for the
//! approver, oldest first, with 批准 / 驳回 for each (the same buttons as the cards, so the
//! same decision runs, against the request's current state).

use crate::Ctx;
use crate::callback::Callback;
use crate::texts::{K, fill, tr};
use domain::config::Lang;
use storage::LeaveStatus;
use teloxide::types::{InlineKeyboardButton, InlineKeyboardMarkup};

/// The digest's text and buttons; `None` when none of the requests waits any more.
pub async fn render(
    app: &Ctx,
    lang: Lang,
    requests: &[i64],
) -> Result<Option<(String, Option<InlineKeyboardMarkup>)>, storage::StorageError> {
    let mut lines = Vec::new();
    let mut rows = Vec::new();
    for id in requests {
        let Some(r) = app.store.leave_request(*id).await? else {
            continue;
        };
        if r.status != LeaveStatus::Pending {
            continue;
        }
        lines.push(fill(
            tr(lang, K::DigestItem),
            &[
                ("id", &r.id.to_string()),
                ("name", &r.person_name),
                ("start", &r.start.to_string()),
                ("end", &r.end.to_string()),
                ("days", &r.days.to_string()),
                ("reason", &r.reason),
            ],
        ));
        let button = |approve: bool, key: K| {
            let data = Callback::Leave {
                request: r.id,
                step: r.step,
                approve,
            };
            InlineKeyboardButton::callback(
                fill(tr(lang, key), &[("id", &r.id.to_string())]),
                data.encode(),
            )
        };
        rows.push(vec![
            button(true, K::DigestApprove),
            button(false, K::DigestReject),
        ]);
    }
    if lines.is_empty() {
        return Ok(None);
    }
    let text = format!(
        "{}\n\n{}",
        fill(
            tr(lang, K::DigestHeader),
            &[("count", &lines.len().to_string())]
        ),
        lines.join("\n")
    );
    Ok(Some((text, Some(InlineKeyboardMarkup::new(rows)))))
}
