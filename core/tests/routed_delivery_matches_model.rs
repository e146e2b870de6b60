//! Property: with random events (topics, kinds or none, private or not,
//! publisher ids, reused ones included), random subscriptions (selectors,
//! authorizations, kinds), reconnects with the last id seen (generated or
//! supplied) and a small ring that wraps, each subscription receives exactly
//! the events its filter selects and authorizes, in order, each once; a
//! `lagged` reset comes only when an event it would have delivered left the
//! ring before it read it; and a caught-up subscription is woken exactly by
//! the events it delivers. The expectation comes from a plain model over
//! the list of everything published.

mod common;

use std::sync::Arc;

use common::Flag;
use proptest::prelude::*;
use tidings_core::topic::{HubUrl, Interner, Matcher, MatcherKind, Topic};
use tidings_core::{
    Broker, BrokerConfig, Epoch, Event, Kind, Millis, SubscribeOptions, Subscription, SuppliedId,
    TopicFilter,
};

const TOPICS: [&str; 5] = [
    "https://ex.com/a/1",
    "https://ex.com/a/2",
    "https://ex.com/b/1",
    "/c",
    "/b/2",
];

const MATCHERS: [(MatcherKind, &str); 6] = [
    (MatcherKind::Exact, "https://ex.com/a/1"),
    (MatcherKind::Exact, "https://ex.com/b/1"),
    (MatcherKind::UriTemplate, "https://ex.com/a/{id}"),
    (MatcherKind::Exact, "*"),
    (MatcherKind::UrlPattern, "/b/:id"),
    (MatcherKind::Exact, "/c"),
];

/// The kinds a filter may ask for; an event of kind index 2 has no kind,
/// which a filter selects as `message`.
const KINDS: [&str; 3] = ["k1", "k2", "message"];

/// Publisher ids: `e-1` shadows the generated id of seq 1, `order-2` looks
/// like an id of another epoch, `plain` like no generated id at all.
const SUPPLIED: [&str; 3] = ["e-1", "order-2", "plain"];

#[derive(Debug, Clone)]
struct Spec {
    selectors: Option<Vec<usize>>,
    authorization: Vec<usize>,
    kinds: Option<Vec<usize>>,
}

#[derive(Debug, Clone)]
enum Op {
    Publish {
        kind: usize,
        topics: Vec<usize>,
        private: bool,
        supplied: Option<usize>,
    },
    Drain(usize),
    Reconnect(usize),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Seen {
    Event(u64),
    Reset(String),
}

fn indices(n: usize, max: usize) -> impl Strategy<Value = Vec<usize>> {
    proptest::sample::subsequence((0..n).collect::<Vec<_>>(), 0..=max)
}

fn spec() -> impl Strategy<Value = Spec> {
    (
        proptest::option::weighted(0.7, indices(MATCHERS.len(), 2)),
        indices(MATCHERS.len(), 2),
        proptest::option::weighted(0.3, indices(KINDS.len(), 2)),
    )
        .prop_map(|(selectors, authorization, kinds)| Spec {
            selectors,
            authorization,
            kinds,
        })
}

fn op(subs: usize) -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (
            0..KINDS.len(),
            indices(TOPICS.len(), 2),
            any::<bool>(),
            proptest::option::weighted(0.3, 0..SUPPLIED.len()),
        )
            .prop_map(|(kind, topics, private, supplied)| Op::Publish {
                kind,
                topics,
                private,
                supplied,
            }),
        2 => (0..subs).prop_map(Op::Drain),
        1 => (0..subs).prop_map(Op::Reconnect),
    ]
}

fn case() -> impl Strategy<Value = (usize, Vec<Spec>, Vec<Op>)> {
    (2usize..8, proptest::collection::vec(spec(), 1..6)).prop_flat_map(|(ring, specs)| {
        let n = specs.len();
        (
            Just(ring),
            Just(specs),
            proptest::collection::vec(op(n), 1..120),
        )
    })
}

/// One published event, as the model sees it.
struct Published {
    kind: usize,
    topics: Vec<Topic>,
    private: bool,
    supplied: Option<usize>,
}

impl Published {
    /// Its SSE id: the publisher's, else the generated one.
    fn sse_id(&self, seq: u64) -> String {
        self.supplied
            .map_or_else(|| format!("e-{seq}"), |i| SUPPLIED[i].to_owned())
    }
}

struct Client {
    filter: TopicFilter,
    kinds: Option<Vec<usize>>,
    sub: Subscription,
    flag: Arc<Flag>,
    /// Seq of the next event the model considers for it.
    cursor: u64,
    /// The SSE id of the last stored event it received.
    last: Option<String>,
    /// Drained and given nothing deliverable since: its bell is silent.
    idle: bool,
}

fn any_match(matchers: &[Arc<Matcher>], topics: &[Topic]) -> bool {
    topics.iter().any(|t| matchers.iter().any(|m| m.matches(t)))
}

impl Client {
    fn delivers(&self, ev: &Published) -> bool {
        // Kind index 2 is a kind-less event, which `message` selects.
        self.kinds.as_ref().is_none_or(|k| k.contains(&ev.kind))
            && self
                .filter
                .selectors
                .as_deref()
                .is_none_or(|s| any_match(s, &ev.topics))
            && (!ev.private || any_match(&self.filter.authorization, &ev.topics))
    }
}

/// What was delivered, and the SSE id of the last stored event.
fn drain(sub: &mut Subscription, flag: &Arc<Flag>) -> (Vec<Seen>, Option<String>) {
    let mut last = None;
    let seen = common::drain(sub, flag)
        .0
        .into_iter()
        .map(|d| match d.id() {
            Some(id) => {
                let frame = std::str::from_utf8(d.frame()).unwrap();
                let line = frame.lines().next().unwrap();
                last = Some(line.strip_prefix("id: ").unwrap().to_owned());
                Seen::Event(id.seq())
            }
            None => {
                assert_eq!(d.kind(), "stream.reset", "only resets are expected");
                let data: serde_json::Value = serde_json::from_str(d.data()).unwrap();
                Seen::Reset(data["reason"].as_str().unwrap().to_owned())
            }
        })
        .collect();
    (seen, last)
}

/// Where the model resumes a client whose last id is `last`: the seq of
/// the next event to consider, or the reason of the reset it gets first.
fn resume(published: &[Published], ring_tail: u64, last: &str) -> Result<u64, &'static str> {
    let next = published.len() as u64 + 1;
    let supplied = |s: u64| published[(s - 1) as usize].supplied.map(|i| SUPPLIED[i]);
    // A publisher's id is looked up first, at the earliest event held.
    if let Some(seq) = (ring_tail..next).find(|&s| supplied(s) == Some(last)) {
        return Ok(seq + 1);
    }
    match last.rsplit_once('-') {
        Some(("e", seq)) => match seq.parse::<u64>() {
            Ok(seq) if seq + 1 < ring_tail => Err("history_exceeded"),
            Ok(seq) => Ok(seq + 1),
            Err(_) => Err("invalid_id"),
        },
        Some((_, seq)) if seq.parse::<u64>().is_ok() => Err("unknown_epoch"),
        _ => Err("invalid_id"),
    }
}

fn subscribe(
    broker: &Broker,
    filter: &TopicFilter,
    kinds: &Option<Vec<usize>>,
    last: Option<&str>,
) -> Subscription {
    let options = SubscribeOptions {
        last_event_id: last.map(str::to_owned),
        kinds: kinds
            .as_ref()
            .map(|k| k.iter().map(|&i| Kind::new(KINDS[i]).unwrap()).collect()),
    };
    broker.subscribe_with(options, filter.clone()).unwrap()
}

fn run(ring: usize, specs: Vec<Spec>, ops: Vec<Op>) -> Result<(), TestCaseError> {
    let hub = HubUrl::parse("https://ex.com/.well-known/mercure").unwrap();
    let interner = Interner::new();
    let matchers: Vec<Arc<Matcher>> = MATCHERS
        .iter()
        .map(|(kind, pattern)| interner.intern(*kind, pattern, Some(&hub)).unwrap())
        .collect();
    let pick = |ids: &[usize]| ids.iter().map(|&i| matchers[i].clone()).collect::<Vec<_>>();
    let config = BrokerConfig {
        history_size: ring,
        flush_interval_ms: 0,
        ..BrokerConfig::default()
    };
    let broker = Broker::new(Epoch::new("e").unwrap(), config);
    let mut published: Vec<Published> = Vec::new();
    let mut clients: Vec<Client> = specs
        .iter()
        .map(|spec| {
            let filter = TopicFilter {
                selectors: spec.selectors.as_deref().map(pick),
                authorization: pick(&spec.authorization),
            };
            let sub = subscribe(&broker, &filter, &spec.kinds, None);
            Client {
                filter,
                kinds: spec.kinds.clone(),
                sub,
                flag: Arc::new(Flag::default()),
                cursor: 1,
                last: None,
                idle: false,
            }
        })
        .collect();
    for (step, op) in ops.into_iter().enumerate() {
        let ring_tail = (published.len() as u64 + 1)
            .saturating_sub(ring as u64)
            .max(1);
        let next = published.len() as u64 + 1;
        match op {
            Op::Publish {
                kind,
                topics,
                private,
                supplied,
            } => {
                let topics: Vec<Topic> = topics
                    .iter()
                    .map(|&i| Topic::new(TOPICS[i]).unwrap())
                    .collect();
                let typed = (kind < 2).then(|| Kind::new(KINDS[kind]).unwrap());
                let event = Event::untyped(step.to_string())
                    .with_kind(typed)
                    .with_topics(topics.clone())
                    .private(private)
                    .with_supplied_id(supplied.map(|i| SuppliedId::new(SUPPLIED[i]).unwrap()));
                broker.publish(event, Millis(step as u64)).unwrap();
                let ev = Published {
                    kind,
                    topics,
                    private,
                    supplied,
                };
                for (i, c) in clients.iter_mut().enumerate() {
                    if c.idle {
                        let deliverable = c.delivers(&ev);
                        prop_assert_eq!(c.flag.take(), deliverable, "client {} woken wrongly", i);
                        c.idle = !deliverable;
                    }
                }
                published.push(ev);
            }
            Op::Drain(i) => {
                let c = &mut clients[i];
                let mut expected = Vec::new();
                let mut cursor = c.cursor;
                {
                    let c = &*c;
                    let deliverable = |seq: u64| c.delivers(&published[(seq - 1) as usize]);
                    if cursor < ring_tail {
                        if (cursor..ring_tail).any(deliverable) {
                            expected.push(Seen::Reset("lagged".into()));
                        }
                        cursor = ring_tail;
                    }
                    expected.extend((cursor..next).filter(|&s| deliverable(s)).map(Seen::Event));
                }
                c.cursor = next;
                let (got, last) = drain(&mut c.sub, &c.flag);
                prop_assert_eq!(&got, &expected, "client {} at step {}", i, step);
                let mut last_seq = None;
                for seen in &got {
                    if let Seen::Event(seq) = seen {
                        let ev = &published[(*seq - 1) as usize];
                        prop_assert!(!ev.private || any_match(&c.filter.authorization, &ev.topics));
                        last_seq = Some(*seq);
                    }
                }
                if let Some(seq) = last_seq {
                    let sse_id = published[(seq - 1) as usize].sse_id(seq);
                    prop_assert_eq!(last.as_deref(), Some(sse_id.as_str()), "the SSE id");
                    c.last = last;
                }
                c.flag.take();
                c.idle = true;
            }
            Op::Reconnect(i) => {
                let c = &mut clients[i];
                let fresh = subscribe(&broker, &c.filter, &c.kinds, c.last.as_deref());
                drop(std::mem::replace(&mut c.sub, fresh));
                c.idle = false;
                c.cursor = match c.last.as_deref().map(|l| resume(&published, ring_tail, l)) {
                    None => next,
                    Some(Ok(cursor)) => cursor,
                    Some(Err(reason)) => {
                        // Its id names no event held: the broker cannot
                        // tell what it missed, and says so.
                        let (got, _) = drain(&mut c.sub, &c.flag);
                        prop_assert_eq!(got.first(), Some(&Seen::Reset(reason.into())));
                        prop_assert_eq!(got.len(), 1);
                        c.flag.take();
                        c.idle = true;
                        next
                    }
                };
            }
        }
    }
    prop_assert_eq!(broker.routing_stats().idle_wakeups, 0);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn each_subscription_gets_exactly_its_authorized_events((ring, specs, ops) in case()) {
        run(ring, specs, ops)?;
    }
}
