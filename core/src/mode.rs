//! The service mode state machine: `normal`, `read_only` or `degraded`.
//!
//! Like the rest of the core this is a pure state machine in the style of
//! `quinn-proto`: it reads no clock and performs no I/O. The caller feeds it
//! inputs through the `handle_*` methods, passing the current time along, and
//! acts on what those methods return.
//!
//! # Inputs
//!
//! * [`ModeMachine::handle_operator`]: the operator sets, clears or toggles the
//!   read-only flag ([`OperatorInput`]).
//! * [`ModeMachine::handle_probe`]: the outcome of one health probe of a
//!   [`Component`] (storage or bus). Health has hysteresis: a healthy component
//!   becomes unhealthy after [`ModeConfig::fail_threshold`] consecutive failed
//!   probes, and an unhealthy one becomes healthy again after
//!   [`ModeConfig::recover_threshold`] consecutive successful probes. A probe
//!   that agrees with the current health resets the opposite streak. A
//!   component that has never been probed counts as healthy.
//!
//! # Outputs
//!
//! Every change of [`Mode`] yields exactly one [`Transition`]. An input that
//! does not change the mode — setting the flag when it is already set, clearing
//! it when it is not, a probe that only moves a streak, or a probe that flips a
//! component's health while the mode stays the same — yields `None`, although
//! the machine's internal state (streaks, health) is still updated.
//! [`ModeMachine::last_transition`] is the snapshot to send to new subscribers.
//!
//! # Precedence
//!
//! The mode is derived from the state, in this order:
//!
//! 1. [`Mode::ReadOnly`] if the operator's read-only flag is set (read-only
//!    wins over degraded);
//! 2. else [`Mode::Degraded`] if any component is unhealthy;
//! 3. else [`Mode::Normal`].
//!
//! Probes keep being counted while read-only, so clearing the flag while
//! storage is down lands in `degraded` (with reason
//! [`Reason::OperatorWritable`]).
//!
//! ```
//! use tidings_core::Millis;
//! use tidings_core::mode::{Component, Mode, ModeConfig, ModeMachine, OperatorInput, Reason};
//!
//! let mut m = ModeMachine::new(ModeConfig::default(), false, Millis(0));
//! assert_eq!(m.mode(), Mode::Normal);
//!
//! // Two failures are not enough with the default threshold of three.
//! assert_eq!(m.handle_probe(Component::Storage, false, Millis(10)), None);
//! assert_eq!(m.handle_probe(Component::Storage, false, Millis(20)), None);
//! let t = m.handle_probe(Component::Storage, false, Millis(30)).unwrap();
//! assert_eq!((t.from, t.to, t.reason), (Mode::Normal, Mode::Degraded, Reason::StorageUnhealthy));
//!
//! // Read-only wins over degraded, and clearing it goes back to degraded.
//! let t = m.handle_operator(OperatorInput::Set, Millis(40)).unwrap();
//! assert_eq!(t.to, Mode::ReadOnly);
//! let t = m.handle_operator(OperatorInput::Clear, Millis(50)).unwrap();
//! assert_eq!((t.to, t.reason), (Mode::Degraded, Reason::OperatorWritable));
//! ```

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::Millis;

/// Errors of this module.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ModeError {
    /// [`ModeConfig::new`] was given a `fail_threshold` of zero.
    #[error("fail_threshold must be at least 1")]
    ZeroFailThreshold,
    /// [`ModeConfig::new`] was given a `recover_threshold` of zero.
    #[error("recover_threshold must be at least 1")]
    ZeroRecoverThreshold,
    /// A string that is not `normal`, `read_only` or `degraded` was parsed as a
    /// [`Mode`].
    #[error("unknown mode {0:?} (expected normal, read_only or degraded)")]
    UnknownMode(String),
}

/// The service mode.
///
/// Serializes, displays and parses as `normal`, `read_only` or `degraded`.
///
/// ```
/// use tidings_core::mode::{Mode, ModeError};
///
/// assert_eq!(Mode::ReadOnly.to_string(), "read_only");
/// assert_eq!("degraded".parse::<Mode>(), Ok(Mode::Degraded));
/// // Only the exact snake_case names parse.
/// assert_eq!(
///     "read-only".parse::<Mode>(),
///     Err(ModeError::UnknownMode("read-only".to_owned()))
/// );
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Everything works: reads and writes are accepted.
    Normal,
    /// The operator has set the read-only flag: all writes are refused.
    ReadOnly,
    /// A component is unhealthy: writes that need storage should be refused;
    /// which writes those are is the caller's decision.
    Degraded,
}

impl Mode {
    /// The mode's name: `normal`, `read_only` or `degraded`.
    ///
    /// ```
    /// use tidings_core::mode::Mode;
    /// assert_eq!(Mode::ReadOnly.as_str(), "read_only");
    /// assert_eq!(Mode::ReadOnly.as_str().parse::<Mode>(), Ok(Mode::ReadOnly));
    /// ```
    pub const fn as_str(self) -> &'static str {
        match self {
            Mode::Normal => "normal",
            Mode::ReadOnly => "read_only",
            Mode::Degraded => "degraded",
        }
    }

    /// Whether every write must be refused: true only for [`Mode::ReadOnly`].
    ///
    /// ```
    /// use tidings_core::mode::Mode;
    /// assert!(Mode::ReadOnly.refuses_all_writes());
    /// // Degraded only refuses the writes that need storage.
    /// assert!(!Mode::Degraded.refuses_all_writes());
    /// assert!(!Mode::Normal.refuses_all_writes());
    /// ```
    pub const fn refuses_all_writes(self) -> bool {
        matches!(self, Mode::ReadOnly)
    }

    /// Whether writes that need storage must be refused: true for
    /// [`Mode::ReadOnly`] and [`Mode::Degraded`].
    ///
    /// ```
    /// use tidings_core::mode::Mode;
    /// assert!(Mode::Degraded.refuses_storage_writes());
    /// assert!(Mode::ReadOnly.refuses_storage_writes());
    /// assert!(!Mode::Normal.refuses_storage_writes());
    /// ```
    pub const fn refuses_storage_writes(self) -> bool {
        matches!(self, Mode::ReadOnly | Mode::Degraded)
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Mode {
    type Err = ModeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "normal" => Ok(Mode::Normal),
            "read_only" => Ok(Mode::ReadOnly),
            "degraded" => Ok(Mode::Degraded),
            other => Err(ModeError::UnknownMode(other.to_owned())),
        }
    }
}

/// A component whose health is probed. Serializes and displays as `storage` or
/// `bus`.
///
/// ```
/// use tidings_core::mode::Component;
/// assert_eq!(Component::Bus.to_string(), "bus");
/// assert_eq!(Component::ALL, [Component::Storage, Component::Bus]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Component {
    /// The storage backend.
    Storage,
    /// The message bus (a later addition; healthy until probed otherwise).
    Bus,
}

impl Component {
    /// Every component, in a fixed order.
    pub const ALL: [Component; 2] = [Component::Storage, Component::Bus];

    /// The component's name: `storage` or `bus`.
    ///
    /// ```
    /// use tidings_core::mode::Component;
    /// assert_eq!(Component::Storage.as_str(), "storage");
    /// assert_eq!(Component::Bus.as_str(), "bus");
    /// ```
    pub const fn as_str(self) -> &'static str {
        match self {
            Component::Storage => "storage",
            Component::Bus => "bus",
        }
    }

    const fn index(self) -> usize {
        match self {
            Component::Storage => 0,
            Component::Bus => 1,
        }
    }

    const fn reason(self, healthy: bool) -> Reason {
        match (self, healthy) {
            (Component::Storage, false) => Reason::StorageUnhealthy,
            (Component::Storage, true) => Reason::StorageRecovered,
            (Component::Bus, false) => Reason::BusUnhealthy,
            (Component::Bus, true) => Reason::BusRecovered,
        }
    }
}

impl fmt::Display for Component {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a [`Transition`] happened. Serializes and displays in snake_case, e.g.
/// `storage_unhealthy`.
///
/// ```
/// use tidings_core::mode::Reason;
/// assert_eq!(Reason::OperatorWritable.to_string(), "operator_writable");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// The machine was created; only ever the reason of the initial snapshot.
    Startup,
    /// The operator set the read-only flag.
    OperatorReadOnly,
    /// The operator cleared the read-only flag (also when that lands in
    /// [`Mode::Degraded`] because a component is unhealthy).
    OperatorWritable,
    /// Storage failed `fail_threshold` consecutive probes.
    StorageUnhealthy,
    /// Storage passed `recover_threshold` consecutive probes.
    StorageRecovered,
    /// The bus failed `fail_threshold` consecutive probes.
    BusUnhealthy,
    /// The bus passed `recover_threshold` consecutive probes.
    BusRecovered,
}

impl Reason {
    /// The reason's snake_case name, as serialized.
    ///
    /// ```
    /// use tidings_core::mode::Reason;
    /// assert_eq!(Reason::Startup.as_str(), "startup");
    /// assert_eq!(Reason::BusRecovered.as_str(), "bus_recovered");
    /// ```
    pub const fn as_str(self) -> &'static str {
        match self {
            Reason::Startup => "startup",
            Reason::OperatorReadOnly => "operator_read_only",
            Reason::OperatorWritable => "operator_writable",
            Reason::StorageUnhealthy => "storage_unhealthy",
            Reason::StorageRecovered => "storage_recovered",
            Reason::BusUnhealthy => "bus_unhealthy",
            Reason::BusRecovered => "bus_recovered",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the operator does to the read-only flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OperatorInput {
    /// Set the read-only flag; a no-op if it is already set.
    Set,
    /// Clear the read-only flag; a no-op if it is not set.
    Clear,
    /// Flip the read-only flag; never a no-op.
    Toggle,
}

/// One change of mode, and the snapshot sent to new subscribers.
///
/// Serializes to `{"from":"normal","to":"degraded","reason":"storage_unhealthy","at":1234}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transition {
    /// The mode before.
    pub from: Mode,
    /// The mode after (the current mode, for the last transition).
    pub to: Mode,
    /// What caused the change.
    pub reason: Reason,
    /// The time passed in with the input that caused the change.
    pub at: Millis,
}

impl Transition {
    /// The transition as a compact JSON object.
    ///
    /// ```
    /// use tidings_core::Millis;
    /// use tidings_core::mode::{ModeConfig, ModeMachine};
    ///
    /// // The startup snapshot has from == to.
    /// let m = ModeMachine::new(ModeConfig::default(), true, Millis(7));
    /// assert_eq!(
    ///     m.last_transition().to_json(),
    ///     r#"{"from":"read_only","to":"read_only","reason":"startup","at":7}"#
    /// );
    /// ```
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a Transition always serializes to JSON")
    }
}

/// Hysteresis thresholds for component health; both are at least 1.
///
/// The default is a `fail_threshold` of 3 and a `recover_threshold` of 2.
///
/// ```
/// use tidings_core::mode::ModeConfig;
/// let c = ModeConfig::default();
/// assert_eq!((c.fail_threshold(), c.recover_threshold()), (3, 2));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ModeConfig {
    fail_threshold: u32,
    recover_threshold: u32,
}

impl ModeConfig {
    /// A configuration with the given thresholds; zero is refused.
    ///
    /// ```
    /// use tidings_core::mode::{ModeConfig, ModeError};
    /// assert!(ModeConfig::new(1, 1).is_ok());
    /// assert_eq!(ModeConfig::new(0, 2), Err(ModeError::ZeroFailThreshold));
    /// assert_eq!(ModeConfig::new(3, 0), Err(ModeError::ZeroRecoverThreshold));
    /// ```
    pub const fn new(fail_threshold: u32, recover_threshold: u32) -> Result<Self, ModeError> {
        if fail_threshold == 0 {
            return Err(ModeError::ZeroFailThreshold);
        }
        if recover_threshold == 0 {
            return Err(ModeError::ZeroRecoverThreshold);
        }
        Ok(ModeConfig {
            fail_threshold,
            recover_threshold,
        })
    }

    /// Consecutive failed probes after which a healthy component becomes
    /// unhealthy.
    ///
    /// ```
    /// use tidings_core::mode::ModeConfig;
    /// assert_eq!(ModeConfig::new(5, 1).unwrap().fail_threshold(), 5);
    /// ```
    pub const fn fail_threshold(&self) -> u32 {
        self.fail_threshold
    }

    /// Consecutive successful probes after which an unhealthy component becomes
    /// healthy again.
    ///
    /// ```
    /// use tidings_core::mode::ModeConfig;
    /// assert_eq!(ModeConfig::new(5, 1).unwrap().recover_threshold(), 1);
    /// ```
    pub const fn recover_threshold(&self) -> u32 {
        self.recover_threshold
    }
}

impl Default for ModeConfig {
    fn default() -> Self {
        ModeConfig {
            fail_threshold: 3,
            recover_threshold: 2,
        }
    }
}

/// Health of one component, with the streak of probes that disagree with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ComponentHealth {
    healthy: bool,
    /// Consecutive probes whose outcome differs from `healthy`; always below
    /// the threshold that would flip it.
    streak: u32,
}

impl ComponentHealth {
    const NEVER_PROBED: ComponentHealth = ComponentHealth {
        healthy: true,
        streak: 0,
    };

    /// Records one probe; returns true if the health flipped.
    fn observe(&mut self, ok: bool, config: &ModeConfig) -> bool {
        if ok == self.healthy {
            self.streak = 0;
            return false;
        }
        // `streak < threshold <= u32::MAX`, so this cannot overflow.
        self.streak += 1;
        let threshold = if self.healthy {
            config.fail_threshold
        } else {
            config.recover_threshold
        };
        if self.streak < threshold {
            return false;
        }
        self.healthy = ok;
        self.streak = 0;
        true
    }
}

/// The mode state machine. See the [module docs](self) for the rules.
///
/// ```
/// use tidings_core::Millis;
/// use tidings_core::mode::{Component, Mode, ModeConfig, ModeMachine};
///
/// let mut m = ModeMachine::new(ModeConfig::new(1, 1).unwrap(), false, Millis(0));
/// let t = m.handle_probe(Component::Bus, false, Millis(5)).unwrap();
/// assert_eq!(t.to, Mode::Degraded);
/// assert_eq!(m.last_transition(), &t);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModeMachine {
    config: ModeConfig,
    read_only: bool,
    health: [ComponentHealth; Component::ALL.len()],
    /// The last change of mode; `last.to` is the current mode.
    last: Transition,
}

impl ModeMachine {
    /// A machine in [`Mode::ReadOnly`] if `initial_read_only`, else in
    /// [`Mode::Normal`]; every component starts healthy. The
    /// [`last_transition`](Self::last_transition) is a [`Reason::Startup`]
    /// snapshot with `from == to` at `now`.
    ///
    /// ```
    /// use tidings_core::Millis;
    /// use tidings_core::mode::{Mode, ModeConfig, ModeMachine, Reason};
    ///
    /// let m = ModeMachine::new(ModeConfig::default(), true, Millis(100));
    /// let t = m.last_transition();
    /// assert_eq!((t.from, t.to, t.reason, t.at), (Mode::ReadOnly, Mode::ReadOnly, Reason::Startup, Millis(100)));
    /// ```
    pub fn new(config: ModeConfig, initial_read_only: bool, now: Millis) -> Self {
        let mode = if initial_read_only {
            Mode::ReadOnly
        } else {
            Mode::Normal
        };
        ModeMachine {
            config,
            read_only: initial_read_only,
            health: [ComponentHealth::NEVER_PROBED; Component::ALL.len()],
            last: Transition {
                from: mode,
                to: mode,
                reason: Reason::Startup,
                at: now,
            },
        }
    }

    /// The configuration the machine was created with.
    ///
    /// ```
    /// use tidings_core::Millis;
    /// use tidings_core::mode::{ModeConfig, ModeMachine};
    ///
    /// let config = ModeConfig::new(4, 4).unwrap();
    /// assert_eq!(ModeMachine::new(config, false, Millis(0)).config(), config);
    /// ```
    pub const fn config(&self) -> ModeConfig {
        self.config
    }

    /// The current mode.
    ///
    /// ```
    /// use tidings_core::Millis;
    /// use tidings_core::mode::{Component, Mode, ModeConfig, ModeMachine, OperatorInput};
    ///
    /// let mut m = ModeMachine::new(ModeConfig::new(1, 1).unwrap(), false, Millis(0));
    /// m.handle_probe(Component::Storage, false, Millis(1));
    /// m.handle_operator(OperatorInput::Set, Millis(2));
    /// // Read-only wins over degraded.
    /// assert_eq!(m.mode(), Mode::ReadOnly);
    /// ```
    pub const fn mode(&self) -> Mode {
        self.last.to
    }

    /// Whether the operator's read-only flag is set.
    ///
    /// ```
    /// use tidings_core::Millis;
    /// use tidings_core::mode::{ModeConfig, ModeMachine, OperatorInput};
    ///
    /// let mut m = ModeMachine::new(ModeConfig::default(), false, Millis(0));
    /// assert!(!m.is_read_only());
    /// m.handle_operator(OperatorInput::Toggle, Millis(1));
    /// assert!(m.is_read_only());
    /// ```
    pub const fn is_read_only(&self) -> bool {
        self.read_only
    }

    /// Whether `component` is currently healthy; a component never probed is.
    ///
    /// ```
    /// use tidings_core::Millis;
    /// use tidings_core::mode::{Component, ModeConfig, ModeMachine, OperatorInput};
    ///
    /// let mut m = ModeMachine::new(ModeConfig::new(1, 1).unwrap(), true, Millis(0));
    /// assert!(m.health(Component::Bus));
    /// // While read-only a failing probe changes no mode, but health still moves.
    /// assert_eq!(m.handle_probe(Component::Bus, false, Millis(1)), None);
    /// assert!(!m.health(Component::Bus));
    /// ```
    pub const fn health(&self, component: Component) -> bool {
        self.health[component.index()].healthy
    }

    /// The last change of mode, or the [`Reason::Startup`] snapshot if there
    /// has been none: what a new subscriber should receive.
    ///
    /// ```
    /// use tidings_core::Millis;
    /// use tidings_core::mode::{ModeConfig, ModeMachine, OperatorInput, Reason};
    ///
    /// let mut m = ModeMachine::new(ModeConfig::default(), false, Millis(0));
    /// // A no-op input leaves the snapshot as it was.
    /// assert_eq!(m.handle_operator(OperatorInput::Clear, Millis(9)), None);
    /// assert_eq!(m.last_transition().reason, Reason::Startup);
    /// assert_eq!(m.last_transition().at, Millis(0));
    /// ```
    pub const fn last_transition(&self) -> &Transition {
        &self.last
    }

    /// Applies an operator input to the read-only flag at time `now`.
    ///
    /// Returns the transition if the mode changed: setting the flag always goes
    /// to [`Mode::ReadOnly`] ([`Reason::OperatorReadOnly`]); clearing it goes to
    /// [`Mode::Degraded`] if a component is unhealthy, else to [`Mode::Normal`]
    /// (both [`Reason::OperatorWritable`]). Setting when set, or clearing when
    /// clear, returns `None`.
    ///
    /// ```
    /// use tidings_core::Millis;
    /// use tidings_core::mode::{Mode, ModeConfig, ModeMachine, OperatorInput, Reason};
    ///
    /// let mut m = ModeMachine::new(ModeConfig::default(), false, Millis(0));
    /// let t = m.handle_operator(OperatorInput::Set, Millis(10)).unwrap();
    /// assert_eq!((t.from, t.to, t.reason, t.at), (Mode::Normal, Mode::ReadOnly, Reason::OperatorReadOnly, Millis(10)));
    /// // Setting again is a no-op.
    /// assert_eq!(m.handle_operator(OperatorInput::Set, Millis(20)), None);
    /// ```
    pub fn handle_operator(&mut self, input: OperatorInput, now: Millis) -> Option<Transition> {
        let read_only = match input {
            OperatorInput::Set => true,
            OperatorInput::Clear => false,
            OperatorInput::Toggle => !self.read_only,
        };
        if read_only == self.read_only {
            return None;
        }
        self.read_only = read_only;
        let reason = if read_only {
            Reason::OperatorReadOnly
        } else {
            Reason::OperatorWritable
        };
        self.transition(reason, now)
    }

    /// Records the outcome of one health probe of `component` at time `now`.
    ///
    /// The component's health is updated with hysteresis (see [`ModeConfig`])
    /// even when the mode does not change. Returns the transition, with reason
    /// `StorageUnhealthy`, `StorageRecovered`, `BusUnhealthy` or `BusRecovered`,
    /// only if the mode changed.
    ///
    /// ```
    /// use tidings_core::Millis;
    /// use tidings_core::mode::{Component, Mode, ModeConfig, ModeMachine, Reason};
    ///
    /// let mut m = ModeMachine::new(ModeConfig::new(2, 2).unwrap(), false, Millis(0));
    /// assert_eq!(m.handle_probe(Component::Storage, false, Millis(1)), None);
    /// // A success in between resets the failure streak...
    /// assert_eq!(m.handle_probe(Component::Storage, true, Millis(2)), None);
    /// assert_eq!(m.handle_probe(Component::Storage, false, Millis(3)), None);
    /// // ...so it takes two more consecutive failures.
    /// let t = m.handle_probe(Component::Storage, false, Millis(4)).unwrap();
    /// assert_eq!((t.to, t.reason, t.at), (Mode::Degraded, Reason::StorageUnhealthy, Millis(4)));
    /// ```
    pub fn handle_probe(
        &mut self,
        component: Component,
        ok: bool,
        now: Millis,
    ) -> Option<Transition> {
        let flipped = self.health[component.index()].observe(ok, &self.config);
        if !flipped {
            return None;
        }
        self.transition(component.reason(ok), now)
    }

    /// The mode the current flag and health call for, by precedence.
    fn derived_mode(&self) -> Mode {
        if self.read_only {
            Mode::ReadOnly
        } else if self.health.iter().any(|h| !h.healthy) {
            Mode::Degraded
        } else {
            Mode::Normal
        }
    }

    /// Moves to the derived mode; a transition only if it differs.
    fn transition(&mut self, reason: Reason, now: Millis) -> Option<Transition> {
        let from = self.mode();
        let to = self.derived_mode();
        if from == to {
            return None;
        }
        self.last = Transition {
            from,
            to,
            reason,
            at: now,
        };
        Some(self.last)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use Component::{Bus, Storage};
    use OperatorInput::{Clear, Set, Toggle};

    fn cfg(fail: u32, recover: u32) -> ModeConfig {
        ModeConfig::new(fail, recover).unwrap()
    }

    fn machine() -> ModeMachine {
        ModeMachine::new(ModeConfig::default(), false, Millis(0))
    }

    fn tr(from: Mode, to: Mode, reason: Reason, at: u64) -> Option<Transition> {
        Some(Transition {
            from,
            to,
            reason,
            at: Millis(at),
        })
    }

    /// Feeds `n` probes of the same outcome starting at time `t`, asserting
    /// each yields `None`.
    fn probes_none(m: &mut ModeMachine, c: Component, ok: bool, n: u32, t: u64) {
        for i in 0..n {
            assert_eq!(
                m.handle_probe(c, ok, Millis(t + u64::from(i))),
                None,
                "probe {i}"
            );
        }
    }

    /// A default machine with storage made unhealthy (degraded) at time 3.
    fn degraded() -> ModeMachine {
        let mut m = machine();
        probes_none(&mut m, Storage, false, 2, 1);
        assert!(m.handle_probe(Storage, false, Millis(3)).is_some());
        assert_eq!(m.mode(), Mode::Degraded);
        m
    }

    // ---- construction and config ----

    #[test]
    fn startup_snapshot() {
        let m = machine();
        assert_eq!(m.mode(), Mode::Normal);
        assert!(!m.is_read_only());
        assert!(m.health(Storage) && m.health(Bus));
        assert_eq!(
            Some(*m.last_transition()),
            tr(Mode::Normal, Mode::Normal, Reason::Startup, 0)
        );

        let m = ModeMachine::new(ModeConfig::default(), true, Millis(42));
        assert_eq!(m.mode(), Mode::ReadOnly);
        assert!(m.is_read_only());
        assert_eq!(
            Some(*m.last_transition()),
            tr(Mode::ReadOnly, Mode::ReadOnly, Reason::Startup, 42)
        );
    }

    #[test]
    fn config_validation() {
        assert_eq!(ModeConfig::default(), cfg(3, 2));
        assert_eq!(ModeConfig::new(0, 1), Err(ModeError::ZeroFailThreshold));
        assert_eq!(ModeConfig::new(1, 0), Err(ModeError::ZeroRecoverThreshold));
        assert_eq!(ModeConfig::new(0, 0), Err(ModeError::ZeroFailThreshold));
        let c = cfg(u32::MAX, 1);
        assert_eq!((c.fail_threshold(), c.recover_threshold()), (u32::MAX, 1));
    }

    #[test]
    fn error_messages_are_lowercase() {
        assert_eq!(
            ModeError::ZeroFailThreshold.to_string(),
            "fail_threshold must be at least 1"
        );
        assert_eq!(
            ModeError::ZeroRecoverThreshold.to_string(),
            "recover_threshold must be at least 1"
        );
        assert_eq!(
            ModeError::UnknownMode("x".into()).to_string(),
            "unknown mode \"x\" (expected normal, read_only or degraded)"
        );
    }

    // ---- every transition ----

    #[test]
    fn normal_to_read_only_and_back() {
        let mut m = machine();
        assert_eq!(
            m.handle_operator(Set, Millis(10)),
            tr(Mode::Normal, Mode::ReadOnly, Reason::OperatorReadOnly, 10)
        );
        assert_eq!(m.mode(), Mode::ReadOnly);
        assert_eq!(
            m.handle_operator(Clear, Millis(20)),
            tr(Mode::ReadOnly, Mode::Normal, Reason::OperatorWritable, 20)
        );
        assert_eq!(m.mode(), Mode::Normal);
    }

    #[test]
    fn normal_to_degraded_and_back() {
        let mut m = machine();
        probes_none(&mut m, Storage, false, 2, 1);
        assert_eq!(
            m.handle_probe(Storage, false, Millis(3)),
            tr(Mode::Normal, Mode::Degraded, Reason::StorageUnhealthy, 3)
        );
        assert!(!m.health(Storage));
        assert_eq!(m.handle_probe(Storage, true, Millis(4)), None);
        assert_eq!(
            m.handle_probe(Storage, true, Millis(5)),
            tr(Mode::Degraded, Mode::Normal, Reason::StorageRecovered, 5)
        );
        assert!(m.health(Storage));
    }

    #[test]
    fn degraded_to_read_only() {
        let mut m = degraded();
        assert_eq!(
            m.handle_operator(Set, Millis(10)),
            tr(Mode::Degraded, Mode::ReadOnly, Reason::OperatorReadOnly, 10)
        );
    }

    #[test]
    fn read_only_to_degraded_when_cleared_while_unhealthy() {
        let mut m = degraded();
        m.handle_operator(Set, Millis(10)).unwrap();
        assert_eq!(
            m.handle_operator(Clear, Millis(11)),
            tr(Mode::ReadOnly, Mode::Degraded, Reason::OperatorWritable, 11)
        );
        assert_eq!(m.mode(), Mode::Degraded);
    }

    #[test]
    fn toggle_both_ways() {
        let mut m = machine();
        assert_eq!(
            m.handle_operator(Toggle, Millis(1)),
            tr(Mode::Normal, Mode::ReadOnly, Reason::OperatorReadOnly, 1)
        );
        assert_eq!(
            m.handle_operator(Toggle, Millis(2)),
            tr(Mode::ReadOnly, Mode::Normal, Reason::OperatorWritable, 2)
        );

        let mut m = degraded();
        assert_eq!(
            m.handle_operator(Toggle, Millis(10)),
            tr(Mode::Degraded, Mode::ReadOnly, Reason::OperatorReadOnly, 10)
        );
        assert_eq!(
            m.handle_operator(Toggle, Millis(11)),
            tr(Mode::ReadOnly, Mode::Degraded, Reason::OperatorWritable, 11)
        );
    }

    #[test]
    fn toggle_from_initial_read_only() {
        let mut m = ModeMachine::new(ModeConfig::default(), true, Millis(0));
        assert_eq!(
            m.handle_operator(Toggle, Millis(5)),
            tr(Mode::ReadOnly, Mode::Normal, Reason::OperatorWritable, 5)
        );
    }

    // ---- hysteresis ----

    #[test]
    fn fewer_than_fail_threshold_failures_do_nothing() {
        let mut m = ModeMachine::new(cfg(5, 2), false, Millis(0));
        probes_none(&mut m, Storage, false, 4, 1);
        assert!(m.health(Storage));
        assert_eq!(m.mode(), Mode::Normal);
        assert!(m.handle_probe(Storage, false, Millis(5)).is_some());
    }

    #[test]
    fn success_resets_failure_streak() {
        let mut m = machine();
        probes_none(&mut m, Storage, false, 2, 1);
        assert_eq!(m.handle_probe(Storage, true, Millis(3)), None);
        // The streak restarts: two more failures still do nothing.
        probes_none(&mut m, Storage, false, 2, 4);
        assert!(m.health(Storage));
        assert_eq!(
            m.handle_probe(Storage, false, Millis(6)),
            tr(Mode::Normal, Mode::Degraded, Reason::StorageUnhealthy, 6)
        );
    }

    #[test]
    fn fewer_than_recover_threshold_successes_do_nothing() {
        let mut m = ModeMachine::new(cfg(1, 4), false, Millis(0));
        assert!(m.handle_probe(Storage, false, Millis(1)).is_some());
        probes_none(&mut m, Storage, true, 3, 2);
        assert!(!m.health(Storage));
        assert_eq!(m.mode(), Mode::Degraded);
        assert_eq!(
            m.handle_probe(Storage, true, Millis(5)),
            tr(Mode::Degraded, Mode::Normal, Reason::StorageRecovered, 5)
        );
    }

    #[test]
    fn failure_resets_success_streak() {
        let mut m = degraded();
        assert_eq!(m.handle_probe(Storage, true, Millis(10)), None);
        assert_eq!(m.handle_probe(Storage, false, Millis(11)), None);
        // The success streak restarts: one success is not enough again.
        assert_eq!(m.handle_probe(Storage, true, Millis(12)), None);
        assert!(!m.health(Storage));
        assert_eq!(
            m.handle_probe(Storage, true, Millis(13)),
            tr(Mode::Degraded, Mode::Normal, Reason::StorageRecovered, 13)
        );
    }

    #[test]
    fn failure_streak_restarts_after_recovery() {
        // The success streak that recovered a component does not carry over
        // into a head start for the next failure streak, nor the reverse.
        let mut m = degraded();
        probes_none(&mut m, Storage, true, 1, 10);
        assert!(m.handle_probe(Storage, true, Millis(11)).is_some());
        probes_none(&mut m, Storage, false, 2, 12);
        assert!(m.handle_probe(Storage, false, Millis(14)).is_some());
    }

    #[test]
    fn thresholds_of_one() {
        let mut m = ModeMachine::new(cfg(1, 1), false, Millis(0));
        assert_eq!(
            m.handle_probe(Storage, false, Millis(1)),
            tr(Mode::Normal, Mode::Degraded, Reason::StorageUnhealthy, 1)
        );
        assert_eq!(
            m.handle_probe(Storage, true, Millis(2)),
            tr(Mode::Degraded, Mode::Normal, Reason::StorageRecovered, 2)
        );
        assert_eq!(
            m.handle_probe(Bus, false, Millis(3)),
            tr(Mode::Normal, Mode::Degraded, Reason::BusUnhealthy, 3)
        );
        assert_eq!(
            m.handle_probe(Bus, true, Millis(4)),
            tr(Mode::Degraded, Mode::Normal, Reason::BusRecovered, 4)
        );
    }

    // ---- no-op inputs ----

    #[test]
    fn set_twice_is_noop() {
        let mut m = machine();
        assert!(m.handle_operator(Set, Millis(1)).is_some());
        let before = m.clone();
        assert_eq!(m.handle_operator(Set, Millis(2)), None);
        assert_eq!(m, before);
    }

    #[test]
    fn set_when_initially_read_only_is_noop() {
        let mut m = ModeMachine::new(ModeConfig::default(), true, Millis(0));
        assert_eq!(m.handle_operator(Set, Millis(1)), None);
        assert_eq!(m.last_transition().reason, Reason::Startup);
    }

    #[test]
    fn clear_when_clear_is_noop() {
        let mut m = machine();
        let before = m.clone();
        assert_eq!(m.handle_operator(Clear, Millis(1)), None);
        assert_eq!(m, before);

        let mut m = degraded();
        let before = m.clone();
        assert_eq!(m.handle_operator(Clear, Millis(10)), None);
        assert_eq!(m, before);
    }

    #[test]
    fn ok_probes_while_healthy_are_noops() {
        let mut m = machine();
        for c in Component::ALL {
            probes_none(&mut m, c, true, 10, 1);
        }
        assert_eq!(m.mode(), Mode::Normal);
        assert_eq!(m.last_transition().reason, Reason::Startup);
    }

    #[test]
    fn failures_while_degraded_are_noops() {
        let mut m = degraded();
        let last = *m.last_transition();
        probes_none(&mut m, Storage, false, 10, 10);
        assert_eq!(m.last_transition(), &last);
        assert_eq!(m.mode(), Mode::Degraded);
    }

    // ---- read-only keeps counting ----

    #[test]
    fn probes_while_read_only_update_health_silently() {
        let mut m = ModeMachine::new(ModeConfig::default(), true, Millis(0));
        probes_none(&mut m, Storage, false, 3, 1);
        assert!(!m.health(Storage));
        assert_eq!(m.mode(), Mode::ReadOnly);
        probes_none(&mut m, Storage, true, 2, 4);
        assert!(m.health(Storage));
        probes_none(&mut m, Bus, false, 3, 6);
        assert!(!m.health(Bus));
        assert_eq!(m.mode(), Mode::ReadOnly);
        assert_eq!(m.last_transition().reason, Reason::Startup);
        // Clearing now lands in degraded because of the bus.
        assert_eq!(
            m.handle_operator(Clear, Millis(20)),
            tr(Mode::ReadOnly, Mode::Degraded, Reason::OperatorWritable, 20)
        );
    }

    #[test]
    fn streak_started_before_read_only_continues_through_it() {
        let mut m = machine();
        probes_none(&mut m, Storage, false, 2, 1);
        m.handle_operator(Set, Millis(3)).unwrap();
        assert_eq!(m.handle_probe(Storage, false, Millis(4)), None);
        assert!(!m.health(Storage));
        assert_eq!(
            m.handle_operator(Clear, Millis(5)),
            tr(Mode::ReadOnly, Mode::Degraded, Reason::OperatorWritable, 5)
        );
    }

    #[test]
    fn recovery_while_read_only_then_clear_goes_normal() {
        let mut m = degraded();
        m.handle_operator(Set, Millis(10)).unwrap();
        probes_none(&mut m, Storage, true, 2, 11);
        assert!(m.health(Storage));
        assert_eq!(
            m.handle_operator(Clear, Millis(13)),
            tr(Mode::ReadOnly, Mode::Normal, Reason::OperatorWritable, 13)
        );
    }

    // ---- two components ----

    #[test]
    fn two_components_must_both_recover() {
        let mut m = ModeMachine::new(cfg(1, 1), false, Millis(0));
        assert_eq!(
            m.handle_probe(Storage, false, Millis(1)),
            tr(Mode::Normal, Mode::Degraded, Reason::StorageUnhealthy, 1)
        );
        // The bus going down too changes no mode.
        assert_eq!(m.handle_probe(Bus, false, Millis(2)), None);
        assert!(!m.health(Bus));
        // Storage recovering leaves the machine degraded, silently.
        assert_eq!(m.handle_probe(Storage, true, Millis(3)), None);
        assert!(m.health(Storage));
        assert_eq!(m.mode(), Mode::Degraded);
        assert_eq!(
            m.handle_probe(Bus, true, Millis(4)),
            tr(Mode::Degraded, Mode::Normal, Reason::BusRecovered, 4)
        );
    }

    #[test]
    fn components_count_streaks_independently() {
        let mut m = machine();
        // Interleaved failures: neither component reaches three in a row of
        // its own until the third failure of each.
        for t in 0..2 {
            assert_eq!(m.handle_probe(Storage, false, Millis(2 * t)), None);
            assert_eq!(m.handle_probe(Bus, false, Millis(2 * t + 1)), None);
        }
        // An ok bus probe does not reset storage's streak.
        assert_eq!(m.handle_probe(Bus, true, Millis(10)), None);
        assert_eq!(
            m.handle_probe(Storage, false, Millis(11)),
            tr(Mode::Normal, Mode::Degraded, Reason::StorageUnhealthy, 11)
        );
        assert!(m.health(Bus));
    }

    // ---- serialization ----

    #[test]
    fn transition_json_shape() {
        let t = Transition {
            from: Mode::Normal,
            to: Mode::Degraded,
            reason: Reason::StorageUnhealthy,
            at: Millis(1234),
        };
        let json = r#"{"from":"normal","to":"degraded","reason":"storage_unhealthy","at":1234}"#;
        assert_eq!(t.to_json(), json);
        assert_eq!(serde_json::from_str::<Transition>(json).unwrap(), t);
    }

    #[test]
    fn enum_names_match_serde() {
        for mode in [Mode::Normal, Mode::ReadOnly, Mode::Degraded] {
            let json = serde_json::to_string(&mode).unwrap();
            assert_eq!(json, format!("\"{mode}\""));
            assert_eq!(mode.as_str().parse::<Mode>(), Ok(mode));
        }
        assert_eq!(
            "Normal".parse::<Mode>(),
            Err(ModeError::UnknownMode("Normal".into()))
        );
        for c in Component::ALL {
            assert_eq!(serde_json::to_string(&c).unwrap(), format!("\"{c}\""));
        }
        for r in [
            Reason::Startup,
            Reason::OperatorReadOnly,
            Reason::OperatorWritable,
            Reason::StorageUnhealthy,
            Reason::StorageRecovered,
            Reason::BusUnhealthy,
            Reason::BusRecovered,
        ] {
            assert_eq!(serde_json::to_string(&r).unwrap(), format!("\"{r}\""));
        }
        assert_eq!(serde_json::to_string(&Toggle).unwrap(), "\"toggle\"");
    }

    #[test]
    fn write_refusal() {
        assert!(!Mode::Normal.refuses_all_writes());
        assert!(!Mode::Normal.refuses_storage_writes());
        assert!(!Mode::Degraded.refuses_all_writes());
        assert!(Mode::Degraded.refuses_storage_writes());
        assert!(Mode::ReadOnly.refuses_all_writes());
        assert!(Mode::ReadOnly.refuses_storage_writes());
    }

    #[test]
    fn at_is_the_time_passed_in() {
        // Time is only carried, never checked: even a time earlier than the
        // previous one is reported as given.
        let mut m = ModeMachine::new(cfg(1, 1), false, Millis(1_000));
        assert_eq!(m.handle_operator(Set, Millis(777)).unwrap().at, Millis(777));
        assert_eq!(m.last_transition().at, Millis(777));
        assert_eq!(
            m.handle_operator(Clear, Millis(u64::MAX)).unwrap().at,
            Millis(u64::MAX)
        );
        assert_eq!(m.handle_probe(Bus, false, Millis(5)).unwrap().at, Millis(5));
    }

    // ---- exhaustive invariants over short input sequences ----

    #[derive(Debug, Clone, Copy)]
    enum Input {
        Op(OperatorInput),
        Probe(Component, bool),
    }

    const INPUTS: [Input; 7] = [
        Input::Op(Set),
        Input::Op(Clear),
        Input::Op(Toggle),
        Input::Probe(Storage, true),
        Input::Probe(Storage, false),
        Input::Probe(Bus, true),
        Input::Probe(Bus, false),
    ];

    /// Every sequence of up to `LEN` inputs, from both initial flags, with
    /// thresholds (2, 2): transitions chain, appear exactly when the mode
    /// changes, and the mode always follows the precedence rule.
    #[test]
    fn invariants_hold_for_all_short_sequences() {
        const LEN: u32 = 6;
        let total = INPUTS.len().pow(LEN);
        for initial_read_only in [false, true] {
            for mut code in 0..total {
                let mut m = ModeMachine::new(cfg(2, 2), initial_read_only, Millis(0));
                for step in 1..=u64::from(LEN) {
                    let input = INPUTS[code % INPUTS.len()];
                    code /= INPUTS.len();
                    let before = m.mode();
                    let last_before = *m.last_transition();
                    let now = Millis(step);
                    let out = match input {
                        Input::Op(op) => m.handle_operator(op, now),
                        Input::Probe(c, ok) => m.handle_probe(c, ok, now),
                    };
                    let expected = if m.is_read_only() {
                        Mode::ReadOnly
                    } else if Component::ALL.iter().any(|&c| !m.health(c)) {
                        Mode::Degraded
                    } else {
                        Mode::Normal
                    };
                    assert_eq!(m.mode(), expected, "{input:?}");
                    match out {
                        Some(t) => {
                            assert_eq!((t.from, t.to, t.at), (before, m.mode(), now));
                            assert_ne!(t.from, t.to);
                            assert_eq!(m.last_transition(), &t);
                        }
                        None => {
                            assert_eq!(m.mode(), before, "{input:?}");
                            assert_eq!(m.last_transition(), &last_before);
                        }
                    }
                    if let Input::Op(Toggle) = input {
                        assert!(out.is_some(), "toggle is never a no-op");
                    }
                }
            }
        }
    }
}
