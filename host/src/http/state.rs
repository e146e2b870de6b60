//! What every handler shares.

use std::sync::Arc;
use std::time::Instant;

use tidings_core::mode::Component;
use tidings_core::topic::HubUrl;
use tidings_core::{Event, EventId};

use crate::http::client_limit::{ClientLimit, Slot};
use crate::http::credentials::Credentials;
use crate::http::error::ApiError;
use crate::http::selectors::Selectors;
use crate::items::Items;
use crate::log::hub::Hub;
use crate::log::queue::PublishFailed;
use crate::ops::config::Config;
use crate::ops::lifecycle::{Lifecycle, WriteGuard};
use crate::ops::metrics::Metrics;
use crate::ops::mode_driver::ModeControl;

/// Seconds clients are told to wait before retrying a refused write.
const RETRY_AFTER_SECS: u64 = 5;

/// The server's shared state.
#[derive(Debug)]
pub struct AppState {
    /// The configuration it started with.
    pub config: Config,
    /// The hub's URL ([`Config::hub`]), parsed once: every publish checks
    /// its topics against it.
    pub hub_url: HubUrl,
    /// The broker and its clock.
    pub hub: Hub,
    /// The mode machine.
    pub mode: Arc<ModeControl>,
    /// Items and revisions in storage.
    pub items: Items,
    /// Request and probe measurements.
    pub metrics: Arc<Metrics>,
    /// Readiness and in-flight writes.
    pub lifecycle: Arc<Lifecycle>,
    /// The compiled topic selectors of streams, shared.
    pub selectors: Selectors,
    /// The keys and rules for editor, publisher and subscriber tokens.
    pub credentials: Arc<Credentials>,
    /// Concurrent streams per client address and token subject.
    pub client_limit: ClientLimit,
}

impl AppState {
    /// Counts a stream of the client at `peer` (named by `forwarded`, its
    /// `X-Forwarded-For`, when `peer` is a trusted proxy) and of the token
    /// `subject`, or refuses it with 429 past `--max-streams-per-client`.
    pub fn admit_stream(
        &self,
        peer: Option<std::net::IpAddr>,
        forwarded: Option<&str>,
        subject: Option<&str>,
    ) -> Result<Option<Slot>, ApiError> {
        let peer = peer.unwrap_or(std::net::Ipv4Addr::UNSPECIFIED.into());
        let addr = self.client_limit.client_addr(peer, forwarded);
        let retry_after = self.config.retry_ms.div_ceil(1000).max(1);
        self.client_limit.admit(addr, subject, retry_after)
    }

    /// Checks the editor's bearer token (see [`crate::http::auth::require`]).
    pub fn require_editor(&self, req: &poem::Request) -> Result<(), ApiError> {
        crate::http::auth::require(
            req,
            crate::http::auth::Role::Editor,
            self.config.editor_token.as_deref(),
        )
    }

    /// Admits one write, or answers 503 with `Retry-After` when shutting
    /// down, read-only, degraded and the write needs storage, or the bus is
    /// down (every write emits an event through it).
    pub fn begin_write(&self, needs_storage: bool) -> Result<WriteGuard, ApiError> {
        let mode = self.mode.mode();
        let bus_down = self.hub.bus().is_some() && !self.mode.health(Component::Bus);
        if mode.refuses_all_writes() || (needs_storage && mode.refuses_storage_writes()) || bus_down
        {
            return Err(ApiError::refused_by_mode(mode, RETRY_AFTER_SECS));
        }
        self.lifecycle.begin_write().ok_or_else(|| {
            ApiError::unavailable(
                "shutting_down",
                "the server is shutting down",
                RETRY_AFTER_SECS,
            )
        })
    }

    /// Publishes an event (see [`Hub::publish`]), recording how long it
    /// took to be stored.
    pub async fn publish(&self, event: Event) -> Result<EventId, PublishFailed> {
        let started = Instant::now();
        let id = self.hub.publish(event).await?;
        self.metrics.record_publish(started.elapsed());
        Ok(id)
    }

    /// Publishes the event of a completed write (see
    /// [`Hub::publish_after_write`]), recording how long it took to be
    /// stored.
    pub async fn publish_after_write(&self, event: Event) -> Result<EventId, PublishFailed> {
        let started = Instant::now();
        let id = self.hub.publish_after_write(event).await?;
        self.metrics.record_publish(started.elapsed());
        Ok(id)
    }
}
