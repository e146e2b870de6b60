//! Time as an input: the core never reads a clock.

use serde::{Deserialize, Serialize};

/// A point in time in milliseconds, supplied by the caller.
///
/// The core only compares and subtracts these values; what the zero point is
/// (the Unix epoch on the host, zero in a simulation) is the caller's choice.
///
/// ```
/// use tidings_core::Millis;
/// let t = Millis(1_000);
/// assert_eq!(t.saturating_add(5), Millis(1_005));
/// assert_eq!(Millis(3).saturating_since(Millis(10)), 0);
/// ```
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Millis(pub u64);

impl Millis {
    /// This time plus `ms` milliseconds, saturating at `u64::MAX`.
    pub fn saturating_add(self, ms: u64) -> Millis {
        Millis(self.0.saturating_add(ms))
    }

    /// Milliseconds elapsed from `earlier` to `self`; zero if `earlier` is later.
    pub fn saturating_since(self, earlier: Millis) -> u64 {
        self.0.saturating_sub(earlier.0)
    }
}
