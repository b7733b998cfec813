//! What the outbox carries: a typed record of what happened, rendered into a message in the
//! recipient's language only when it is sent (so it always shows current figures).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Notification {
    /// The receipt of a log whose parts (an album) arrived over a short time.
    LogReceipt { log_id: i64 },
}
