//! The office's web view: the register in a browser, served by the daemon (`[web] listen`)
//! or by `mail-intake web` on its own.
//!
//! axum on the daemon's tokio; pages are minijinja templates compiled into the binary
//! (`templates/`), plain HTML with a little inline CSS and no JavaScript. The store is read
//! through the store module only, on its own connections (SQLite WAL: it works while the
//! daemon writes). Actions go through [`crate::actions`], the command line's code path.
//!
//! Files, one job each: `config` (`[web]`), `auth` (users, sessions, CSRF, login slowing),
//! `render` (templates and error pages), `rows` (register rows in words), `download`
//! (streamed bodies), `skeleton` (a stored mail without its big base64 bodies), `routes` (the URL map and the login guard), `pages/*` (one per page).

pub mod auth;
/// `[web]`: lives in `config` (a lower layer), named here as before.
pub use crate::config::web as config;
mod download;
mod pages;
mod render;
mod routes;
mod rows;
mod skeleton;

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::sync::{Semaphore, watch};

use crate::config::Config;
use crate::rules::Rules;
use crate::store::{Store, StoreError};

pub use routes::router;

/// Why the web view could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    #[error("cannot listen on {addr}: {source}; pick another [web] listen address or stop what uses it")]
    Bind {
        addr: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the web view cannot open the store: {0}")]
    Store(#[from] StoreError),
    #[error("the web view's templates are broken: {0}")]
    Template(#[from] minijinja::Error),
    #[error("the web view stopped: {0}")]
    Serve(std::io::Error),
}

/// Everything a request handler needs, shared.
pub struct App {
    pub(crate) cfg: Config,
    pub(crate) rules: Rules,
    /// Pages read (and actions write) through this connection.
    pub(crate) store: Store,
    /// Exports and downloads use their own connection, so a big one never holds up a page.
    pub(crate) bulk: Store,
    pub(crate) templates: minijinja::Environment<'static>,
    pub(crate) sessions: auth::Sessions,
    pub(crate) limiter: auth::Limiter,
    /// How the configuration is named in hints (`mail-intake … -c CONFIG`).
    pub(crate) config_hint: String,
    /// The overview's last digest (see `pages::overview`).
    pub(crate) overview: pages::overview::Cached,
    /// At most this many exports or attachment downloads are prepared at once (memory).
    pub(crate) heavy: Semaphore,
    /// The skeletons of the biggest mails (see `skeleton::Cache`).
    pub(crate) skeletons: skeleton::Cache,
}

impl App {
    /// Opens the store (pages, downloads, the overview's digest) and compiles the templates.
    pub fn new(cfg: Config, rules: Rules, config_hint: String) -> Result<Arc<App>, WebError> {
        let store = Store::open(&cfg.store_path)?;
        let bulk = Store::open(&cfg.store_path)?;
        let templates = render::environment()?;
        let overview = pages::overview::Cached::open(&cfg.store_path)?;
        let sessions = auth::Sessions::new(cfg.web.session_ttl);
        Ok(Arc::new(App {
            cfg,
            rules,
            store,
            bulk,
            templates,
            sessions,
            limiter: auth::Limiter::default(),
            config_hint,
            overview,
            heavy: Semaphore::new(2),
            skeletons: skeleton::Cache::default(),
        }))
    }
}

/// Binds the listening socket (`127.0.0.1:0` picks a free port).
pub async fn bind(addr: SocketAddr) -> Result<tokio::net::TcpListener, WebError> {
    tokio::net::TcpListener::bind(addr).await.map_err(|source| WebError::Bind { addr: addr.to_string(), source })
}

/// Serves the web view on `listener` until `shutdown` turns true.
pub async fn serve(
    app: Arc<App>,
    listener: tokio::net::TcpListener,
    mut shutdown: watch::Receiver<bool>,
) -> Result<(), WebError> {
    let addr = listener.local_addr().map_err(WebError::Serve)?;
    pages::overview::refresh(Arc::downgrade(&app));
    warm_skeletons(Arc::downgrade(&app));
    tracing::info!(stage = "web", %addr, "web view listening");
    let router = router(app).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, router)
        .with_graceful_shutdown(async move {
            while !*shutdown.borrow() {
                if shutdown.changed().await.is_err() {
                    // The sender is gone: nobody can ask us to stop; serve on.
                    std::future::pending::<()>().await;
                }
            }
        })
        .await
        .map_err(WebError::Serve)
}

/// Keeps the skeletons of the newest big mails built (at start, then every few seconds for
/// mail the daemon stored meanwhile), so that their pages never wait for one.
fn warm_skeletons(app: std::sync::Weak<App>) {
    tokio::spawn(async move {
        loop {
            let Some(a) = app.upgrade() else { break };
            let done = tokio::task::spawn_blocking(move || a.bulk.with(|c| skeleton::warm(&a.skeletons, c))).await;
            match done {
                Ok(Ok(n)) if n > 0 => tracing::debug!(stage = "web", built = n, "skeletons of big mails built"),
                Ok(Err(e)) => tracing::warn!(stage = "web", error = %e, "building the skeletons of big mails failed"),
                _ => {}
            }
            tokio::time::sleep(std::time::Duration::from_secs(5)).await;
        }
    });
}
