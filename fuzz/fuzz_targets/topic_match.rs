//! Topic selectors (`core/src/topic/`): exact patterns, WHATWG URL
//! patterns and RFC 6570 URI templates, compiled from arbitrary text and
//! matched against arbitrary topics.
//!
//! Input: lines; `e <pattern>`, `u <pattern>` and `t <pattern>` are exact,
//! URL pattern and URI template selectors (at most four), every other line
//! a topic (at most eight). URL patterns resolve against
//! `https://example.com/.well-known/mercure`.
//!
//! Properties: no panic and no hang (libFuzzer's `-timeout`). Interning
//! compiles exactly as `Matcher::compile` does; `*` is the wildcard under
//! every kind and matches everything; an exact selector matches exactly
//! its own text; a URI template matches its own text, and one without
//! expressions nothing else; every topic a selector with a raw literal
//! prefix matches starts with that prefix; a `PatternIndex` holding the
//! selectors finds, for every topic, exactly the selectors that match it,
//! among its candidates; matching is deterministic; whether the hub
//! reserves a topic is answered by its shortcut as by resolving it.

#![no_main]

use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use tidings_core::topic::{
    HubUrl, Interner, LiteralPrefix, Matcher, MatcherKind, PatternIndex, Topic,
};

const HUB: &str = "https://example.com/.well-known/mercure";

fn check_one(matcher: &Matcher, topics: &[Topic]) {
    let pattern = matcher.pattern();
    assert_eq!(matcher.is_wildcard(), pattern == "*");
    if let Ok(own) = Topic::new(pattern) {
        match matcher.kind() {
            MatcherKind::Exact | MatcherKind::UriTemplate => {
                assert!(matcher.matches(&own), "{pattern:?} matches itself")
            }
            MatcherKind::UrlPattern => {}
        }
    }
    for topic in topics {
        let hit = matcher.matches(topic);
        assert_eq!(hit, matcher.matches(topic), "deterministic");
        if matcher.is_wildcard() {
            assert!(hit);
            continue;
        }
        match matcher.kind() {
            MatcherKind::Exact => assert_eq!(hit, topic.as_str() == pattern),
            MatcherKind::UriTemplate if !pattern.contains('{') => {
                assert_eq!(
                    hit,
                    topic.as_str() == pattern,
                    "{pattern:?} has no expression"
                )
            }
            _ => {}
        }
        if hit && let LiteralPrefix::Raw(prefix) = matcher.literal_prefix() {
            assert!(
                topic.as_str().starts_with(prefix),
                "{pattern:?} matched {topic:?} outside its prefix {prefix:?}"
            );
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let hub = HubUrl::parse(HUB).unwrap();
    let mut selectors = Vec::new();
    let mut topics = Vec::new();
    for line in text.split('\n') {
        let kind = match line.get(..2) {
            Some("e ") => Some(MatcherKind::Exact),
            Some("u ") => Some(MatcherKind::UrlPattern),
            Some("t ") => Some(MatcherKind::UriTemplate),
            _ => None,
        };
        match kind {
            Some(kind) if selectors.len() < 4 => selectors.push((kind, &line[2..])),
            Some(_) => {}
            None if topics.len() < 8 => {
                if let Ok(topic) = Topic::new(line) {
                    topics.push(topic);
                }
            }
            None => {}
        }
    }
    let interner = Interner::new();
    let mut index = PatternIndex::new();
    let mut compiled: Vec<Arc<Matcher>> = Vec::new();
    for &(kind, pattern) in &selectors {
        // The server interns with its hub URL; compiling is checked with
        // and without one.
        let interned = interner.intern(kind, pattern, Some(&hub));
        for base in [Some(&hub), None] {
            let direct = Matcher::compile(kind, pattern, base);
            if base.is_some() {
                match (&direct, &interned) {
                    (Ok(d), Ok(i)) => {
                        assert_eq!(d.kind(), i.kind());
                        assert_eq!(d.pattern(), i.pattern());
                        assert_eq!(d.base(), i.base());
                        for topic in &topics {
                            assert_eq!(d.matches(topic), i.matches(topic));
                        }
                    }
                    (Err(d), Err(i)) => assert_eq!(d, i),
                    _ => panic!("compile {direct:?} but intern {interned:?}"),
                }
            }
            if let Ok(matcher) = direct {
                assert_eq!(matcher.kind(), kind);
                assert_eq!(matcher.pattern(), pattern);
                check_one(&matcher, &topics);
                let matcher = Arc::new(matcher);
                index.insert(matcher.clone());
                compiled.push(matcher);
            }
        }
        if let Ok(first) = &interned {
            let again = interner.intern(kind, pattern, Some(&hub)).unwrap();
            assert!(
                Arc::ptr_eq(first, &again),
                "one matcher per pattern and base"
            );
        }
    }
    assert_eq!(index.len(), compiled.len());
    for topic in &topics {
        assert_eq!(
            hub.reserves(topic.as_str()),
            hub.reserves_by_resolving(topic.as_str()),
            "{topic:?}"
        );
        let mut want: Vec<*const Matcher> = compiled
            .iter()
            .filter(|m| m.matches(topic))
            .map(Arc::as_ptr)
            .collect();
        let mut found: Vec<*const Matcher> =
            index.matching(topic).into_iter().map(Arc::as_ptr).collect();
        let candidates: Vec<*const Matcher> = index
            .candidates(topic)
            .into_iter()
            .map(Arc::as_ptr)
            .collect();
        assert!(found.iter().all(|m| candidates.contains(m)));
        want.sort();
        found.sort();
        assert_eq!(
            found, want,
            "the index finds exactly the matching selectors for {topic:?}"
        );
    }
    for matcher in &compiled {
        assert!(index.remove(matcher));
    }
    assert!(index.is_empty());
});
