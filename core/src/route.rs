//! Routes: subscriptions that deliver the same events, grouped, and the
//! index that finds them for a stored event.
//!
//! Two levels. A **group** is one distinct selection (selectors and
//! kinds); it keeps the seqs of the *public* events it selects. A
//! **route** is a group plus one distinct authorization (the matchers a
//! token grants); it keeps the seqs of the *private* events it may see.
//! Every subscription belongs to one route, and reads the merge of its
//! group's and its route's seqs. So ten thousand streams on one topic with
//! ten thousand different tokens are one group: a public event is recorded
//! once, whatever their number, and only a private event looks at routes,
//! through an index of their grants.
//!
//! Each seq list keeps the seqs that may still be in the ring and
//! remembers the newest seq that left it: a subscription lagged exactly
//! when one of its deliverable seqs was evicted before it read it (see
//! [Routing](crate::Broker#routing)).
//!
//! Publishing finds the groups of an event through the index: the groups
//! without selectors, a map from exact topic to groups, and a
//! [`PatternIndex`] of the other selectors, each distinct matcher
//! evaluated once per topic. A private event also evaluates the grants,
//! through a second index, and reaches only the routes holding a grant it
//! matches whose group selected it. The cost of a publish is therefore in
//! groups and granted routes reached, never in subscribers.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use crate::event::{Kind, StoredEvent};
use crate::ring::HistoryRing;
use crate::topic::{Matcher, MatcherKind, PatternIndex, Topic};

/// A route's slot in the routing table.
pub(crate) type RouteId = usize;
type GroupId = usize;

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
struct GroupKey {
    selectors: Option<Vec<usize>>,
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

    fn group_key(&self) -> GroupKey {
        GroupKey {
            selectors: self.selectors.as_ref().map(|s| s.iter().map(ptr).collect()),
            kinds: self.kinds.clone(),
        }
    }

    fn grant_key(&self) -> Vec<usize> {
        self.authorization.iter().map(ptr).collect()
    }

    /// Whether the kind passes; a kind-less event is a `message`.
    fn passes_kind(&self, event: &StoredEvent) -> bool {
        let kind = event.kind_str();
        self.kinds
            .as_ref()
            .is_none_or(|k| k.iter().any(|k| k.as_str() == kind))
    }

    /// The delivery rule, evaluated directly: what replay of events stored
    /// before a group or route existed uses, and what the index must agree
    /// with.
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

/// Deliverable seqs, ascending, complete from `since` to the head; seqs
/// below the ring's tail are dropped when the next one is added.
#[derive(Debug)]
struct SeqLog {
    log: VecDeque<u64>,
    since: u64,
    /// The newest deliverable seq dropped (it left the ring).
    dropped: Option<u64>,
}

impl SeqLog {
    fn new(since: u64) -> SeqLog {
        SeqLog {
            log: VecDeque::new(),
            since,
            dropped: None,
        }
    }

    fn add(&mut self, seq: u64, tail: u64) {
        while self.log.front().is_some_and(|&s| s < tail) {
            self.dropped = self.log.pop_front();
        }
        self.log.push_back(seq);
    }

    fn at(&self, cursor: u64) -> usize {
        self.log.partition_point(|&s| s < cursor)
    }

    fn seqs_from(&self, cursor: u64) -> impl Iterator<Item = u64> + '_ {
        self.log.range(self.at(cursor)..).copied()
    }

    fn lost(&self, cursor: u64, tail: u64) -> bool {
        self.dropped.is_some_and(|d| d >= cursor)
            || self.seqs_from(cursor).next().is_some_and(|s| s < tail)
    }

    /// Completes the list back to `cursor` with the held events that
    /// `wanted` picks.
    fn complete(&mut self, ring: &HistoryRing, cursor: u64, wanted: impl Fn(&StoredEvent) -> bool) {
        if cursor >= self.since {
            return;
        }
        let older: Vec<u64> = ring
            .range_from(cursor, usize::MAX)
            .take_while(|ev| ev.id().seq() < self.since)
            .filter(|ev| wanted(ev))
            .map(|ev| ev.id().seq())
            .collect();
        for seq in older.into_iter().rev() {
            self.log.push_front(seq);
        }
        self.since = cursor;
    }

    fn clear(&mut self, next_seq: u64) {
        *self = SeqLog::new(next_seq);
    }
}

/// One distinct selection and the public seqs it delivers.
#[derive(Debug)]
struct Group {
    key: GroupKey,
    filter: Filter,
    public: SeqLog,
    routes: Vec<RouteId>,
    /// The seq last considered by a publish: an event reaching the group
    /// through several topics is taken once, and a private one's routes
    /// check that their group selected it.
    considered: u64,
    pending: bool,
}

/// One distinct authorization within a group, and the private seqs it
/// delivers.
#[derive(Debug)]
pub(crate) struct Route {
    group: GroupId,
    authorization: Vec<Arc<Matcher>>,
    grants: Vec<usize>,
    private: SeqLog,
    members: usize,
    considered: u64,
    pending: bool,
    /// The last ring ([`Routing::take_pending`]) that listed it.
    listed: u64,
}

/// The seqs a subscription of one route delivers: its group's public ones
/// and its route's private ones, merged.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Deliverable<'a> {
    public: &'a SeqLog,
    private: &'a SeqLog,
}

impl Deliverable<'_> {
    /// Whether a deliverable seq at or after `cursor` left the ring, whose
    /// oldest held seq is `tail`.
    pub(crate) fn lost(&self, cursor: u64, tail: u64) -> bool {
        self.public.lost(cursor, tail) || self.private.lost(cursor, tail)
    }

    /// Whether every seq from `cursor` to `head` is delivered, as for an
    /// unfiltered stream while no private event is held: then the reader
    /// may copy the ring's range instead of looking each seq up.
    pub(crate) fn delivers_all(&self, cursor: u64, head: u64) -> bool {
        let log = &self.public.log;
        let at = self.public.at(cursor);
        let held = (log.len() - at) as u64;
        self.private.seqs_from(cursor).next().is_none()
            && held > 0
            && log[at] == cursor
            && log.back() == Some(&head)
            && head - cursor + 1 == held
    }

    /// The deliverable seqs at or after `cursor`, ascending.
    pub(crate) fn seqs_from(&self, cursor: u64) -> impl Iterator<Item = u64> + '_ {
        let mut public = self.public.seqs_from(cursor).peekable();
        let mut private = self.private.seqs_from(cursor).peekable();
        std::iter::from_fn(move || match (public.peek(), private.peek()) {
            (Some(&a), Some(&b)) if b < a => private.next(),
            (Some(_), _) => public.next(),
            (None, _) => private.next(),
        })
    }
}

/// Every group and route, and the indexes from topics to groups and from
/// grants to routes.
#[derive(Debug, Default)]
pub(crate) struct Routing {
    groups: Vec<Option<Group>>,
    free_groups: Vec<GroupId>,
    group_of: HashMap<GroupKey, GroupId>,
    routes: Vec<Option<Route>>,
    free_routes: Vec<RouteId>,
    route_of: HashMap<(GroupId, Vec<usize>), RouteId>,
    /// Groups without selectors: every event is a candidate.
    unselective: Vec<GroupId>,
    /// Groups by the pattern of their exact selectors.
    exact: HashMap<Box<str>, Vec<GroupId>>,
    /// Every other selector, and the groups holding it, by identity.
    patterns: PatternIndex,
    by_pattern: HashMap<usize, Vec<GroupId>>,
    /// Every grant of a route, and the routes holding it, by identity.
    grants: PatternIndex,
    by_grant: HashMap<usize, Vec<RouteId>>,
    /// Groups and routes given events since the bells were last rung.
    pending_groups: Vec<GroupId>,
    pending_routes: Vec<RouteId>,
    rings: u64,
    scratch: Vec<GroupId>, // the candidates of a publish, kept for the next
    /// Seq lists events were added to: one per group or route reached.
    recorded: u64,
}

fn is_exact(matcher: &Matcher) -> bool {
    matcher.kind() == MatcherKind::Exact && !matcher.is_wildcard()
}

fn unlist(list: &mut Vec<usize>, id: usize) {
    list.retain(|&x| x != id);
}

/// Takes `id` off the list of `key`, and the key off `map` with its last id.
fn unindex<K, Q>(map: &mut HashMap<K, Vec<usize>>, key: &Q, id: usize)
where
    K: std::borrow::Borrow<Q> + std::hash::Hash + Eq,
    Q: std::hash::Hash + Eq + ?Sized,
{
    if let Some(list) = map.get_mut(key) {
        unlist(list, id);
        if list.is_empty() {
            map.remove(key);
        }
    }
}

impl Routing {
    /// The route delivering `filter`, made if new, with one more member;
    /// its seqs are completed back to `cursor` from `ring`.
    pub(crate) fn join(&mut self, filter: Filter, ring: &HistoryRing, cursor: u64) -> RouteId {
        let next = ring.next_seq();
        let key = filter.group_key();
        let grants = filter.grant_key();
        let gid = match self.group_of.get(&key) {
            Some(&gid) => gid,
            None => self.create_group(filter.clone(), key, next),
        };
        let rid = match self.route_of.get(&(gid, grants.clone())) {
            Some(&rid) => rid,
            None => self.create_route(gid, &filter, grants, next),
        };
        let group = self.groups[gid].as_mut().expect("indexed groups exist");
        let selection = &group.filter;
        group.public.complete(ring, cursor, |ev| {
            !ev.is_private() && selection.delivers(ev)
        });
        let route = self.routes[rid].as_mut().expect("indexed routes exist");
        route.members += 1;
        route
            .private
            .complete(ring, cursor, |ev| ev.is_private() && filter.delivers(ev));
        rid
    }

    fn create_group(&mut self, filter: Filter, key: GroupKey, since: u64) -> GroupId {
        let gid = self.free_groups.pop().unwrap_or_else(|| {
            self.groups.push(None);
            self.groups.len() - 1
        });
        match &filter.selectors {
            None => self.unselective.push(gid),
            Some(selectors) => {
                for m in selectors {
                    if is_exact(m) {
                        self.exact.entry(m.pattern().into()).or_default().push(gid);
                    } else {
                        self.patterns.insert(m.clone());
                        self.by_pattern.entry(ptr(m)).or_default().push(gid);
                    }
                }
            }
        }
        self.group_of.insert(key.clone(), gid);
        self.groups[gid] = Some(Group {
            key,
            filter,
            public: SeqLog::new(since),
            routes: Vec::new(),
            considered: 0,
            pending: false,
        });
        gid
    }

    fn create_route(
        &mut self,
        gid: GroupId,
        filter: &Filter,
        grants: Vec<usize>,
        since: u64,
    ) -> RouteId {
        let rid = self.free_routes.pop().unwrap_or_else(|| {
            self.routes.push(None);
            self.routes.len() - 1
        });
        for m in &filter.authorization {
            self.grants.insert(m.clone());
            self.by_grant.entry(ptr(m)).or_default().push(rid);
        }
        self.route_of.insert((gid, grants.clone()), rid);
        self.groups[gid]
            .as_mut()
            .expect("made above")
            .routes
            .push(rid);
        self.routes[rid] = Some(Route {
            group: gid,
            authorization: filter.authorization.clone(),
            grants,
            private: SeqLog::new(since),
            members: 0,
            considered: 0,
            pending: false,
            listed: 0,
        });
        rid
    }

    /// One member fewer; the route is forgotten with its last member, and
    /// its group with its last route.
    pub(crate) fn leave(&mut self, rid: RouteId) {
        let Some(route) = self.routes.get_mut(rid).and_then(Option::as_mut) else {
            return;
        };
        route.members -= 1;
        if route.members > 0 {
            return;
        }
        let route = self.routes[rid].take().expect("checked above");
        self.route_of.remove(&(route.group, route.grants.clone()));
        let group = self.groups[route.group]
            .as_mut()
            .expect("a route's group lives");
        unlist(&mut group.routes, rid);
        let orphaned = group.routes.is_empty();
        for m in &route.authorization {
            self.grants.remove(m);
            unindex(&mut self.by_grant, &ptr(m), rid);
        }
        if route.pending {
            unlist(&mut self.pending_routes, rid);
        }
        self.free_routes.push(rid);
        if orphaned {
            self.drop_group(route.group);
        }
    }

    fn drop_group(&mut self, gid: GroupId) {
        let group = self.groups[gid].take().expect("checked by the caller");
        self.group_of.remove(&group.key);
        match &group.filter.selectors {
            None => unlist(&mut self.unselective, gid),
            Some(selectors) => {
                for m in selectors {
                    if is_exact(m) {
                        unindex(&mut self.exact, m.pattern(), gid);
                    } else {
                        self.patterns.remove(m);
                        unindex(&mut self.by_pattern, &ptr(m), gid);
                    }
                }
            }
        }
        if group.pending {
            unlist(&mut self.pending_groups, gid);
        }
        self.free_groups.push(gid);
    }

    /// What the route `rid` (registered by a live subscription) delivers.
    pub(crate) fn deliverable(&self, rid: RouteId) -> Deliverable<'_> {
        let route = self.routes[rid]
            .as_ref()
            .expect("a subscription's route lives");
        let group = self.groups[route.group]
            .as_ref()
            .expect("a route's group lives");
        Deliverable {
            public: &group.public,
            private: &route.private,
        }
    }

    /// Adds a stored `event` to every group or route that delivers it and
    /// marks them to be rung; `tail` is the ring's oldest seq after the
    /// event was stored.
    pub(crate) fn publish(&mut self, event: &StoredEvent, tail: u64) {
        let seq = event.id().seq();
        let mut candidates = std::mem::take(&mut self.scratch);
        candidates.clear();
        candidates.extend_from_slice(&self.unselective);
        for topic in event.topics() {
            if let Some(list) = self.exact.get(topic.as_str()) {
                candidates.extend_from_slice(list);
            }
            for m in self.patterns.matching(topic) {
                candidates.extend_from_slice(&self.by_pattern[&ptr(m)]);
            }
        }
        let private = event.is_private();
        for &gid in &candidates {
            let group = self.groups[gid].as_mut().expect("indexed groups exist");
            if group.considered == seq {
                continue;
            }
            group.considered = seq;
            if private || !group.filter.passes_kind(event) {
                continue;
            }
            group.public.add(seq, tail);
            self.recorded += 1;
            if !group.pending {
                group.pending = true;
                self.pending_groups.push(gid);
            }
        }
        self.scratch = candidates;
        if !private || self.by_grant.is_empty() {
            return;
        }
        let granted: Vec<usize> = event
            .topics()
            .iter()
            .flat_map(|t| self.grants.matching(t))
            .map(ptr)
            .collect();
        for m in granted {
            let Some(rids) = self.by_grant.get(&m) else {
                continue;
            };
            for &rid in rids {
                let route = self.routes[rid].as_mut().expect("indexed routes exist");
                let group = self.groups[route.group]
                    .as_ref()
                    .expect("a route's group lives");
                // Selected by its group (considered above) and of a kind it takes.
                if route.considered == seq
                    || group.considered != seq
                    || !group.filter.passes_kind(event)
                {
                    continue;
                }
                route.considered = seq;
                route.private.add(seq, tail);
                self.recorded += 1;
                if !route.pending {
                    route.pending = true;
                    self.pending_routes.push(rid);
                }
            }
        }
    }

    /// The routes whose members to ring: those of the groups and the
    /// routes given events since the last call, each once.
    pub(crate) fn take_pending(&mut self) -> Vec<RouteId> {
        self.rings += 1;
        let ring = self.rings;
        let mut out = Vec::new();
        let mut list = |route: &mut Route, rid: RouteId| {
            if route.listed != ring {
                route.listed = ring;
                out.push(rid);
            }
        };
        for gid in std::mem::take(&mut self.pending_groups) {
            let group = self.groups[gid].as_mut().expect("pending groups exist");
            group.pending = false;
            for &rid in &group.routes {
                list(
                    self.routes[rid].as_mut().expect("a group's routes exist"),
                    rid,
                );
            }
        }
        for rid in std::mem::take(&mut self.pending_routes) {
            let route = self.routes[rid].as_mut().expect("pending routes exist");
            route.pending = false;
            list(route, rid);
        }
        out
    }

    /// Forgets every seq, for a history that starts over at `next_seq`.
    pub(crate) fn clear(&mut self, next_seq: u64) {
        self.take_pending();
        for group in self.groups.iter_mut().flatten() {
            group.public.clear(next_seq);
            group.considered = 0;
        }
        for route in self.routes.iter_mut().flatten() {
            route.private.clear(next_seq);
            route.considered = 0;
        }
    }

    /// Distinct routes (filters in use), and distinct groups (selections).
    pub(crate) fn len(&self) -> (usize, usize) {
        (self.route_of.len(), self.group_of.len())
    }

    /// Matcher evaluations made to route events, selectors and grants.
    pub(crate) fn evaluations(&self) -> u64 {
        self.patterns.evaluations() + self.grants.evaluations()
    }

    /// Seq lists events were added to, one per group or route reached.
    pub(crate) fn recorded(&self) -> u64 {
        self.recorded
    }
}
