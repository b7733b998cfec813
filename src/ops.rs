//! The operations endpoint on `[server] listen`: `GET /healthz` (200 when the database
//! answers, 503 otherwise), `GET /metrics` (Prometheus, from the `telemetry` registry), and
//! the web view under `/app/` (the `web` crate; a reverse proxy publishes it over HTTPS).

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use std::time::Duration;
use storage::Store;
use tokio::sync::watch;

async fn healthz(State(store): State<Store>) -> impl IntoResponse {
    match tokio::time::timeout(Duration::from_secs(3), store.ping()).await {
        Ok(Ok(())) => (StatusCode::OK, "ok\n"),
        _ => (StatusCode::SERVICE_UNAVAILABLE, "database unreachable\n"),
    }
}

async fn metrics(State(store): State<Store>) -> impl IntoResponse {
    // Without the database the depth is unknown; the other figures still help.
    let depth = match tokio::time::timeout(Duration::from_secs(3), store.outbox_depth()).await {
        Ok(Ok(n)) => n,
        _ => -1,
    };
    (
        [(header::CONTENT_TYPE, telemetry::CONTENT_TYPE)],
        telemetry::metrics().encode(depth),
    )
}

/// Binds `listen` and serves until `stop` turns true. If the address is taken (another
/// instance on this host), the bot runs on without the endpoint and says so: losing the
/// metrics is better than losing the bot.
pub async fn serve(
    listen: std::net::SocketAddr,
    store: Store,
    web: web::Web,
    mut stop: watch::Receiver<bool>,
) -> Option<tokio::task::JoinHandle<()>> {
    let tcp = match tokio::net::TcpListener::bind(listen).await {
        Ok(tcp) => tcp,
        Err(e) => {
            tracing::error!(
                error = %e,
                %listen,
                "cannot serve /healthz and /metrics; set server.listen to a free address"
            );
            return None;
        }
    };
    let router = axum::Router::new()
        .route("/healthz", axum::routing::get(healthz))
        .route("/metrics", axum::routing::get(metrics))
        .with_state(store)
        .merge(web::router(web));
    Some(tokio::spawn(async move {
        let stopped = async move {
            let _ = stop.wait_for(|s| *s).await;
        };
        if let Err(e) = axum::serve(tcp, router)
            .with_graceful_shutdown(stopped)
            .await
        {
            tracing::error!(error = %e, "the operations endpoint failed");
        }
    }))
}
