//! What the intake gives back when it does not take an item, and what a
//! ticket resolves to when nobody answered.

use std::fmt;

/// The intake is closed; the item is given back.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Closed<T>(pub T);

impl<T> Closed<T> {
    /// The item that was not queued.
    ///
    /// ```
    /// use tidings_core::intake::intake;
    ///
    /// let (publisher, batches) = intake::<String, ()>(1);
    /// drop(batches);
    /// let refused = publisher.enqueue_urgent("back".to_owned()).unwrap_err();
    /// assert_eq!(refused.into_inner(), "back");
    /// ```
    pub fn into_inner(self) -> T {
        self.0
    }
}

// By hand, so that an error holding an item that is not `Debug` is still an
// error (as async-channel does).
impl<T> fmt::Debug for Closed<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Closed(..)")
    }
}

impl<T> fmt::Display for Closed<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("publish intake is closed")
    }
}

impl<T> std::error::Error for Closed<T> {}

/// Why [`Intake::try_enqueue`] did not queue an item; the item is given back.
///
/// [`Intake::try_enqueue`]: crate::intake::Intake::try_enqueue
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum TryEnqueueError<T> {
    /// The queue holds `capacity` items;
    /// [`Intake::enqueue`](crate::intake::Intake::enqueue) would wait.
    Full(T),
    /// The intake is closed.
    Closed(T),
}

impl<T> TryEnqueueError<T> {
    /// The item that was not queued.
    ///
    /// ```
    /// use tidings_core::intake::intake;
    ///
    /// let (publisher, _batches) = intake::<&str, ()>(1);
    /// let _ticket = publisher.try_enqueue("in").unwrap();
    /// let refused = publisher.try_enqueue("out").unwrap_err();
    /// assert_eq!(refused.to_string(), "publish intake is full");
    /// assert_eq!(refused.into_inner(), "out");
    /// ```
    pub fn into_inner(self) -> T {
        match self {
            TryEnqueueError::Full(item) | TryEnqueueError::Closed(item) => item,
        }
    }
}

impl<T> fmt::Debug for TryEnqueueError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryEnqueueError::Full(_) => f.write_str("Full(..)"),
            TryEnqueueError::Closed(_) => f.write_str("Closed(..)"),
        }
    }
}

impl<T> fmt::Display for TryEnqueueError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryEnqueueError::Full(_) => f.write_str("publish intake is full"),
            TryEnqueueError::Closed(_) => f.write_str("publish intake is closed"),
        }
    }
}

impl<T> std::error::Error for TryEnqueueError<T> {}

/// The writer dropped the item, or its
/// [`Batches`](crate::intake::Batches), without answering.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[error("publish was not answered")]
pub struct Unanswered;
