//! Drives the core's mode machine: storage and bus probes on a timer (each
//! bounded by a hard timeout, so a hung store counts as a failure, not a
//! stall), the operator's toggle from SIGUSR1 and the admin API. Every
//! transition is published as `server.state` (see [`Hub::publish_state`]).

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tidings_core::mode::{Component, Mode, ModeConfig, ModeMachine, OperatorInput, Transition};

use crate::log::hub::Hub;

/// The mode machine shared by the server.
#[derive(Debug)]
pub struct ModeControl {
    machine: Mutex<ModeMachine>,
    hub: Hub,
}

impl ModeControl {
    /// Starts the machine and makes its state the snapshot new streams get.
    pub fn new(config: ModeConfig, read_only: bool, hub: Hub) -> ModeControl {
        let machine = ModeMachine::new(config, read_only, hub.clock().now());
        hub.broker().set_state(&machine.last_transition().to_json());
        ModeControl {
            machine: Mutex::new(machine),
            hub,
        }
    }

    fn machine(&self) -> std::sync::MutexGuard<'_, ModeMachine> {
        self.machine.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The current mode.
    pub fn mode(&self) -> Mode {
        self.machine().mode()
    }

    /// The latest transition (the start-up state before any change).
    pub fn last_transition(&self) -> Transition {
        *self.machine().last_transition()
    }

    /// Whether `component` is currently counted healthy.
    pub fn health(&self, component: Component) -> bool {
        self.machine().health(component)
    }

    /// Applies the operator's input; returns the mode after it.
    pub fn operator(&self, input: OperatorInput) -> Mode {
        let mut machine = self.machine();
        let change = machine.handle_operator(input, self.hub.clock().now());
        self.publish(&machine, change);
        machine.mode()
    }

    /// Feeds one probe outcome.
    pub fn probe(&self, component: Component, ok: bool) -> Option<Transition> {
        let mut machine = self.machine();
        let change = machine.handle_probe(component, ok, self.hub.clock().now());
        self.publish(&machine, change);
        change
    }

    /// Publishes under the machine's lock, so `server.state` events are
    /// stored in the order of the transitions. While storage is unhealthy a
    /// node alone cannot store them: they are announced at once instead.
    fn publish(&self, machine: &ModeMachine, change: Option<Transition>) {
        if let Some(t) = change {
            tracing::info!(from = %t.from, to = %t.to, reason = %t.reason, "mode changed");
            self.hub
                .publish_state(&t.to_json(), machine.health(Component::Storage));
        }
    }
}

/// Runs `probe` every `interval` until the hub closes, each bounded by
/// `timeout`, and feeds the outcomes to the mode machine as `component`;
/// `record` sees each outcome and its duration.
pub async fn run_probes<F, Fut, E>(
    mode: Arc<ModeControl>,
    component: Component,
    interval: Duration,
    timeout: Duration,
    mut probe: F,
    mut record: impl FnMut(Duration, bool),
) where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<(), E>>,
    E: std::fmt::Display,
{
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if mode.hub.broker().is_closed() {
            return;
        }
        let started = Instant::now();
        let ok = match tokio::time::timeout(timeout, probe()).await {
            Ok(Ok(())) => true,
            Ok(Err(e)) => {
                tracing::warn!(%component, error = %e, "probe failed");
                false
            }
            Err(_) => {
                tracing::warn!(%component, ?timeout, "probe timed out");
                false
            }
        };
        record(started.elapsed(), ok);
        mode.probe(component, ok);
    }
}

/// Toggles read-only on every SIGUSR1.
#[cfg(unix)]
pub async fn run_sigusr1(mode: Arc<ModeControl>, mut usr1: tokio::signal::unix::Signal) {
    while usr1.recv().await.is_some() {
        let now = mode.operator(OperatorInput::Toggle);
        tracing::info!(mode = %now, "SIGUSR1: read-only toggled");
    }
}
