//! The service's metrics, one registry for the process: the intake, the sender and the
//! scheduler count into it; `GET /metrics` encodes it (OpenMetrics text, which Prometheus
//! reads). Counting is an atomic add, so it costs nothing on the hot path.

use prometheus_client::encoding::{EncodeLabelSet, text::encode};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::sync::OnceLock;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Kind {
    kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Outcome {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct JobRun {
    job: &'static str,
    outcome: &'static str,
}

/// What a send of the outbox came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Send {
    Sent,
    /// Telegram said wait (429) or could not be reached: tried again later.
    Retried,
    /// Given up (blocked by the user, refused, too many attempts).
    Failed,
}

pub struct Metrics {
    registry: Registry,
    updates: Family<Kind, Counter>,
    update_seconds: Family<Kind, Histogram, fn() -> Histogram>,
    logs: Counter,
    sends: Family<Outcome, Counter>,
    outbox_depth: Gauge,
    job_runs: Family<JobRun, Counter>,
}

fn latency_buckets() -> Histogram {
    // 1 ms to ~16 s.
    Histogram::new(exponential_buckets(0.001, 2.0, 15))
}

impl Metrics {
    fn new() -> Metrics {
        let mut registry = Registry::with_prefix("zhucun");
        let updates = Family::<Kind, Counter>::default();
        registry.register(
            "updates",
            "Telegram updates handled, by kind",
            updates.clone(),
        );
        let update_seconds =
            Family::<Kind, Histogram, fn() -> Histogram>::new_with_constructor(latency_buckets);
        registry.register(
            "update_seconds",
            "Time to handle one update (answer included), by kind",
            update_seconds.clone(),
        );
        let logs = Counter::default();
        registry.register("logs_recorded", "Work logs recorded", logs.clone());
        let sends = Family::<Outcome, Counter>::default();
        registry.register(
            "outbox_sends",
            "Outbox deliveries, by outcome",
            sends.clone(),
        );
        let outbox_depth = Gauge::default();
        registry.register(
            "outbox_depth",
            "Notifications waiting in the outbox",
            outbox_depth.clone(),
        );
        let job_runs = Family::<JobRun, Counter>::default();
        registry.register(
            "job_runs",
            "Scheduled job runs, by job and outcome",
            job_runs.clone(),
        );
        Metrics {
            registry,
            updates,
            update_seconds,
            logs,
            sends,
            outbox_depth,
            job_runs,
        }
    }

    pub fn update_handled(&self, kind: &'static str, seconds: f64) {
        self.updates.get_or_create(&Kind { kind }).inc();
        self.update_seconds
            .get_or_create(&Kind { kind })
            .observe(seconds);
    }

    pub fn log_recorded(&self) {
        self.logs.inc();
    }

    pub fn sent(&self, outcome: Send) {
        let outcome = match outcome {
            Send::Sent => "sent",
            Send::Retried => "retried",
            Send::Failed => "failed",
        };
        self.sends.get_or_create(&Outcome { outcome }).inc();
    }

    pub fn job_ran(&self, job: &'static str, ok: bool) {
        let outcome = if ok { "ok" } else { "error" };
        self.job_runs.get_or_create(&JobRun { job, outcome }).inc();
    }

    /// The registry as text, with the outbox depth read just now.
    pub fn encode(&self, outbox_depth: i64) -> String {
        self.outbox_depth.set(outbox_depth);
        let mut text = String::new();
        encode(&mut text, &self.registry).expect("writing to a String cannot fail");
        text
    }
}

/// The process's metrics.
pub fn metrics() -> &'static Metrics {
    static METRICS: OnceLock<Metrics> = OnceLock::new();
    METRICS.get_or_init(Metrics::new)
}

/// The content type of [`Metrics::encode`]'s text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_show_in_the_text() {
        let m = Metrics::new();
        m.update_handled("message", 0.004);
        m.update_handled("message", 0.002);
        m.log_recorded();
        m.sent(Send::Sent);
        m.sent(Send::Failed);
        m.job_ran("log-reminder", true);
        let text = m.encode(7);
        assert!(
            text.contains(r#"zhucun_updates_total{kind="message"} 2"#),
            "{text}"
        );
        assert!(text.contains("zhucun_logs_recorded_total 1"), "{text}");
        assert!(
            text.contains(r#"zhucun_outbox_sends_total{outcome="failed"} 1"#),
            "{text}"
        );
        assert!(text.contains("zhucun_outbox_depth 7"), "{text}");
        assert!(
            text.contains(r#"zhucun_job_runs_total{job="log-reminder",outcome="ok"} 1"#),
            "{text}"
        );
        assert!(
            text.contains(r#"zhucun_update_seconds_count{kind="message"} 2"#),
            "{text}"
        );
        assert!(text.ends_with("# EOF\n"));
    }
}
