//! The machine's hysteresis thresholds.

use crate::mode::ModeError;

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
