//! Routes: subscriptions that deliver the same events, grouped, and the
//! index that finds them for a stored event.
//!
//! A route is one distinct filter (selectors, authorization, kinds) shared
//! by every subscription that asks for it. It keeps the seqs it delivers
//! that may still be in the ring, so a woken subscription reads only what it
//! delivers, and it remembers the newest of those seqs that left the ring:
//! a subscription lagged exactly when one of its deliverable seqs was
//! evicted before it read it (see [Routing](crate::Broker#routing)).
//!
//! Publishing finds the routes of an event through the index: the routes
//! without selectors, a map from exact topic to routes, and a
//! [`PatternIndex`] of the other selectors, each distinct matcher evaluated
//! once per topic. A private event also evaluates the authorization
//! matchers, through a second index, only when a candidate route has any.
//! The cost of a publish is therefore in distinct routes reached, never in
//! subscribers.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;

use crate::event::{Kind, StoredEvent};
use crate::ring::HistoryRing;
use crate::topic::{Matcher, MatcherKind, PatternIndex, Topic};

/// A route's slot in the routing table.
pub(crate) type RouteId = usize;

/// Matchers are told apart by identity: an interned matcher is one `Arc`.
fn ptr(matcher: &Arc<Matcher>) -> usize {
    Arc::as_ptr(matcher) as usize
}

/// Sorted by identity, duplicates dropped, so equal sets compare equal.
fn canonical(mut matchers: Vec<Arc<Matcher>>) -> Vec<Arc<Matcher>> {
    matchers.sort_by_key(ptr);
    matchers.dedup_by_key(|m| ptr(m));
    matchers
}

/// What a subscription delivers, besides control events.
#[derive(Debug, Clone)]
pub(crate) struct Filter {
    /// `None`: every event, topic-less ones included.
    selectors: Option<Vec<Arc<Matcher>>>,
    /// The private events it may see: those with a topic matching one.
    authorization: Vec<Arc<Matcher>>,
    kinds: Option<Vec<Kind>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct RouteKey {
    selectors: Option<Vec<usize>>,
    authorization: Vec<usize>,
    kinds: Option<Vec<Kind>>,
}

impl Filter {
    pub(crate) fn new(
        selectors: Option<Vec<Arc<Matcher>>>,
        authorization: Vec<Arc<Matcher>>,
        kinds: Option<Vec<Kind>>,
    ) -> Filter {
        let kinds = kinds.map(|mut k| {
            k.sort();
            k.dedup();
            k
        });
        Filter {
            selectors: selectors.map(canonical),
            authorization: canonical(authorization),
            kinds,
        }
    }

    fn key(&self) -> RouteKey {
        RouteKey {
            selectors: self.selectors.as_ref().map(|s| s.iter().map(ptr).collect()),
            authorization: self.authorization.iter().map(ptr).collect(),
            kinds: self.kinds.clone(),
        }
    }

    /// Whether the kind passes; a kind-less event is a `message`.
    fn passes_kind(&self, event: &StoredEvent) -> bool {
        let kind = event.kind_str();
        self.kinds
            .as_ref()
            .is_none_or(|k| k.iter().any(|k| k.as_str() == kind))
    }

    /// The delivery rule, evaluated directly: what replay of events stored
    /// before the route existed uses, and what the index must agree with.
    fn delivers(&self, event: &StoredEvent) -> bool {
        self.passes_kind(event)
            && admits(
                self.selectors.as_deref(),
                &self.authorization,
                event.topics(),
                event.is_private(),
            )
    }
}

/// The topic part of the delivery rule: an event with `topics` is admitted
/// iff `selectors` are `None` or one of its topics matches one, and it is
/// public or one of its topics matches one of `authorization`.
pub(crate) fn admits(
    selectors: Option<&[Arc<Matcher>]>,
    authorization: &[Arc<Matcher>],
    topics: &[Topic],
    private: bool,
) -> bool {
    let any =
        |matchers: &[Arc<Matcher>]| topics.iter().any(|t| matchers.iter().any(|m| m.matches(t)));
    selectors.is_none_or(any) && (!private || any(authorization))
}

/// One distinct filter and the seqs it delivers.
#[derive(Debug)]
pub(crate) struct Route {
    filter: Filter,
    key: RouteKey,
    /// Deliverable seqs, ascending, complete from `since` to the head.
    /// Seqs below the ring's tail are dropped when the next one is added.
    log: VecDeque<u64>,
    since: u64,
    /// The newest deliverable seq dropped from `log` (it left the ring).
    dropped: Option<u64>,
    /// The seq last considered by a publish, so that an event reaching the
    /// route through several topics is added once.
    considered: u64,
    members: usize,
    pending: bool,
}

impl Route {
    /// Whether a deliverable seq at or after `cursor` left the ring, whose
    /// oldest held seq is `tail`.
    pub(crate) fn lost(&self, cursor: u64, tail: u64) -> bool {
        self.dropped.is_some_and(|d| d >= cursor)
            || self.seqs_from(cursor).next().is_some_and(|s| s < tail)
    }

    /// Whether the route delivers every seq from `cursor` to `head`, as an
    /// unfiltered route does while no private event is held: then the
    /// reader may copy the ring's range instead of looking each seq up.
    pub(crate) fn delivers_all(&self, cursor: u64, head: u64) -> bool {
        let at = self.log.partition_point(|&s| s < cursor);
        let held = (self.log.len() - at) as u64;
        held > 0
            && self.log[at] == cursor
            && self.log.back() == Some(&head)
            && head - cursor + 1 == held
    }

    /// The deliverable seqs at or after `cursor`, ascending.
    pub(crate) fn seqs_from(&self, cursor: u64) -> impl Iterator<Item = u64> + '_ {
        let at = self.log.partition_point(|&s| s < cursor);
        self.log.range(at..).copied()
    }

    fn add(&mut self, seq: u64, tail: u64) {
        while self.log.front().is_some_and(|&s| s < tail) {
            self.dropped = self.log.pop_front();
        }
        self.log.push_back(seq);
    }
}

/// Every route, and the index from topics to routes.
#[derive(Debug, Default)]
pub(crate) struct Routing {
    routes: Vec<Option<Route>>,
    free: Vec<RouteId>,
    by_key: HashMap<RouteKey, RouteId>,
    /// Routes without selectors: every event is a candidate.
    unselective: Vec<RouteId>,
    /// Routes by the pattern of their exact selectors.
    exact: HashMap<Box<str>, Vec<RouteId>>,
    /// Every other selector, and the routes holding it, by identity.
    patterns: PatternIndex,
    by_pattern: HashMap<usize, Vec<RouteId>>,
    /// Every authorization matcher of a route.
    grants: PatternIndex,
    /// Routes that were given events since the bells were last rung.
    pending: Vec<RouteId>,
}

fn is_exact(matcher: &Matcher) -> bool {
    matcher.kind() == MatcherKind::Exact && !matcher.is_wildcard()
}

impl Routing {
    /// The route delivering `filter`, made if new, with one more member;
    /// its seqs are completed back to `cursor` from `ring`.
    pub(crate) fn join(&mut self, filter: Filter, ring: &HistoryRing, cursor: u64) -> RouteId {
        let key = filter.key();
        let id = match self.by_key.get(&key) {
            Some(&id) => id,
            None => self.create(filter, key, ring.next_seq()),
        };
        let route = self.routes[id].as_mut().expect("indexed routes exist");
        route.members += 1;
        if cursor < route.since {
            let older: Vec<u64> = ring
                .range_from(cursor, usize::MAX)
                .map(|ev| (ev.id().seq(), ev))
                .take_while(|(seq, _)| *seq < route.since)
                .filter(|(_, ev)| route.filter.delivers(ev))
                .map(|(seq, _)| seq)
                .collect();
            for seq in older.into_iter().rev() {
                route.log.push_front(seq);
            }
            route.since = cursor;
        }
        id
    }

    fn create(&mut self, filter: Filter, key: RouteKey, since: u64) -> RouteId {
        let id = self.free.pop().unwrap_or_else(|| {
            self.routes.push(None);
            self.routes.len() - 1
        });
        match &filter.selectors {
            None => self.unselective.push(id),
            Some(selectors) => {
                for m in selectors {
                    if is_exact(m) {
                        self.exact.entry(m.pattern().into()).or_default().push(id);
                    } else {
                        self.patterns.insert(m.clone());
                        self.by_pattern.entry(ptr(m)).or_default().push(id);
                    }
                }
            }
        }
        for m in &filter.authorization {
            self.grants.insert(m.clone());
        }
        self.by_key.insert(key.clone(), id);
        self.routes[id] = Some(Route {
            filter,
            key,
            log: VecDeque::new(),
            since,
            dropped: None,
            considered: 0,
            members: 0,
            pending: false,
        });
        id
    }

    /// One member fewer; the route is forgotten with its last member.
    pub(crate) fn leave(&mut self, id: RouteId) {
        let Some(route) = self.routes.get_mut(id).and_then(Option::as_mut) else {
            return;
        };
        route.members -= 1;
        if route.members > 0 {
            return;
        }
        let route = self.routes[id].take().expect("checked above");
        self.by_key.remove(&route.key);
        let unlist = |list: &mut Vec<RouteId>| list.retain(|&r| r != id);
        match &route.filter.selectors {
            None => unlist(&mut self.unselective),
            Some(selectors) => {
                for m in selectors {
                    if is_exact(m) {
                        if let Some(list) = self.exact.get_mut(m.pattern()) {
                            unlist(list);
                            if list.is_empty() {
                                self.exact.remove(m.pattern());
                            }
                        }
                    } else {
                        self.patterns.remove(m);
                        if let Some(list) = self.by_pattern.get_mut(&ptr(m)) {
                            unlist(list);
                            if list.is_empty() {
                                self.by_pattern.remove(&ptr(m));
                            }
                        }
                    }
                }
            }
        }
        for m in &route.filter.authorization {
            self.grants.remove(m);
        }
        if route.pending {
            unlist(&mut self.pending);
        }
        self.free.push(id);
    }

    /// The route `id` (registered by a live subscription).
    pub(crate) fn route(&self, id: RouteId) -> &Route {
        self.routes[id]
            .as_ref()
            .expect("a subscription's route lives")
    }

    /// Adds a stored `event` to every route that delivers it and marks
    /// those routes to be rung; `tail` is the ring's oldest seq after the
    /// event was stored.
    pub(crate) fn publish(&mut self, event: &StoredEvent, tail: u64) {
        let mut candidates: Vec<RouteId> = self.unselective.clone();
        for topic in event.topics() {
            if let Some(list) = self.exact.get(topic.as_str()) {
                candidates.extend_from_slice(list);
            }
            for m in self.patterns.matching(topic) {
                candidates.extend_from_slice(&self.by_pattern[&ptr(m)]);
            }
        }
        let seq = event.id().seq();
        let mut granted: Option<HashSet<usize>> = None;
        for id in candidates {
            let route = self.routes[id].as_mut().expect("indexed routes exist");
            if route.considered == seq {
                continue;
            }
            route.considered = seq;
            if !route.filter.passes_kind(event) {
                continue;
            }
            if event.is_private() {
                if route.key.authorization.is_empty() {
                    continue;
                }
                let granted = granted.get_or_insert_with(|| matching(&self.grants, event.topics()));
                if !route.key.authorization.iter().any(|m| granted.contains(m)) {
                    continue;
                }
            }
            route.add(seq, tail);
            if !route.pending {
                route.pending = true;
                self.pending.push(id);
            }
        }
    }

    /// The routes given events since the last call: the bells to ring.
    pub(crate) fn take_pending(&mut self) -> Vec<RouteId> {
        let pending = std::mem::take(&mut self.pending);
        for &id in &pending {
            if let Some(route) = self.routes[id].as_mut() {
                route.pending = false;
            }
        }
        pending
    }

    /// Forgets every seq, for a history that starts over at `next_seq`.
    pub(crate) fn clear(&mut self, next_seq: u64) {
        self.take_pending();
        for route in self.routes.iter_mut().flatten() {
            route.log.clear();
            route.since = next_seq;
            route.dropped = None;
            route.considered = 0;
        }
    }

    /// Distinct routes, that is distinct filters in use.
    pub(crate) fn len(&self) -> usize {
        self.by_key.len()
    }

    /// Matcher evaluations made to route events, selectors and grants.
    pub(crate) fn evaluations(&self) -> u64 {
        self.patterns.evaluations() + self.grants.evaluations()
    }
}

/// The identities of the matchers in `index` that match one of `topics`.
fn matching(index: &PatternIndex, topics: &[Topic]) -> HashSet<usize> {
    topics
        .iter()
        .flat_map(|t| index.matching(t))
        .map(ptr)
        .collect()
}
