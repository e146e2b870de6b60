//! Event ids: `<epoch>-<seq>`, and the ids publishers supply.
//!
//! The epoch names one history; the seq is the position of an event in it.
//! A `Last-Event-ID` from another history therefore can never be mistaken for
//! a position in this one. A publisher may instead give an event its own id
//! ([`SuppliedId`]): it is the event's SSE id, and resuming from it is looked
//! up before the generated spelling is tried.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

/// Longest accepted epoch token.
pub const MAX_EPOCH_LEN: usize = 32;

/// The last id that asks for every event held (the Mercure protocol's
/// reserved value; no event may have it as its id).
pub const EARLIEST: &str = "earliest";

/// Longest accepted publisher-supplied id, in bytes of UTF-8.
pub const MAX_SUPPLIED_ID_LEN: usize = 256;

/// Why a string is not an epoch or an event id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// The epoch is empty, too long or has a character outside `[A-Za-z0-9_]`.
    #[error("epoch must be 1 to 32 characters of [A-Za-z0-9_]")]
    BadEpoch,
    /// There is no `-` between epoch and seq.
    #[error("event id must look like <epoch>-<seq>")]
    MissingSeparator,
    /// The seq is not a canonical decimal `u64` (no sign, no leading zero).
    #[error("event id seq must be a decimal number without leading zeros")]
    BadSeq,
}

/// The token that names one history, chosen by the caller when it starts.
///
/// Cloning is cheap (shared text).
///
/// ```
/// use tidings_core::Epoch;
/// assert!(Epoch::new("k3x9").is_ok());
/// assert!(Epoch::new("has-dash").is_err()); // `-` separates epoch and seq
/// assert!(Epoch::new("").is_err());
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Epoch(Arc<str>);

impl Epoch {
    /// Checks `token` and makes it an epoch.
    pub fn new(token: &str) -> Result<Epoch, IdError> {
        if valid_epoch(token) {
            Ok(Epoch(token.into()))
        } else {
            Err(IdError::BadEpoch)
        }
    }

    /// The token as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn valid_epoch(token: &str) -> bool {
    (1..=MAX_EPOCH_LEN).contains(&token.len())
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

impl fmt::Debug for Epoch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Epoch({})", self.0)
    }
}

impl fmt::Display for Epoch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Epoch {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Epoch::new(s)
    }
}

/// The id of a stored event: its history's epoch and its position in it.
///
/// Seqs start at 1; `<epoch>-0` names the position before the first event,
/// so a client holding it asks for everything.
///
/// ```
/// use tidings_core::EventId;
/// let id: EventId = "k3x9-42".parse().unwrap();
/// assert_eq!(id.seq(), 42);
/// assert_eq!(id.to_string(), "k3x9-42");
/// // Malformed input is an error value, never a panic.
/// assert!("k3x9-042".parse::<EventId>().is_err());
/// assert!("k3x9-".parse::<EventId>().is_err());
/// assert!("42".parse::<EventId>().is_err());
/// assert!("k3x9-18446744073709551616".parse::<EventId>().is_err());
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct EventId {
    epoch: Epoch,
    seq: u64,
}

impl EventId {
    /// The id at `seq` in the history named `epoch`.
    pub fn new(epoch: Epoch, seq: u64) -> EventId {
        EventId { epoch, seq }
    }

    /// The history this id belongs to.
    pub fn epoch(&self) -> &Epoch {
        &self.epoch
    }

    /// The position in that history.
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// The id as text, `<epoch>-<seq>`, the same as `to_string` in one
    /// allocation of the right size: publishes spell their id twice (the
    /// frame and the answer), and a growing `String` reallocated.
    ///
    /// ```
    /// use tidings_core::{Epoch, EventId};
    ///
    /// let id = EventId::new(Epoch::new("k3x9").unwrap(), 18446744073709551615);
    /// assert_eq!(id.to_text(), id.to_string());
    /// assert_eq!(EventId::new(Epoch::new("k3x9").unwrap(), 0).to_text(), "k3x9-0");
    /// ```
    pub fn to_text(&self) -> String {
        let epoch = self.epoch.as_str();
        let mut buf = [0; crate::decimal::MAX_DIGITS];
        let digits = crate::decimal::digits(self.seq, &mut buf);
        let mut text = String::with_capacity(epoch.len() + 1 + digits.len());
        text.push_str(epoch);
        text.push('-');
        // ASCII digits, one char per byte.
        text.extend(digits.iter().map(|&d| char::from(d)));
        text
    }
}

/// Splits `<epoch>-<seq>` without allocating; used where only a comparison
/// with the current epoch is needed.
pub(crate) fn split_id(text: &str) -> Result<(&str, u64), IdError> {
    let (epoch, seq) = text.rsplit_once('-').ok_or(IdError::MissingSeparator)?;
    if !valid_epoch(epoch) {
        return Err(IdError::BadEpoch);
    }
    let canonical = !seq.is_empty()
        && seq.bytes().all(|b| b.is_ascii_digit())
        && (seq == "0" || !seq.starts_with('0'));
    if !canonical {
        return Err(IdError::BadSeq);
    }
    let seq = seq.parse().map_err(|_| IdError::BadSeq)?;
    Ok((epoch, seq))
}

impl FromStr for EventId {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (epoch, seq) = split_id(s)?;
        Ok(EventId {
            epoch: Epoch(epoch.into()),
            seq,
        })
    }
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.epoch, self.seq)
    }
}

impl fmt::Debug for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EventId({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        for text in ["a-0", "a-1", "Z_9-18446744073709551615", "x-10"] {
            assert_eq!(text.parse::<EventId>().unwrap().to_string(), text);
        }
    }

    #[test]
    fn to_text_spells_what_display_spells() {
        let epoch = Epoch::new("k3x9").unwrap();
        let powers = (0..20).flat_map(|p| {
            let n = 10u64.pow(p);
            [n - 1, n, n + 1]
        });
        for seq in (0..1000).chain(powers).chain([u64::MAX - 1, u64::MAX]) {
            let id = EventId::new(epoch.clone(), seq);
            assert_eq!(id.to_text(), id.to_string(), "{seq}");
            assert_eq!(id.to_text().parse::<EventId>().unwrap(), id);
        }
    }

    #[test]
    fn rejects_malformed() {
        let cases = [
            ("", IdError::MissingSeparator),
            ("abc", IdError::MissingSeparator),
            ("-1", IdError::BadEpoch),
            ("a b-1", IdError::BadEpoch),
            ("a-b-1", IdError::BadEpoch),
            ("a-", IdError::BadSeq),
            ("a-+1", IdError::BadSeq),
            ("a-01", IdError::BadSeq),
            ("a-1 ", IdError::BadSeq),
            ("a-1\n", IdError::BadSeq),
            ("a-99999999999999999999", IdError::BadSeq),
            ("é-1", IdError::BadEpoch),
        ];
        for (text, err) in cases {
            assert_eq!(text.parse::<EventId>(), Err(err), "{text:?}");
        }
        let long = format!("{}-1", "a".repeat(MAX_EPOCH_LEN + 1));
        assert_eq!(long.parse::<EventId>(), Err(IdError::BadEpoch));
    }
}

/// Why a string is not a publisher-supplied id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SuppliedIdError {
    /// Empty, or longer than [`MAX_SUPPLIED_ID_LEN`] bytes.
    #[error("id must be 1 to 256 bytes")]
    Length,
    /// A control (C0, DEL, C1) or Unicode format character.
    #[error("id has a control or format character")]
    Forbidden,
    /// `#…` and `earliest` have meanings of their own in the protocol.
    #[error("id must not start with `#` nor be `earliest`")]
    Reserved,
}

/// An id a publisher gave its event: the event's SSE `id:` and a resume
/// position, looked up before generated spellings (so `order-42` is never
/// taken for epoch `order`, seq 42). Ids may repeat: resuming from one
/// starts after the earliest event still held with it.
///
/// 1 to [`MAX_SUPPLIED_ID_LEN`] bytes with no control or format character
/// (the protocol's rule for every value), not starting with `#` (the
/// protocol's generated ids) and not `earliest` (the protocol's "from the
/// start").
///
/// ```
/// use tidings_core::SuppliedId;
/// assert!(SuppliedId::new("order-42").is_ok());
/// assert!(SuppliedId::new("urn:uuid:1b4e28ba-2fa1-11d2-883f-0016d3cca427").is_ok());
/// assert!(SuppliedId::new("#e1-4").is_err());
/// assert!(SuppliedId::new("earliest").is_err());
/// assert!(SuppliedId::new("a\nb").is_err());
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SuppliedId(Arc<str>);

impl SuppliedId {
    /// Checks `text` and makes it a supplied id.
    pub fn new(text: &str) -> Result<SuppliedId, SuppliedIdError> {
        if !(1..=MAX_SUPPLIED_ID_LEN).contains(&text.len()) {
            return Err(SuppliedIdError::Length);
        }
        if crate::topic::first_forbidden(text).is_some() {
            return Err(SuppliedIdError::Forbidden);
        }
        if text.starts_with('#') || text == EARLIEST {
            return Err(SuppliedIdError::Reserved);
        }
        Ok(SuppliedId(text.into()))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::borrow::Borrow<str> for SuppliedId {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SuppliedId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SuppliedId({:?})", self.0)
    }
}

impl fmt::Display for SuppliedId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
