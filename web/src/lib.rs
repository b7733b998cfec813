//! The web view: a Telegram Mini App served by `serve` on `server.listen` under `/app/`.
//! Every API call carries `Authorization: tma <initData>` (validated in [`auth`]); the
//! caller must be active on the roster, and sees only what `/stats` would show him (his
//! own record, and for admins and approvers the cadres of their scope,
//! `domain::supervision::Scope`). The page is one static file, no toolchain, nothing
//! loaded from elsewhere.

mod api;
pub mod auth;

use axum::Router;
use domain::Clock;
use domain::config::Config;
use std::sync::Arc;
use storage::Store;

/// What the web view needs: the store, the settings, the bot token (the initData key) and
/// the clock.
#[derive(Clone)]
pub struct Web {
    pub store: Store,
    pub config: Arc<Config>,
    pub token: Arc<str>,
    /// The Bot API server (`https://api.telegram.org`, or `TELOXIDE_API_URL`): photos not in
    /// the archive are fetched through it by the server, so the token never reaches a page.
    pub api_url: Arc<str>,
    pub clock: Arc<dyn Clock>,
    /// Called after the web view queued a message (wakes the outbox sender).
    pub on_queued: Option<Arc<dyn Fn() + Send + Sync>>,
}

/// The page.
const PAGE: &str = include_str!("app.html");

async fn page() -> impl axum::response::IntoResponse {
    use axum::http::header;
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
            // Nothing from elsewhere: the page's own script and style only.
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; \
                 img-src 'self' data: blob:; connect-src 'self'; base-uri 'none'; form-action 'none'",
            ),
        ],
        PAGE,
    )
}

/// The routes under `/app/`, to merge into the operations server.
pub fn router(web: Web) -> Router {
    Router::new()
        .route(
            "/app",
            axum::routing::get(|| async { axum::response::Redirect::permanent("/app/") }),
        )
        .route("/app/", axum::routing::get(page))
        .merge(api::routes())
        .with_state(web)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_page_is_small_and_loads_nothing_from_elsewhere() {
        assert!(
            super::PAGE.len() < 150 * 1024,
            "{} bytes",
            super::PAGE.len()
        );
        for needle in [
            "src=\"http",
            "href=\"http",
            "telegram.org",
            "//cdn",
            "@import",
        ] {
            assert!(!super::PAGE.contains(needle), "{needle}");
        }
    }
}
