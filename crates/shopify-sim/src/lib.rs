//! `shopify-sim`: a faithful local Shopify for development, tests, demos and load.
//!
//! Shop `S` lives under `http://HOST:PORT/S/…`, so a client reaches it by swapping only its
//! shop URL template (`https://{shop}` → `http://HOST:PORT/{shop}`). The control API lives
//! under `/_sim/`, a prefix no Shopify path uses.

pub mod activity;
mod admin;
mod control;
pub mod graphql;
pub mod hmac;
pub mod model;
mod oauth;
pub mod search;
pub mod shop;
pub mod shopifyql;
mod state;
mod webhooks;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::routing::{get, post, put};
use axum::Router;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::state::Sim;
pub use crate::state::{Faults, SimOptions};

/// A simulator serving on a local port.
pub struct RunningSim {
    pub addr: SocketAddr,
    sim: Arc<Sim>,
    server: JoinHandle<()>,
}

impl RunningSim {
    /// `http://127.0.0.1:PORT`
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The value for Xeno's `SHOPIFY_SHOP_URL_TEMPLATE`.
    pub fn shop_url_template(&self) -> String {
        format!("{}/{{shop}}", self.base_url())
    }

    /// Webhook deliveries attempted so far (including retries and duplicates).
    pub fn deliveries_attempted(&self) -> u64 {
        self.sim.deliveries.attempted()
    }
}

impl Drop for RunningSim {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Serves the simulator on `bind` (port 0 for any free port).
pub async fn spawn(bind: SocketAddr, options: SimOptions) -> anyhow::Result<RunningSim> {
    let listener = TcpListener::bind(bind).await?;
    let addr = listener.local_addr()?;
    let sim = Arc::new(Sim::new(options, format!("http://{addr}"))?);
    let app = router(Arc::clone(&sim));
    let server = tokio::spawn(async move {
        if let Err(err) = axum::serve(listener, app).await {
            tracing::error!(%err, "simulator server stopped");
        }
    });
    Ok(RunningSim { addr, sim, server })
}

fn router(sim: Arc<Sim>) -> Router {
    Router::new()
        .route(
            "/_sim/shops",
            post(control::create_shop).get(control::list_shops),
        )
        .route("/_sim/shops/{domain}/activity", post(control::run_activity))
        .route("/_sim/shops/{domain}/truth", get(control::truth))
        .route("/_sim/shops/{domain}/uninstall", post(control::uninstall))
        .route("/_sim/shops/{domain}/revoke", post(control::revoke))
        .route(
            "/_sim/shops/{domain}/test_notification",
            post(control::test_notification),
        )
        .route(
            "/_sim/shops/{domain}/privacy",
            post(control::privacy_request),
        )
        .route(
            "/_sim/shops/{domain}/subscriptions",
            get(control::subscriptions).delete(control::remove_subscriptions),
        )
        .route(
            "/_sim/faults",
            put(control::set_faults).get(control::get_faults),
        )
        .route("/_sim/deliveries", get(control::deliveries))
        .route("/_sim/bulk/{id}", get(admin::download_bulk))
        .route("/{shop}/admin/oauth/authorize", get(oauth::authorize))
        .route(
            "/{shop}/admin/oauth/access_token",
            post(oauth::access_token),
        )
        .route(
            "/{shop}/admin/api/{version}/graphql.json",
            post(admin::graphql),
        )
        .with_state(sim)
}
