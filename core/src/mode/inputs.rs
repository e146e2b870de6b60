//! What the machine is fed: the probed components and the operator's
//! read-only flag.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::mode::transition::Reason;

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

    pub(super) const fn index(self) -> usize {
        match self {
            Component::Storage => 0,
            Component::Bus => 1,
        }
    }

    pub(super) const fn reason(self, healthy: bool) -> Reason {
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
