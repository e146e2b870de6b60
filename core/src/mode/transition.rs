//! What the machine puts out: the mode, why it changed, and the transition
//! that carries both.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::Millis;
use crate::mode::ModeError;

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
