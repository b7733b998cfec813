//! Group commit (and grouped reads): requests of one kind that arrive while a batch of them
//! is being run join the next batch, so a round trip's or a transaction's fixed cost (and
//! SQLite's one writer) is paid once per batch rather than once per message. An idle system sends batches of one, so nobody
//! waits for company; a busy one sends large batches without any timer.
//!
//! Each kind has one worker task. Callers wait on their own answer only, so a caller that
//! gives up (its task is cancelled) never loses anyone else's write: the batch runs to its
//! end in the worker.

use crate::{Result, StorageError};
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::{mpsc, oneshot};

/// The largest batch: bounds one transaction's size and the JSON parameter it carries.
pub(crate) const MAX_BATCH: usize = 512;

type Job<Req, Resp> = (Req, oneshot::Sender<Result<Resp>>);

pub(crate) struct Group<Req, Resp> {
    jobs: mpsc::UnboundedSender<Job<Req, Resp>>,
    stats: Arc<Counters>,
    /// Requests queued or in a batch, not answered yet (closing the store waits for them).
    pending: Arc<AtomicU64>,
}

#[derive(Default)]
struct Counters {
    batches: AtomicU64,
    requests: AtomicU64,
    busy_micros: AtomicU64,
}

/// How much grouping happened: `requests / batches` is the mean batch size.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GroupStats {
    pub batches: u64,
    pub requests: u64,
    /// Time spent running batches: against the wall clock, how busy the worker was.
    pub busy_micros: u64,
}

impl<Req: Send + 'static, Resp: Send + 'static> Group<Req, Resp> {
    /// Starts the worker. `run` gets a batch in arrival order and answers each request, in
    /// the same order. The worker ends when the last `Group` handle is dropped.
    pub(crate) fn spawn<F, Fut>(run: F) -> Self
    where
        F: FnMut(Vec<Req>) -> Fut + Send + 'static,
        Fut: Future<Output = Vec<Result<Resp>>> + Send,
    {
        Self::spawn_lingering(std::time::Duration::ZERO, run)
    }

    /// As [`Group::spawn`], but a batch waits `linger` after its first request for company:
    /// for writes nobody waits on (a busy system then pays one statement and one commit for
    /// hundreds of them instead of dozens).
    pub(crate) fn spawn_lingering<F, Fut>(linger: std::time::Duration, mut run: F) -> Self
    where
        F: FnMut(Vec<Req>) -> Fut + Send + 'static,
        Fut: Future<Output = Vec<Result<Resp>>> + Send,
    {
        let (jobs, mut rx) = mpsc::unbounded_channel::<Job<Req, Resp>>();
        let stats = Arc::new(Counters::default());
        let counters = stats.clone();
        let pending = Arc::new(AtomicU64::new(0));
        let unanswered = pending.clone();
        tokio::spawn(async move {
            let mut batch = Vec::new();
            while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
                if !linger.is_zero() && batch.len() < MAX_BATCH {
                    tokio::time::sleep(linger).await;
                    while batch.len() < MAX_BATCH {
                        match rx.try_recv() {
                            Ok(job) => batch.push(job),
                            Err(_) => break,
                        }
                    }
                }
                let (reqs, waiters): (Vec<Req>, Vec<_>) = batch.drain(..).unzip();
                let n = reqs.len();
                counters.batches.fetch_add(1, Ordering::Relaxed);
                counters.requests.fetch_add(n as u64, Ordering::Relaxed);
                let started = std::time::Instant::now();
                let mut answers = run(reqs).await.into_iter();
                let busy = started.elapsed().as_micros();
                counters
                    .busy_micros
                    .fetch_add(u64::try_from(busy).unwrap_or(u64::MAX), Ordering::Relaxed);
                for waiter in waiters {
                    let answer = answers.next().unwrap_or_else(|| {
                        // A bug in `run`, not a database state: say so rather than hang.
                        tracing::error!(batch = n, "group commit answered too few requests");
                        Err(StorageError::Internal("batch answered too few requests"))
                    });
                    // The caller may have given up; its write stands all the same.
                    let _ = waiter.send(answer);
                }
                unanswered.fetch_sub(n as u64, Ordering::AcqRel);
            }
        });
        Group {
            jobs,
            stats,
            pending,
        }
    }

    /// Whether every request made so far has been answered.
    pub(crate) fn settled(&self) -> bool {
        self.pending.load(Ordering::Acquire) == 0
    }

    pub(crate) fn stats(&self) -> GroupStats {
        GroupStats {
            batches: self.stats.batches.load(Ordering::Relaxed),
            requests: self.stats.requests.load(Ordering::Relaxed),
            busy_micros: self.stats.busy_micros.load(Ordering::Relaxed),
        }
    }

    /// Queues `req` for the next batch and waits for its answer.
    pub(crate) async fn call(&self, req: Req) -> Result<Resp> {
        let (tx, rx) = oneshot::channel();
        self.pending.fetch_add(1, Ordering::AcqRel);
        if self.jobs.send((req, tx)).is_err() {
            self.pending.fetch_sub(1, Ordering::AcqRel);
            return Err(StorageError::Internal("group commit worker stopped"));
        }
        rx.await
            .map_err(|_| StorageError::Internal("group commit worker stopped"))?
    }
}

/// One failure of a whole batch, as the answer to each of its `n` requests.
pub(crate) fn fail_all<T>(e: StorageError, n: usize) -> Vec<Result<T>> {
    let shared = Arc::new(e);
    (0..n)
        .map(|_| Err(StorageError::Batch(shared.clone())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    #[tokio::test]
    async fn answers_each_request_and_batches_the_ones_that_wait() {
        let batches = Arc::new(AtomicUsize::new(0));
        let counted = batches.clone();
        let group = Arc::new(Group::spawn(move |reqs: Vec<u32>| {
            counted.fetch_add(1, Ordering::SeqCst);
            async move {
                // Slow enough that the other callers queue up behind the first batch.
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                reqs.into_iter().map(|r| Ok(r * 2)).collect()
            }
        }));
        let calls: Vec<_> = (0..100u32)
            .map(|i| {
                let g = group.clone();
                tokio::spawn(async move { (i, g.call(i).await.unwrap()) })
            })
            .collect();
        for c in calls {
            let (i, doubled) = c.await.unwrap();
            assert_eq!(doubled, i * 2);
        }
        let n = batches.load(Ordering::SeqCst);
        assert!(n < 100, "100 concurrent requests took {n} batches");
        let stats = group.stats();
        assert_eq!((stats.batches, stats.requests), (n as u64, 100));
        assert!(stats.busy_micros >= n as u64 * 20_000, "{stats:?}");
    }

    #[tokio::test]
    async fn a_lingering_group_gathers_what_arrives_meanwhile() {
        let group = Arc::new(Group::spawn_lingering(
            std::time::Duration::from_millis(50),
            |reqs: Vec<u32>| async move { reqs.into_iter().map(Ok).collect() },
        ));
        let calls: Vec<_> = (0..20u32)
            .map(|i| {
                let g = group.clone();
                tokio::spawn(async move {
                    // Spread over 20 ms, well inside one linger.
                    tokio::time::sleep(std::time::Duration::from_millis(u64::from(i))).await;
                    g.call(i).await.unwrap()
                })
            })
            .collect();
        for (i, c) in calls.into_iter().enumerate() {
            assert_eq!(c.await.unwrap(), i as u32);
        }
        assert_eq!(group.stats().batches, 1, "{:?}", group.stats());
    }

    #[tokio::test]
    async fn a_short_answer_is_an_error_not_a_hang() {
        let group = Group::spawn(|_reqs: Vec<u32>| async { Vec::<Result<u32>>::new() });
        assert!(matches!(
            group.call(1).await,
            Err(StorageError::Internal(_))
        ));
    }
}
