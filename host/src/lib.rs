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

pub mod clock;
pub mod http;
pub mod items;
pub mod log;
pub mod ops;
pub mod storage;
pub mod tokens;

use std::sync::Arc;

use poem::endpoint::BoxEndpoint;
use tidings_core::BrokerConfig;
use tidings_core::mode::{Component, ModeConfig};
use tokio::runtime::Handle;

pub use ops::config::{self, Config};
pub use ops::telemetry;

use crate::clock::Clock;
use crate::http::accept;
use crate::http::credentials::{Credentials, CredentialsError};
use crate::http::state::AppState;
use crate::http::tls::Tls;
use crate::items::Items;
use crate::log::admission::FanoutBudget;
use crate::log::bus::{self, Bus, BusConfig};
use crate::log::epoch::new_epoch;
use crate::log::history::{self, Loaded};
use crate::log::hub::{Hub, Log, QueueLimits};
use crate::ops::lifecycle::Lifecycle;
use crate::ops::metrics::Metrics;
use crate::ops::mode_driver::{self, ModeControl};
use crate::storage::Store;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The configuration breaks a rule.
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    /// A token key does not load or does not fit its algorithms.
    #[error(transparent)]
    Credentials(#[from] CredentialsError),
    /// The storage could not be opened.
    #[error("cannot open storage: {0}")]
    Storage(#[from] storage::StorageError),
    /// The bus could not be joined.
    #[error("cannot join the bus: {0}")]
    Bus(#[from] bus::BusError),
    /// The TLS certificate or key does not load.
    #[error("TLS: {0}")]
    Tls(#[from] http::tls::TlsError),
    /// The listener failed.
    #[error("cannot listen: {0}")]
    Io(#[from] std::io::Error),
}

/// The state and background tasks of one server.
#[derive(Debug)]
pub struct Server {
    /// What the handlers share.
    pub state: Arc<AppState>,
    /// Keys and rules for access tokens and the editor token.
    pub credentials: Arc<Credentials>,
    store: Store,
    tls: Option<Tls>,
}

/// Builds the server's state from `config` with a new, empty history and no
/// bus (no socket, no tasks, no I/O yet): what tests drive through poem's
/// test client.
pub fn build(config: Config) -> Result<Server, StartError> {
    config.validate()?;
    let credentials = Credentials::from_config(&config)?;
    let store = open_store(&config)?;
    let history = Loaded::fresh(new_epoch());
    let writer = history::Writer::new(store.clone(), history.epoch.clone(), config.history_size);
    let log = Log::Local(Box::new(writer));
    assemble(config, credentials, store, history, log)
}

/// Builds the server's state from `config`, continuing its history: joins
/// the bus when one is configured, else loads the node's durable history
/// from storage.
pub async fn start(config: Config) -> Result<Server, StartError> {
    config.validate()?;
    let credentials = Credentials::from_config(&config)?;
    let store = open_store(&config)?;
    let (history, log) = match &config.bus {
        Some(url) => {
            let bus_config = BusConfig {
                url: url.clone(),
                key: config.bus_key.clone(),
                max_len: config.bus_history,
                timeout: config.probe_timeout,
            };
            let (bus, history) = Bus::connect(bus_config, config.history_size).await?;
            (history, Log::Bus(Arc::new(bus)))
        }
        None => {
            let fresh = new_epoch();
            let loading = history::load(&store, config.history_size, fresh.clone());
            // A store that is down or hung at start must not keep the node
            // from serving: it starts a new history instead (clients reset).
            let history = match tokio::time::timeout(config.storage_timeout, loading).await {
                Ok(Ok(history)) => history,
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "history not loaded; starting a new epoch");
                    Loaded::fresh(fresh)
                }
                Err(_) => {
                    tracing::warn!("history not loaded in time; starting a new epoch");
                    Loaded::fresh(fresh)
                }
            };
            let writer =
                history::Writer::new(store.clone(), history.epoch.clone(), config.history_size);
            (history, Log::Local(Box::new(writer)))
        }
    };
    assemble(config, credentials, store, history, log)
}

fn open_store(config: &Config) -> Result<Store, StartError> {
    Ok(Store::open(&config.storage)?.with_timeout(config.storage_timeout))
}

fn assemble(
    config: Config,
    credentials: Credentials,
    store: Store,
    history: Loaded,
    log: Log,
) -> Result<Server, StartError> {
    let clock = Clock::new();
    let broker_config = BrokerConfig {
        history_size: config.history_size,
        history_max_bytes: Some(config.history_bytes),
        max_subscribers: Some(config.max_clients),
        // The flusher rings, on the streams' runtime: a publish costs the
        // same with one stream or ten thousand.
        ring_on_publish: false,
        ..BrokerConfig::default()
    };
    let budget = FanoutBudget {
        lag: config.fanout_budget,
        share_percent: config.fanout_share,
        depth: config.fanout_depth,
    };
    let limits = QueueLimits {
        capacity: config.publish_queue,
        wait: config.publish_queue_wait,
    };
    let tls = match (&config.tls_cert, &config.tls_key) {
        (Some(cert), Some(key)) => Some(Tls::from_files(cert, key)?),
        _ => None,
    };
    let hub = Hub::new(broker_config, clock, history, log, limits, budget);
    let mode_config = ModeConfig::new(config.fail_threshold, config.recover_threshold)
        .map_err(|_| config::ConfigError::Threshold)?;
    let mode = Arc::new(ModeControl::new(mode_config, config.read_only, hub.clone()));
    let credentials = Arc::new(credentials);
    let state = Arc::new(AppState {
        credentials: credentials.clone(),
        items: Items::new(store.clone()),
        hub,
        mode,
        metrics: Arc::new(Metrics::default()),
        lifecycle: Arc::new(Lifecycle::default()),
        selectors: http::selectors::Selectors::from_config(&config),
        client_limit: http::client_limit::ClientLimit::new(
            config.max_streams_per_client,
            config.trusted_proxies.clone(),
        ),
        hub_url: config.hub(),
        config,
    });
    Ok(Server {
        state,
        credentials,
        store,
        tls,
    })
}

impl Server {
    /// The HTTP application.
    pub fn endpoint(&self) -> BoxEndpoint<'static> {
        http::app(self.state.clone(), self.credentials.clone())
    }

    /// Starts the background tasks: the flusher and heartbeats on `streams`
    /// (the runtime of the streams they wake), storage probes, the bus's
    /// reader and probes, the SIGUSR1 toggle and, with TLS, the SIGHUP
    /// reload of the certificate on the current one.
    pub fn spawn_tasks(&self, streams: &Handle) {
        let st = &self.state;
        streams.spawn(st.hub.feed().clone().run_flusher());
        streams.spawn(
            st.hub
                .feed()
                .clone()
                .run_heartbeats(st.config.heartbeat_interval),
        );
        let (store, metrics) = (self.store.clone(), st.metrics.clone());
        tokio::spawn(mode_driver::run_probes(
            st.mode.clone(),
            Component::Storage,
            st.config.probe_interval,
            st.config.probe_timeout,
            move || {
                let store = store.clone();
                async move { store.probe().await }
            },
            move |took, ok| metrics.record_probe(took, ok),
        ));
        if let Some(bus) = st.hub.bus() {
            let (reader, feed) = (bus.clone(), st.hub.feed().clone());
            tokio::spawn(async move { reader.run_reader(feed).await });
            let (prober, feed) = (bus.clone(), st.hub.feed().clone());
            let recorder = bus.clone();
            tokio::spawn(mode_driver::run_probes(
                st.mode.clone(),
                Component::Bus,
                st.config.probe_interval,
                st.config.probe_timeout,
                move || {
                    let (bus, feed) = (prober.clone(), feed.clone());
                    async move { bus.probe(&feed).await }
                },
                move |_, ok| recorder.set_up(ok),
            ));
        }
        // Registered before the first request is served, so an early SIGUSR1
        // never meets the default action (which would end the process).
        #[cfg(unix)]
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::user_defined1()) {
            Ok(usr1) => {
                tokio::spawn(mode_driver::run_sigusr1(st.mode.clone(), usr1));
            }
            Err(e) => tracing::error!(error = %e, "cannot listen for SIGUSR1"),
        }
        #[cfg(unix)]
        if let Some(tls) = self.tls.clone() {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
                Ok(hup) => {
                    tokio::spawn(reload_on_sighup(tls, hup));
                }
                Err(e) => tracing::error!(error = %e, "cannot listen for SIGHUP"),
            }
        }
    }

    /// Serves on `listener` until `signal` resolves, then shuts down
    /// gracefully within the configured deadline (see [`accept`]).
    pub async fn run(
        self,
        listener: tokio::net::TcpListener,
        signal: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let streams = accept::streams_runtime(self.state.config.workers().streams)?;
        // Read off the runtimes themselves, so `/metrics` shows what the
        // workers flags (or their defaults) actually built.
        let metrics = &self.state.metrics;
        metrics.record_runtime_workers("requests", Handle::current().metrics().num_workers());
        metrics.record_runtime_workers("streams", streams.handle().metrics().num_workers());
        self.spawn_tasks(streams.handle());
        let served = accept::serve(
            listener,
            self.endpoint(),
            self.state.clone(),
            streams.handle().clone(),
            self.tls.clone(),
            signal,
        )
        .await;
        // Dropping a runtime from async code would block on its threads.
        streams.shutdown_background();
        served
    }
}

/// Binds `config.listen` and serves until SIGTERM or SIGINT.
pub async fn serve(config: Config) -> Result<(), StartError> {
    let server = start(config).await?;
    let listener = listen(server.state.config.listen)?;
    let local = listener.local_addr()?;
    let tls = server.tls.is_some();
    tracing::info!(addr = %local, tls, storage = %server.state.config.storage, epoch = %server.state.hub.broker().epoch(), "listening");
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

/// Loads the certificate again at every SIGHUP: new connections get it,
/// open ones keep theirs; a file that fails to load changes nothing.
#[cfg(unix)]
async fn reload_on_sighup(tls: Tls, mut hup: tokio::signal::unix::Signal) {
    while hup.recv().await.is_some() {
        match tls.reload() {
            Ok(()) => tracing::info!("TLS certificate reloaded"),
            Err(e) => {
                tracing::error!(error = %e, "TLS certificate not reloaded; the old one stays")
            }
        }
    }
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
