//! The publish queue in front of the log: publishes wait here for the
//! writer that stores them in batches.

/// Why an event was not stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PublishFailed {
    /// The server is shutting down.
    #[error("the server is shutting down")]
    Closed,
    /// The history (storage or bus) could not take it.
    #[error("the event log is unavailable")]
    Unavailable,
}
