//! `Interner`: one compiled matcher per distinct (kind, pattern, base).

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};

use super::error::PatternError;
use super::matcher::{Matcher, MatcherKey, MatcherKind};
use super::urlpat::HubUrl;

/// Entries at or below this count are never swept automatically.
const MIN_SWEEP_AT: usize = 64;

/// Shares compiled matchers: every subscription (or token grant) asking for
/// the same kind and pattern (and, for URL patterns, the same base) gets
/// the same [`Arc<Matcher>`], compiled once.
///
/// The interner holds matchers weakly, so a matcher lives exactly as long as
/// someone uses it. Entries of dropped matchers are swept as the table
/// grows (whenever it doubles past the live count of the last sweep), so it
/// stays proportional to the matchers in use without anyone calling
/// [`sweep`](Interner::sweep); `sweep` is there to reclaim at once.
///
/// ```
/// use std::sync::Arc;
/// use tidings_core::topic::{Interner, MatcherKind};
///
/// let interner = Interner::new();
/// let a = interner.intern(MatcherKind::UriTemplate, "https://example.com/books/{id}", None).unwrap();
/// let b = interner.intern(MatcherKind::UriTemplate, "https://example.com/books/{id}", None).unwrap();
/// assert!(Arc::ptr_eq(&a, &b));
/// // The same text as another kind is another matcher.
/// let c = interner.intern(MatcherKind::Exact, "https://example.com/books/{id}", None).unwrap();
/// assert!(!Arc::ptr_eq(&a, &c));
/// ```
pub struct Interner {
    table: Mutex<Table>,
}

struct Table {
    entries: HashMap<MatcherKey, Weak<Matcher>>,
    /// Sweep when `entries` reaches this size.
    sweep_at: usize,
}

impl Interner {
    /// An empty interner.
    ///
    /// ```
    /// use tidings_core::topic::Interner;
    /// assert_eq!(Interner::new().len(), 0);
    /// ```
    pub fn new() -> Interner {
        Interner {
            table: Mutex::new(Table {
                entries: HashMap::new(),
                sweep_at: MIN_SWEEP_AT,
            }),
        }
    }

    /// The shared matcher for `kind`, `pattern` and `base`, compiling it if
    /// no live one exists. Errors are not remembered: a bad pattern is
    /// refused again each time it is asked for.
    ///
    /// Compiling happens outside the table's lock, so a slow pattern does
    /// not hold up others; if two callers compile the same pattern at once,
    /// the first to finish is kept and both get it.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use tidings_core::topic::{HubUrl, Interner, MatcherKind, PatternError};
    ///
    /// let interner = Interner::new();
    /// let one = HubUrl::parse("https://one.example/").unwrap();
    /// let two = HubUrl::parse("https://two.example/").unwrap();
    /// // Exact matchers never read the base, so they are shared across bases...
    /// let a = interner.intern(MatcherKind::Exact, "/a", Some(&one)).unwrap();
    /// let b = interner.intern(MatcherKind::Exact, "/a", Some(&two)).unwrap();
    /// assert!(Arc::ptr_eq(&a, &b));
    /// // ...URL patterns are not: `/a` means a different URL under each.
    /// let c = interner.intern(MatcherKind::UrlPattern, "/a", Some(&one)).unwrap();
    /// let d = interner.intern(MatcherKind::UrlPattern, "/a", Some(&two)).unwrap();
    /// assert!(!Arc::ptr_eq(&c, &d));
    ///
    /// assert_eq!(interner.intern(MatcherKind::Exact, "", None).unwrap_err(), PatternError::Empty);
    /// ```
    pub fn intern(
        &self,
        kind: MatcherKind,
        pattern: &str,
        base: Option<&HubUrl>,
    ) -> Result<Arc<Matcher>, PatternError> {
        let key = MatcherKey::new(kind, pattern, base);
        if let Some(live) = self.lock().entries.get(&key).and_then(Weak::upgrade) {
            return Ok(live);
        }
        let compiled = Arc::new(Matcher::compile(kind, pattern, base)?);
        debug_assert_eq!(compiled.key(), key);
        let mut table = self.lock();
        if let Some(live) = table.entries.get(&key).and_then(Weak::upgrade) {
            return Ok(live);
        }
        if table.entries.len() >= table.sweep_at {
            table.sweep();
        }
        table.entries.insert(key, Arc::downgrade(&compiled));
        Ok(compiled)
    }

    /// How many interned matchers are still in use.
    ///
    /// ```
    /// use tidings_core::topic::{Interner, MatcherKind};
    /// let interner = Interner::new();
    /// let m = interner.intern(MatcherKind::Exact, "a", None).unwrap();
    /// assert_eq!(interner.len(), 1);
    /// drop(m);
    /// assert_eq!(interner.len(), 0); // even before a sweep
    /// ```
    pub fn len(&self) -> usize {
        let table = self.lock();
        table
            .entries
            .values()
            .filter(|m| m.strong_count() > 0)
            .count()
    }

    /// Whether no interned matcher is in use.
    ///
    /// ```
    /// use tidings_core::topic::Interner;
    /// assert!(Interner::new().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Forgets the entries of matchers no one uses any more; returns how
    /// many were forgotten.
    ///
    /// ```
    /// use tidings_core::topic::{Interner, MatcherKind};
    /// let interner = Interner::new();
    /// let kept = interner.intern(MatcherKind::Exact, "kept", None).unwrap();
    /// drop(interner.intern(MatcherKind::Exact, "dropped", None).unwrap());
    /// assert_eq!(interner.sweep(), 1);
    /// assert_eq!(interner.sweep(), 0);
    /// assert_eq!(interner.len(), 1);
    /// # drop(kept);
    /// ```
    pub fn sweep(&self) -> usize {
        self.lock().sweep()
    }

    fn lock(&self) -> MutexGuard<'_, Table> {
        // The table is consistent after every statement, so a panic
        // elsewhere while it was held leaves nothing to repair.
        self.table.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Table {
    fn sweep(&mut self) -> usize {
        let before = self.entries.len();
        self.entries.retain(|_, matcher| matcher.strong_count() > 0);
        self.sweep_at = (2 * self.entries.len()).max(MIN_SWEEP_AT);
        before - self.entries.len()
    }
}

impl Default for Interner {
    fn default() -> Interner {
        Interner::new()
    }
}

impl fmt::Debug for Interner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let table = self.lock();
        f.debug_struct("Interner")
            .field("entries", &table.entries.len())
            .field("sweep_at", &table.sweep_at)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dropped_matchers_are_swept_as_the_table_grows() {
        let interner = Interner::new();
        let kept = interner.intern(MatcherKind::Exact, "kept", None).unwrap();
        for i in 0..10 * MIN_SWEEP_AT {
            drop(
                interner
                    .intern(MatcherKind::Exact, &format!("t{i}"), None)
                    .unwrap(),
            );
        }
        let held = interner.lock().entries.len();
        assert!(
            held <= MIN_SWEEP_AT,
            "{held} entries held for 1 live matcher"
        );
        assert_eq!(interner.len(), 1);
        assert!(Arc::ptr_eq(
            &kept,
            &interner.intern(MatcherKind::Exact, "kept", None).unwrap()
        ));
    }

    #[test]
    fn a_dropped_matcher_is_compiled_anew() {
        let interner = Interner::new();
        let first = interner
            .intern(MatcherKind::UriTemplate, "{a}", None)
            .unwrap();
        let weak = Arc::downgrade(&first);
        drop(first);
        let second = interner
            .intern(MatcherKind::UriTemplate, "{a}", None)
            .unwrap();
        assert!(weak.upgrade().is_none());
        assert_eq!(second.pattern(), "{a}");
    }

    #[test]
    fn the_wildcard_is_shared_across_bases() {
        let interner = Interner::new();
        let hub = HubUrl::parse("https://hub.example/").unwrap();
        let a = interner
            .intern(MatcherKind::UrlPattern, "*", Some(&hub))
            .unwrap();
        let b = interner.intern(MatcherKind::UrlPattern, "*", None).unwrap();
        assert!(Arc::ptr_eq(&a, &b));
    }
}
