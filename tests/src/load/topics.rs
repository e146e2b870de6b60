//! Which topic each event goes to, and which events each client asks for.
//!
//! The contract: with `--topics N`, event `seq` carries exactly one topic,
//! `{prefix}{i}`, where `i` in `0..N` is a seeded hash of the seq alone, so
//! the publishers and every client agree on it without sharing state, and a
//! run replays with the same `--seed`. Without topics an event carries
//! none. A client's [`Selection`] is fixed by its index:
//!
//! - `all`: no selector; it is due every event.
//! - `exact`: `match=` its own topics, `K` of them (`--exact-per-client`):
//!   client `c` takes `c·K … c·K+K−1`, modulo `N`; it is due the events of
//!   those topics.
//! - `pattern`: `match_urlpattern=` the one `--pattern` every client shares;
//!   it is due the events of the topics the pattern matches, decided once
//!   per topic by the core's matcher (the same code the server runs, so a
//!   pattern semantics bug would go unnoticed here; the tool checks
//!   routing, not matching).
//!
//! [`Plan::expected`] counts what a selection is due among the accepted
//! events; the tally compares that with what arrived.
//!
//! A hub that routes by path instead (nchan's `/sub/<channel>` and
//! `/pub/<channel>`: `{topic}` in `--sub-url` and `--pub-url`) gets the
//! same plan as channels: an exact client subscribes to its topic's
//! channel and each event is posted to its topic's; pattern clients share
//! `--pattern-channel`, to which the events of the matching topics are
//! posted, the others to their own topic's channel, which no one reads.
//! The publisher then does the matching a pattern hub does itself.

use tidings_core::topic::{Matcher, MatcherKind, Topic};

use super::args::{Args, Subscribe};
use super::tally::Ledger;

/// The topics of a run and how clients select them.
#[derive(Debug)]
pub struct Plan {
    topics: u32,
    seed: u64,
    prefix: String,
    subscribe: Subscribe,
    per_client: u32,
    pattern: String,
    /// With `--subscribe pattern`: whether the pattern matches topic `i`.
    matching: Vec<bool>,
    /// Whether the hub routes by path (`{topic}` in the URLs).
    routed: bool,
    pattern_channel: String,
}

/// What one client subscribes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// Every event: no selector.
    All,
    /// These topic indices, sorted and distinct, each as an exact selector.
    Exact(Vec<u32>),
    /// The run's URL pattern.
    Pattern,
}

/// The channel of topic `i` on a hub that routes by path: `topic<i>`,
/// which any path segment can carry.
fn channel_name(i: u32) -> String {
    format!("topic{i}")
}

/// SplitMix64's finaliser: a bijection of `u64` that scatters every bit.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Plan {
    /// The plan `args` describe; with `--subscribe pattern`, the pattern is
    /// compiled and evaluated against every topic, and refused if it is
    /// invalid or matches none of them.
    pub fn new(args: &Args) -> Result<Plan, String> {
        let mut plan = Plan {
            topics: args.topics,
            seed: args.seed,
            prefix: args.topic_prefix.clone(),
            subscribe: args.subscribe,
            per_client: args.exact_per_client,
            pattern: args.pattern.clone(),
            matching: Vec::new(),
            routed: args.routed(),
            pattern_channel: args.pattern_channel.clone(),
        };
        if plan.subscribe == Subscribe::Pattern {
            let matcher = Matcher::compile(MatcherKind::UrlPattern, &plan.pattern, None)
                .map_err(|e| format!("--pattern {:?}: {e}", plan.pattern))?;
            plan.matching = (0..plan.topics)
                .map(|i| {
                    Topic::new(&plan.name(i))
                        .map(|t| matcher.matches(&t))
                        .map_err(|e| format!("topic {:?}: {e}", plan.name(i)))
                })
                .collect::<Result<_, _>>()?;
            if plan.pattern_topics() == 0 {
                return Err(format!(
                    "--pattern {:?} matches none of the {} topics {}0…",
                    plan.pattern, plan.topics, plan.prefix
                ));
            }
        }
        Ok(plan)
    }

    /// Whether events carry topics.
    pub fn has_topics(&self) -> bool {
        self.topics > 0
    }

    /// The topic index of event `seq`, if events carry topics.
    pub fn topic_of(&self, seq: u64) -> Option<u32> {
        self.has_topics()
            .then(|| (mix(self.seed ^ mix(seq)) % u64::from(self.topics)) as u32)
    }

    /// The name of topic `i`.
    pub fn name(&self, i: u32) -> String {
        format!("{}{i}", self.prefix)
    }

    /// How many topics the pattern matches (0 unless `--subscribe pattern`).
    pub fn pattern_topics(&self) -> usize {
        self.matching.iter().filter(|&&m| m).count()
    }

    /// What client `index` subscribes to.
    pub fn selection(&self, index: usize) -> Selection {
        match self.subscribe {
            Subscribe::All => Selection::All,
            Subscribe::Pattern => Selection::Pattern,
            Subscribe::Exact => {
                let (k, n) = (u64::from(self.per_client), u64::from(self.topics));
                let first = index as u64 * k;
                let mut topics: Vec<u32> = (first..first + k).map(|t| (t % n) as u32).collect();
                topics.sort_unstable();
                topics.dedup();
                Selection::Exact(topics)
            }
        }
    }

    /// The channel whose route `selection` subscribes to, when the hub
    /// routes by path.
    pub fn channel(&self, selection: &Selection) -> Option<String> {
        if !self.routed {
            return None;
        }
        match selection {
            Selection::All => None,
            Selection::Pattern => Some(self.pattern_channel.clone()),
            Selection::Exact(topics) => topics.first().map(|&t| channel_name(t)),
        }
    }

    /// The channel event `seq` is posted to, when the hub routes by path.
    pub fn event_channel(&self, seq: u64) -> Option<String> {
        let topic = self.topic_of(seq).filter(|_| self.routed)?;
        if self.subscribe == Subscribe::Pattern && self.matching[topic as usize] {
            Some(self.pattern_channel.clone())
        } else {
            Some(channel_name(topic))
        }
    }

    /// The query that asks the server for `selection` (empty for all, and
    /// when the hub routes by path), without its leading `?`.
    pub fn query(&self, selection: &Selection) -> String {
        if self.routed {
            return String::new();
        }
        let param = |name: &str, value: &str| {
            format!(
                "{name}={}",
                form_urlencoded::byte_serialize(value.as_bytes()).collect::<String>()
            )
        };
        match selection {
            Selection::All => String::new(),
            Selection::Pattern => param("match_urlpattern", &self.pattern),
            Selection::Exact(topics) => topics
                .iter()
                .map(|&t| param("match", &self.name(t)))
                .collect::<Vec<_>>()
                .join("&"),
        }
    }

    /// Whether `selection` is due event `seq`.
    pub fn wants(&self, selection: &Selection, seq: u64) -> bool {
        let topic = self.topic_of(seq);
        match selection {
            Selection::All => true,
            Selection::Exact(topics) => topic.is_some_and(|t| topics.binary_search(&t).is_ok()),
            Selection::Pattern => topic.is_some_and(|t| self.matching[t as usize]),
        }
    }

    /// Accepted events per topic (one slot when events carry none), for
    /// [`Plan::expected`]; read once publishing is over.
    pub fn accepted_per_topic(&self, ledger: &Ledger) -> Vec<u64> {
        let mut counts = vec![0u64; self.topics.max(1) as usize];
        for seq in (0..ledger.events()).filter(|&s| ledger.ok(s)) {
            counts[self.topic_of(seq).unwrap_or(0) as usize] += 1;
        }
        counts
    }

    /// Accepted events `selection` is due, given [`Plan::accepted_per_topic`].
    pub fn expected(&self, selection: &Selection, accepted: &[u64]) -> u64 {
        match selection {
            Selection::All => accepted.iter().sum(),
            Selection::Exact(topics) => topics.iter().map(|&t| accepted[t as usize]).sum(),
            Selection::Pattern => accepted
                .iter()
                .zip(&self.matching)
                .filter(|(_, m)| **m)
                .map(|(n, _)| n)
                .sum(),
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use super::*;

    fn plan(flags: &[&str]) -> Result<Plan, String> {
        let args =
            Args::try_parse_from(std::iter::once("tidings-load").chain(flags.iter().copied()))
                .map_err(|e| e.to_string())?;
        Plan::new(&args)
    }

    #[test]
    fn routed_hubs_get_channels_in_the_path() {
        let routed = |extra: &[&str]| {
            let mut flags = vec![
                "--sub-url",
                "http://h:1/sub/{topic}",
                "--pub-url",
                "http://h:1/pub/{topic}",
                "--topics",
                "100",
            ];
            flags.extend_from_slice(extra);
            plan(&flags).unwrap()
        };
        let exact = routed(&["--subscribe", "exact"]);
        let mine = exact.selection(7);
        assert_eq!(exact.channel(&mine).as_deref(), Some("topic7"));
        assert_eq!(exact.query(&mine), "", "the channel is the selector");
        for seq in 0..50 {
            let topic = exact.topic_of(seq).unwrap();
            assert_eq!(exact.event_channel(seq), Some(format!("topic{topic}")));
        }
        let pattern = routed(&[
            "--subscribe",
            "pattern",
            "--pattern",
            r"https://example.com/t/:id(\d*0)",
        ]);
        assert_eq!(
            pattern.channel(&Selection::Pattern).as_deref(),
            Some("pattern")
        );
        for seq in 0..200 {
            let topic = pattern.topic_of(seq).unwrap();
            let to = pattern.event_channel(seq).unwrap();
            if topic % 10 == 0 {
                assert_eq!(
                    to, "pattern",
                    "a matching topic's event goes to the shared channel"
                );
            } else {
                assert_eq!(to, format!("topic{topic}"));
            }
        }
        // Without {topic}, nothing is routed by path.
        let plain = plan(&["--topics", "100", "--subscribe", "exact"]).unwrap();
        assert_eq!(plain.channel(&plain.selection(7)), None);
        assert_eq!(plain.event_channel(3), None);
        assert_eq!(
            plain.query(&plain.selection(7)),
            "match=https%3A%2F%2Fexample.com%2Ft%2F7"
        );
    }

    #[test]
    fn topics_are_spread_and_seeded() {
        let p = plan(&["--topics", "10"]).unwrap();
        let mut per = [0u32; 10];
        for seq in 0..10_000 {
            per[p.topic_of(seq).unwrap() as usize] += 1;
        }
        // Uniform: each of 10 topics near 1000 of 10 000.
        assert!(per.iter().all(|&n| (850..1150).contains(&n)), "{per:?}");
        let other = plan(&["--topics", "10", "--seed", "2"]).unwrap();
        assert!((0..100).any(|s| p.topic_of(s) != other.topic_of(s)));
        assert_eq!(plan(&[]).unwrap().topic_of(3), None);
    }

    #[test]
    fn exact_selections_and_their_queries() {
        let p = plan(&[
            "--topics",
            "5",
            "--subscribe",
            "exact",
            "--exact-per-client",
            "3",
        ])
        .unwrap();
        assert_eq!(p.selection(0), Selection::Exact(vec![0, 1, 2]));
        // Wrapping around the 5 topics.
        assert_eq!(p.selection(1), Selection::Exact(vec![0, 3, 4]));
        assert_eq!(
            p.query(&Selection::Exact(vec![0, 3])),
            "match=https%3A%2F%2Fexample.com%2Ft%2F0&match=https%3A%2F%2Fexample.com%2Ft%2F3"
        );
        let seq = (0..).find(|&s| p.topic_of(s) == Some(3)).unwrap();
        assert!(p.wants(&p.selection(1), seq));
        assert!(!p.wants(&p.selection(0), seq));
        assert_eq!(p.expected(&p.selection(1), &[1, 2, 3, 4, 5]), 1 + 4 + 5);
    }

    #[test]
    fn a_pattern_selects_the_topics_it_matches() {
        let p = plan(&[
            "--topics",
            "100",
            "--subscribe",
            "pattern",
            "--pattern",
            r"https://example.com/t/:id(\d*0)",
        ])
        .unwrap();
        assert_eq!(p.pattern_topics(), 10);
        let accepted: Vec<u64> = (0..100).collect();
        assert_eq!(
            p.expected(&Selection::Pattern, &accepted),
            (0..100).step_by(10).sum::<u64>()
        );
        assert!(
            plan(&[
                "--topics",
                "100",
                "--subscribe",
                "pattern",
                "--pattern",
                "https://other.example/:id"
            ])
            .unwrap_err()
            .contains("matches none")
        );
        assert!(
            plan(&[
                "--topics",
                "1",
                "--subscribe",
                "pattern",
                "--pattern",
                "/rel/:x"
            ])
            .is_err()
        );
    }
}
