//! `PatternIndex`: matchers bucketed by literal prefix, so that a topic is
//! only tested against matchers that could match it.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Bound;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use super::matcher::{LiteralPrefix, Matcher};
use super::name::Topic;
use super::urlpat::{self, HubUrl};

/// Matchers keyed by their [literal prefix](Matcher::literal_prefix).
///
/// Given a topic, the index finds the matchers whose literal prefix is a
/// prefix of the topic (for URL patterns: of the topic resolved against
/// their base) and evaluates only those. A thousand per-user grants such as
/// `https://example.com/users/42/{x}` have a thousand distinct prefixes, and
/// an event for user 42 evaluates one of them, not a thousand. Matchers
/// without a useful prefix (the wildcard, a template that starts with an
/// expression) are evaluated for every topic.
///
/// Finding the candidates walks a sorted map: each step is one ordered
/// lookup and either yields a bucket or shortens the probe, so the cost is
/// about (buckets found + shared-prefix steps) × log(buckets), whatever the
/// number of matchers. Each distinct URL pattern base costs one URL parse
/// of the topic.
///
/// The index counts holders: inserting the same matcher (the same `Arc`)
/// twice needs two removals. Matchers are told apart by identity, so insert
/// interned matchers ([`Interner`](super::Interner)) to have equal patterns
/// evaluated once.
///
/// ```
/// use tidings_core::topic::{Interner, MatcherKind, PatternIndex, Topic};
///
/// let interner = Interner::new();
/// let mut index = PatternIndex::new();
/// for user in 0..1000 {
///     let pattern = format!("https://example.com/users/{user}/{{x}}");
///     index.insert(interner.intern(MatcherKind::UriTemplate, &pattern, None).unwrap());
/// }
/// let topic = Topic::new("https://example.com/users/42/orders").unwrap();
/// let found = index.matching(&topic);
/// assert_eq!(found.len(), 1);
/// assert_eq!(found[0].pattern(), "https://example.com/users/42/{x}");
/// assert_eq!(index.evaluations(), 1);
/// ```
pub struct PatternIndex {
    /// Matchers compared with the topic's text.
    raw: PrefixMap,
    /// URL patterns, one map per base (a hub has one base; the list stays
    /// short).
    resolved: Vec<(Option<HubUrl>, PrefixMap)>,
    distinct: usize,
    evaluations: AtomicU64,
}

#[derive(Default)]
struct PrefixMap(BTreeMap<Box<[u8]>, Vec<Entry>>);

struct Entry {
    matcher: Arc<Matcher>,
    holders: usize,
}

impl PatternIndex {
    /// An empty index.
    ///
    /// ```
    /// use tidings_core::topic::{PatternIndex, Topic};
    /// let index = PatternIndex::new();
    /// assert!(index.matching(&Topic::new("a").unwrap()).is_empty());
    /// ```
    pub fn new() -> PatternIndex {
        PatternIndex {
            raw: PrefixMap::default(),
            resolved: Vec::new(),
            distinct: 0,
            evaluations: AtomicU64::new(0),
        }
    }

    /// Adds a holder of `matcher`.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use tidings_core::topic::{Matcher, MatcherKind, PatternIndex};
    /// let mut index = PatternIndex::new();
    /// let m = Arc::new(Matcher::compile(MatcherKind::Exact, "a", None).unwrap());
    /// index.insert(m.clone());
    /// index.insert(m.clone()); // a second holder, still one matcher
    /// assert_eq!(index.len(), 1);
    /// ```
    pub fn insert(&mut self, matcher: Arc<Matcher>) {
        let (map, prefix) = self.map_for(&matcher);
        if map.insert(Box::from(prefix.as_bytes()), matcher) {
            self.distinct += 1;
        }
    }

    /// Removes a holder of `matcher`; the matcher leaves the index with its
    /// last holder. Returns whether `matcher` was in the index.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use tidings_core::topic::{Matcher, MatcherKind, PatternIndex, Topic};
    /// let mut index = PatternIndex::new();
    /// let m = Arc::new(Matcher::compile(MatcherKind::Exact, "a", None).unwrap());
    /// index.insert(m.clone());
    /// index.insert(m.clone());
    /// assert!(index.remove(&m));
    /// assert_eq!(index.matching(&Topic::new("a").unwrap()).len(), 1);
    /// assert!(index.remove(&m));
    /// assert!(index.is_empty());
    /// assert!(!index.remove(&m)); // no holder left
    /// ```
    pub fn remove(&mut self, matcher: &Arc<Matcher>) -> bool {
        let (map, prefix) = self.map_for(matcher);
        let (found, gone) = map.remove(prefix.as_bytes(), matcher);
        if gone {
            self.distinct -= 1;
        }
        self.resolved.retain(|(_, map)| !map.0.is_empty());
        found
    }

    /// How many distinct matchers the index holds.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use tidings_core::topic::{Matcher, MatcherKind, PatternIndex};
    /// let mut index = PatternIndex::new();
    /// // Two separately compiled matchers are two, even for one pattern.
    /// index.insert(Arc::new(Matcher::compile(MatcherKind::Exact, "a", None).unwrap()));
    /// index.insert(Arc::new(Matcher::compile(MatcherKind::Exact, "a", None).unwrap()));
    /// assert_eq!(index.len(), 2);
    /// ```
    pub fn len(&self) -> usize {
        self.distinct
    }

    /// Whether the index holds no matcher.
    ///
    /// ```
    /// use tidings_core::topic::PatternIndex;
    /// assert!(PatternIndex::new().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.distinct == 0
    }

    /// The matchers whose literal prefix fits `topic`, unevaluated: a
    /// superset of those that match.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use tidings_core::topic::{Matcher, MatcherKind, PatternIndex, Topic};
    /// let mut index = PatternIndex::new();
    /// for pattern in ["https://example.com/a/{x}", "https://example.com/b/{x}", "{+any}"] {
    ///     index.insert(Arc::new(Matcher::compile(MatcherKind::UriTemplate, pattern, None).unwrap()));
    /// }
    /// let topic = Topic::new("https://example.com/a/1/2").unwrap();
    /// let mut found: Vec<_> = index.candidates(&topic).iter().map(|m| m.pattern()).collect();
    /// found.sort();
    /// // `/a/{x}` is a candidate though `1/2` is no value of `{x}`.
    /// assert_eq!(found, ["https://example.com/a/{x}", "{+any}"]);
    /// assert_eq!(index.evaluations(), 0);
    /// ```
    pub fn candidates(&self, topic: &Topic) -> Vec<&Arc<Matcher>> {
        let mut out = Vec::new();
        self.visit(topic, |matcher, _| out.push(matcher));
        out
    }

    /// The matchers that match `topic`, each evaluated once.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use tidings_core::topic::{HubUrl, Matcher, MatcherKind, PatternIndex, Topic};
    /// let hub = HubUrl::parse("https://example.com/.well-known/mercure").unwrap();
    /// let mut index = PatternIndex::new();
    /// let books = Matcher::compile(MatcherKind::UrlPattern, "/books/:id", Some(&hub)).unwrap();
    /// index.insert(Arc::new(books));
    /// // A relative topic is resolved against the pattern's base.
    /// assert_eq!(index.matching(&Topic::new("/books/1").unwrap()).len(), 1);
    /// assert_eq!(index.matching(&Topic::new("https://example.com/books/1").unwrap()).len(), 1);
    /// // Other paths are not even evaluated.
    /// assert!(index.matching(&Topic::new("/authors/1").unwrap()).is_empty());
    /// assert_eq!(index.evaluations(), 2);
    /// ```
    pub fn matching(&self, topic: &Topic) -> Vec<&Arc<Matcher>> {
        let mut out = Vec::new();
        self.visit(topic, |matcher, resolved| {
            self.evaluations.fetch_add(1, Relaxed);
            if matcher.matches_resolved(topic, resolved) {
                out.push(matcher);
            }
        });
        out
    }

    /// How many matcher evaluations [`matching`](PatternIndex::matching)
    /// has made since the index was created.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use tidings_core::topic::{Matcher, MatcherKind, PatternIndex, Topic};
    /// let mut index = PatternIndex::new();
    /// index.insert(Arc::new(Matcher::compile(MatcherKind::Exact, "*", None).unwrap()));
    /// index.matching(&Topic::new("a").unwrap());
    /// index.matching(&Topic::new("b").unwrap());
    /// assert_eq!(index.evaluations(), 2); // the wildcard fits every topic
    /// ```
    pub fn evaluations(&self) -> u64 {
        self.evaluations.load(Relaxed)
    }

    /// Calls `f` with every candidate, and the topic resolved against the
    /// candidate's base when it is a URL pattern.
    fn visit<'a>(&'a self, topic: &Topic, mut f: impl FnMut(&'a Arc<Matcher>, Option<&url::Url>)) {
        self.raw
            .visit_prefixes_of(topic.as_str().as_bytes(), |matcher| f(matcher, None));
        for (base, map) in &self.resolved {
            // A topic that is no URL reference matches no URL pattern.
            let Some(url) = urlpat::resolve(base.as_ref(), topic.as_str()) else {
                continue;
            };
            let key = urlpat::resolved_key(&url);
            map.visit_prefixes_of(key.as_bytes(), |matcher| f(matcher, Some(&url)));
        }
    }

    /// The map a matcher belongs in, and its key there.
    fn map_for<'m>(&mut self, matcher: &'m Matcher) -> (&mut PrefixMap, &'m str) {
        match matcher.literal_prefix() {
            LiteralPrefix::Raw(prefix) => (&mut self.raw, prefix),
            LiteralPrefix::Resolved(prefix) => {
                let base = matcher.base();
                let at = match self.resolved.iter().position(|(b, _)| b.as_ref() == base) {
                    Some(at) => at,
                    None => {
                        self.resolved.push((base.cloned(), PrefixMap::default()));
                        self.resolved.len() - 1
                    }
                };
                (&mut self.resolved[at].1, prefix)
            }
        }
    }
}

impl PrefixMap {
    /// Adds a holder; returns whether the matcher is new here.
    fn insert(&mut self, prefix: Box<[u8]>, matcher: Arc<Matcher>) -> bool {
        let bucket = self.0.entry(prefix).or_default();
        match bucket
            .iter_mut()
            .find(|e| Arc::ptr_eq(&e.matcher, &matcher))
        {
            Some(entry) => {
                entry.holders += 1;
                false
            }
            None => {
                bucket.push(Entry {
                    matcher,
                    holders: 1,
                });
                true
            }
        }
    }

    /// Removes a holder; returns whether the matcher was here, and whether
    /// it left with that holder.
    fn remove(&mut self, prefix: &[u8], matcher: &Arc<Matcher>) -> (bool, bool) {
        let Some(bucket) = self.0.get_mut(prefix) else {
            return (false, false);
        };
        let Some(at) = bucket.iter().position(|e| Arc::ptr_eq(&e.matcher, matcher)) else {
            return (false, false);
        };
        bucket[at].holders -= 1;
        if bucket[at].holders > 0 {
            return (true, false);
        }
        bucket.swap_remove(at);
        if bucket.is_empty() {
            self.0.remove(prefix);
        }
        (true, true)
    }

    /// Calls `f` with the matchers of every key that is a prefix of `text`.
    ///
    /// The keys that are prefixes of `text` form a chain. The greatest key
    /// not above the probe is either a prefix of it (yield it, then probe
    /// with it less its last byte) or shares only `l` bytes with it; then
    /// every prefix key of the probe is a prefix of its first `l` bytes
    /// (a longer one would sort between that key and the probe), so the
    /// probe shrinks to those. Each step shortens the probe.
    fn visit_prefixes_of<'a>(&'a self, text: &[u8], mut f: impl FnMut(&'a Arc<Matcher>)) {
        let mut end = text.len();
        loop {
            let probe = &text[..end];
            let mut below = self
                .0
                .range::<[u8], _>((Bound::Unbounded, Bound::Included(probe)));
            let Some((key, bucket)) = below.next_back() else {
                return;
            };
            let shared = key.iter().zip(probe).take_while(|(a, b)| a == b).count();
            if shared == key.len() {
                bucket.iter().for_each(|entry| f(&entry.matcher));
                let Some(shorter) = key.len().checked_sub(1) else {
                    return;
                };
                end = shorter;
            } else {
                end = shared;
            }
        }
    }
}

impl Default for PatternIndex {
    fn default() -> PatternIndex {
        PatternIndex::new()
    }
}

impl fmt::Debug for PatternIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PatternIndex")
            .field("matchers", &self.distinct)
            .field("raw_buckets", &self.raw.0.len())
            .field("bases", &self.resolved.len())
            .field("evaluations", &self.evaluations())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topic::MatcherKind;

    fn exact(pattern: &str) -> Arc<Matcher> {
        Arc::new(Matcher::compile(MatcherKind::Exact, pattern, None).unwrap())
    }

    fn found(index: &PatternIndex, topic: &str) -> Vec<String> {
        let topic = Topic::new(topic).unwrap();
        let mut out: Vec<String> = index
            .candidates(&topic)
            .iter()
            .map(|m| m.pattern().to_owned())
            .collect();
        out.sort();
        out
    }

    #[test]
    fn the_prefix_walk_finds_every_prefix_key_and_no_other() {
        let keys = [
            "a", "ab", "abc", "abd", "abcd", "b", "aa", "ab\u{e9}", "ab\u{ea}",
        ];
        let mut index = PatternIndex::new();
        for key in keys {
            index.insert(exact(key));
        }
        for topic in [
            "abcde",
            "abd",
            "ab",
            "a",
            "aab",
            "b",
            "c",
            "ab\u{e9}x",
            "ab\u{eb}",
            "0",
        ] {
            let mut expected: Vec<String> = keys
                .iter()
                .filter(|k| topic.starts_with(*k))
                .map(|k| k.to_string())
                .collect();
            expected.sort();
            assert_eq!(found(&index, topic), expected, "{topic}");
        }
    }

    #[test]
    fn matchers_interners_and_indexes_cross_threads() {
        fn shared<T: Send + Sync>() {}
        shared::<Matcher>();
        shared::<crate::topic::Interner>();
        shared::<PatternIndex>();
        shared::<Topic>();
    }

    #[test]
    fn emptied_buckets_and_bases_are_dropped() {
        let hub = HubUrl::parse("https://hub.example/").unwrap();
        let url = Arc::new(Matcher::compile(MatcherKind::UrlPattern, "/a/:x", Some(&hub)).unwrap());
        let mut index = PatternIndex::new();
        index.insert(url.clone());
        index.insert(exact("a"));
        assert_eq!(index.resolved.len(), 1);
        assert!(index.remove(&url));
        assert!(index.resolved.is_empty());
        assert!(!index.remove(&exact("a")), "another Arc is another matcher");
        assert_eq!(index.raw.0.len(), 1);
    }
}
