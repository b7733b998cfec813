//! Sharing (互动分享): who may share which log.

/// Why a log cannot be shared.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShareRefusal {
    #[error("the log is someone else's")]
    NotYours,
    #[error("the log is shared already")]
    AlreadyShared,
    #[error("no such log")]
    NotFound,
}

/// A cadre shares his own log, once. `author` is the log's author (`None`: no such log).
pub fn may_share(author: Option<i64>, actor: i64, shared: bool) -> Result<(), ShareRefusal> {
    match author {
        None => Err(ShareRefusal::NotFound),
        Some(a) if a != actor => Err(ShareRefusal::NotYours),
        Some(_) if shared => Err(ShareRefusal::AlreadyShared),
        Some(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_author_shares_and_only_once() {
        let cases = [
            (Some(1), 1, false, Ok(())),
            (Some(1), 2, false, Err(ShareRefusal::NotYours)),
            (Some(1), 2, true, Err(ShareRefusal::NotYours)),
            (Some(1), 1, true, Err(ShareRefusal::AlreadyShared)),
            (None, 1, false, Err(ShareRefusal::NotFound)),
        ];
        for (author, actor, shared, want) in cases {
            assert_eq!(may_share(author, actor, shared), want, "{author:?} {actor}");
        }
    }
}
