//! `tidings-host` is the native Tidings server: it feeds time, storage
//! probes and signals into `tidings-core` and serves its streams over HTTP.
//!
//! [`build`] makes the whole application from a [`Config`] (tests call it
//! without a socket, through poem's test client); [`serve`] runs it on a
//! bound listener until a shutdown signal, then shuts down gracefully:
//! `/ready` turns 503, new writes are refused, writes under way finish,
//! every stream ends with a final `server.state` and a jittered `retry:`,
//! and the process exits within the deadline.
#![forbid(unsafe_code)]
#![warn(missing_docs, missing_debug_implementations)]

pub mod accept;
pub mod auth;
pub mod clock;
pub mod config;
pub mod error;
pub mod hub;
pub mod import;
pub mod items;
pub mod lifecycle;
pub mod metrics;
pub mod mode_driver;
pub mod raw_sse;
pub mod routes;
pub mod state;
pub mod storage;
pub mod telemetry;

use std::sync::Arc;

use poem::endpoint::BoxEndpoint;
use poem::endpoint::StaticFilesEndpoint;
use poem::middleware::Cors;
use poem::{Endpoint, EndpointExt, IntoResponse, Route, get, post, put};
use tidings_core::BrokerConfig;
use tidings_core::mode::ModeConfig;

pub use config::Config;

use crate::clock::Clock;
use crate::hub::Hub;
use crate::items::Items;
use crate::lifecycle::Lifecycle;
use crate::metrics::{Metrics, route_label};
use crate::mode_driver::ModeControl;
use crate::state::AppState;
use crate::storage::Store;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The configuration breaks a rule.
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    /// The storage could not be opened.
    #[error("cannot open storage: {0}")]
    Storage(#[from] storage::StorageError),
    /// The listener failed.
    #[error("cannot listen: {0}")]
    Io(#[from] std::io::Error),
}

/// The state and background tasks of one server.
#[derive(Debug)]
pub struct Server {
    /// What the handlers share.
    pub state: Arc<AppState>,
    store: Store,
}

/// Builds the server's state from `config` (no socket, no tasks yet).
pub fn build(config: Config) -> Result<Server, StartError> {
    config.validate()?;
    let store = Store::open(&config.storage)?.with_timeout(config.storage_timeout);
    let clock = Clock::new();
    let broker_config = BrokerConfig {
        history_size: config.history_size,
        history_max_bytes: Some(config.history_bytes),
        max_subscribers: Some(config.max_clients),
        ..BrokerConfig::default()
    };
    let hub = Hub::new(broker_config, clock);
    let mode_config = ModeConfig::new(config.fail_threshold, config.recover_threshold)
        .map_err(|_| config::ConfigError::Threshold)?;
    let mode = Arc::new(ModeControl::new(mode_config, config.read_only, hub.clone()));
    let state = Arc::new(AppState {
        items: Items::new(store.clone()),
        hub,
        mode,
        metrics: Arc::new(Metrics::default()),
        lifecycle: Arc::new(Lifecycle::default()),
        config,
    });
    Ok(Server { state, store })
}

impl Server {
    /// The HTTP application.
    pub fn endpoint(&self) -> BoxEndpoint<'static> {
        let state = self.state.clone();
        let metrics = state.metrics.clone();
        let cors = (!state.config.cors_origins.is_empty()).then(|| {
            Cors::new()
                .allow_origins(state.config.cors_origins.iter().map(String::as_str))
                .allow_headers(["authorization", "content-type", "last-event-id"])
                .expose_headers(["retry-after"])
        });
        let api = Route::new()
            .at("/api/events", get(routes::events::events))
            .at("/api/publish", post(routes::publish::publish))
            .at(
                "/api/items",
                get(routes::items::list).post(routes::items::create),
            )
            .at("/api/items/import", post(routes::items::import))
            .at(
                "/api/items/:part_number",
                get(routes::items::get)
                    .put(routes::items::update)
                    .delete(routes::items::delete),
            )
            .at(
                "/api/items/:part_number/revisions",
                get(routes::items::revisions).post(routes::items::add_revision),
            )
            .at("/api/admin/read-only", put(routes::admin::read_only))
            .at("/health", get(routes::health::health))
            .at("/ready", get(routes::health::ready))
            .at("/metrics", get(routes::health::metrics))
            .at("/api/openapi.json", get(routes::health::openapi))
            // Unknown API paths are 404 for every method; only the rest
            // falls through to the demo's static files (GET only).
            .at("/api/*rest", routes::not_found)
            .nest(
                "/",
                // Through `get` so HEAD is answered as GET without a body.
                get(StaticFilesEndpoint::new(&state.config.web_dir).index_file("index.html")),
            );
        api.with_if(cors.is_some(), cors.unwrap_or_default())
            .data(state)
            .catch_all_error(|err| async move { error::from_poem(err) })
            .around(move |ep, req| {
                let metrics = metrics.clone();
                async move {
                    let route = route_label(req.uri().path());
                    let resp = match ep.call(req).await {
                        Ok(resp) => resp.into_response(),
                        Err(err) => error::from_poem(err),
                    };
                    metrics.record_request(route, resp.status().as_u16());
                    Ok(resp)
                }
            })
            .boxed()
    }

    /// Starts the background tasks: flusher, heartbeats, storage probes and
    /// the SIGUSR1 toggle.
    pub fn spawn_tasks(&self) {
        let st = &self.state;
        tokio::spawn(st.hub.clone().run_flusher());
        tokio::spawn(st.hub.clone().run_heartbeats(st.config.heartbeat_interval));
        tokio::spawn(mode_driver::run_probes(
            st.mode.clone(),
            self.store.clone(),
            st.metrics.clone(),
            st.config.probe_interval,
            st.config.probe_timeout,
        ));
        // Registered before the first request is served, so an early SIGUSR1
        // never meets the default action (which would end the process).
        #[cfg(unix)]
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::user_defined1()) {
            Ok(usr1) => {
                tokio::spawn(mode_driver::run_sigusr1(st.mode.clone(), usr1));
            }
            Err(e) => tracing::error!(error = %e, "cannot listen for SIGUSR1"),
        }
    }

    /// Serves on `listener` until `signal` resolves, then shuts down
    /// gracefully within the configured deadline (see [`accept`]).
    pub async fn run(
        self,
        listener: tokio::net::TcpListener,
        signal: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        self.spawn_tasks();
        accept::serve(listener, self.endpoint(), self.state.clone(), signal).await
    }
}

/// Binds `config.listen` and serves until SIGTERM or SIGINT.
pub async fn serve(config: Config) -> Result<(), StartError> {
    let server = build(config)?;
    let listener = listen(server.state.config.listen)?;
    let local = listener.local_addr()?;
    tracing::info!(addr = %local, storage = %server.state.config.storage, epoch = %server.state.hub.broker().epoch(), "listening");
    server.run(listener, shutdown_signal()).await?;
    Ok(())
}

/// Connections the kernel queues before they are accepted: enough for
/// thousands of clients reconnecting at once after a network blip (the
/// default of 128 overflows and makes them retry a second later).
const LISTEN_BACKLOG: u32 = 4096;

/// A listener on `addr` with a deep accept queue.
pub fn listen(addr: std::net::SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}

/// Resolves on SIGTERM or SIGINT.
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}
