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
//!
//! # Layout
//!
//! [`Mode`], [`Reason`] and [`Transition`] are what comes out (`transition`);
//! [`Component`] and [`OperatorInput`] are what goes in (`inputs`);
//! [`ModeConfig`] holds the thresholds (`config`); [`ModeMachine`] ties them
//! together (`machine`). Only the machine holds state. This module may not
//! read a clock, spawn, sleep or perform I/O: every time is a [`Millis`]
//! passed in with the input, and every decision comes back as a value.
//!
//! [`Millis`]: crate::Millis

mod config;
mod inputs;
mod machine;
mod transition;

pub use config::ModeConfig;
pub use inputs::{Component, OperatorInput};
pub use machine::ModeMachine;
pub use transition::{Mode, Reason, Transition};

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

#[cfg(test)]
mod tests;
