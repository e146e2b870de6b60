//! A pattern index evaluates only the matchers whose literal prefix fits
//! the topic, and finds exactly what evaluating every matcher would.

use std::sync::Arc;

use tidings_core::topic::{HubUrl, Interner, Matcher, MatcherKind, PatternIndex, Topic};

const USERS: usize = 1000;

fn hub() -> HubUrl {
    HubUrl::parse("https://example.com/.well-known/mercure").unwrap()
}

fn topic(text: &str) -> Topic {
    Topic::new(text).unwrap()
}

/// An index of one grant per user, plus a few shared subscriptions.
fn per_user_index(kind: MatcherKind, grant: impl Fn(usize) -> String) -> (PatternIndex, Interner) {
    let interner = Interner::new();
    let mut index = PatternIndex::new();
    for user in 0..USERS {
        index.insert(interner.intern(kind, &grant(user), Some(&hub())).unwrap());
    }
    for (kind, pattern) in [
        (MatcherKind::Exact, "https://example.com/books/1"),
        (MatcherKind::UriTemplate, "https://example.com/books/{id}"),
        (MatcherKind::UrlPattern, "*"),
    ] {
        index.insert(interner.intern(kind, pattern, Some(&hub())).unwrap());
    }
    (index, interner)
}

/// Publishes one event per user; returns the most evaluations one event
/// cost.
fn evaluations_per_event(index: &PatternIndex, event: impl Fn(usize) -> String) -> u64 {
    let mut most = 0;
    for user in 0..USERS {
        let before = index.evaluations();
        let topic = topic(&event(user));
        let hits = index.matching(&topic);
        // The user's own grant and the wildcard, nothing else.
        assert_eq!(hits.len(), 2, "{topic}: {hits:?}");
        most = most.max(index.evaluations() - before);
    }
    most
}

#[test]
fn per_user_uri_templates_cost_two_evaluations_per_event() {
    let (index, _interner) = per_user_index(MatcherKind::UriTemplate, |u| {
        format!("https://example.com/users/{u}/{{x}}")
    });
    let most = evaluations_per_event(&index, |u| format!("https://example.com/users/{u}/orders"));
    // The user's grant (its prefix ends in `/`, so `users/4/` does not fit
    // user 42) and the wildcard; not a thousand.
    assert_eq!(most, 2);
}

#[test]
fn per_user_url_patterns_cost_a_bounded_number_of_evaluations() {
    let (index, _interner) = per_user_index(MatcherKind::UrlPattern, |u| format!("/users/{u}/*"));
    // Relative topics resolve against the hub URL, as the patterns do.
    let most = evaluations_per_event(&index, |u| format!("/users/{u}/orders/7"));
    // A URL pattern's prefix stops before the `/` that a group may make
    // optional, so `users/1` and `users/12` are candidates for user 123:
    // at most one grant per digit of the id, and the wildcard.
    assert!(most <= 4, "{most} evaluations for one event");
}

#[test]
fn per_user_exact_topics_cost_a_bounded_number_of_evaluations() {
    let (index, _interner) = per_user_index(MatcherKind::Exact, |u| {
        format!("https://example.com/users/{u}")
    });
    let most = evaluations_per_event(&index, |u| format!("https://example.com/users/{u}"));
    // `users/1` and `users/12` are prefixes of `users/123`.
    assert!(most <= 4, "{most} evaluations for one event");
}

#[test]
fn without_a_literal_prefix_every_event_evaluates_the_matcher() {
    let mut index = PatternIndex::new();
    index.insert(Arc::new(
        Matcher::compile(MatcherKind::UriTemplate, "{+anything}", None).unwrap(),
    ));
    for text in ["a", "https://example.com/x", "/y"] {
        assert_eq!(index.matching(&topic(text)).len(), 1, "{text}");
    }
    assert_eq!(index.evaluations(), 3);
}

#[test]
fn a_topic_that_is_no_url_skips_every_url_pattern() {
    let interner = Interner::new();
    let mut index = PatternIndex::new();
    for user in 0..100 {
        let pattern = format!("https://example.com:*/users/{user}");
        index.insert(
            interner
                .intern(MatcherKind::UrlPattern, &pattern, Some(&hub()))
                .unwrap(),
        );
    }
    assert!(
        index
            .matching(&topic("https://example.com:99999/users/1"))
            .is_empty()
    );
    assert_eq!(index.evaluations(), 0);
}

/// Patterns of every kind, with the prefixes that make bucketing subtle:
/// optional segments, canonicalised hosts and paths, relative forms.
const PATTERNS: &[(MatcherKind, &str)] = &[
    (MatcherKind::Exact, "https://example.com/books/1"),
    (MatcherKind::Exact, "/books/1"),
    (MatcherKind::Exact, "bar"),
    (MatcherKind::UriTemplate, "https://example.com/books/{id}"),
    (MatcherKind::UriTemplate, "https://example.com/books{/id}"),
    (MatcherKind::UriTemplate, "{+any}"),
    (
        MatcherKind::UriTemplate,
        "https://example.com/users/foo/{?topic}",
    ),
    (MatcherKind::UrlPattern, "https://example.com/books/:id"),
    (MatcherKind::UrlPattern, "https://example.com/books/:id?"),
    (MatcherKind::UrlPattern, "https://EXAMPLE.com:443/books/*"),
    (MatcherKind::UrlPattern, "/books/:id"),
    (MatcherKind::UrlPattern, "books/:id"),
    (MatcherKind::UrlPattern, "https://*.example.com/*"),
    (MatcherKind::UrlPattern, "https://example.com/caf\u{e9}/:id"),
    (MatcherKind::UrlPattern, "https://example.com/{books/}?:id"),
    (MatcherKind::UrlPattern, "*://example.com/books/:id"),
    (MatcherKind::UrlPattern, "urn\\:isbn\\:*"),
    (
        MatcherKind::UrlPattern,
        "https://example.com:8443/books/:id",
    ),
    (MatcherKind::UrlPattern, "*"),
];

const TOPICS: &[&str] = &[
    "https://example.com/books/1",
    "https://example.com/books",
    "https://example.com/books/",
    "https://example.com/books/1/2",
    "HTTPS://Example.COM:443/books/1",
    "https://user:pass@example.com/books/1",
    "https://example.com/x/../books/1?q#f",
    "https://example.com/caf%C3%A9/1",
    "https://example.com/caf\u{e9}/1",
    "https://example.com/1",
    "https://api.example.com/books/1",
    "https://example.com:8443/books/1",
    "http://example.com/books/1",
    "wss://example.com/books/1",
    "/books/1",
    "books/1",
    "bar",
    "urn:isbn:1",
    "https://example.com/users/foo/?topic=a",
    "https://example.com:99999/books/1",
];

#[test]
fn the_index_finds_what_evaluating_every_matcher_finds() {
    let hub = hub();
    let matchers: Vec<Arc<Matcher>> = PATTERNS
        .iter()
        .map(|(kind, pattern)| Arc::new(Matcher::compile(*kind, pattern, Some(&hub)).unwrap()))
        .collect();
    let mut index = PatternIndex::new();
    for matcher in &matchers {
        index.insert(matcher.clone());
    }
    let mut hits = 0;
    for text in TOPICS {
        let topic = topic(text);
        let mut expected: Vec<*const Matcher> = matchers
            .iter()
            .filter(|m| m.matches(&topic))
            .map(Arc::as_ptr)
            .collect();
        let mut found: Vec<*const Matcher> = index
            .matching(&topic)
            .into_iter()
            .map(Arc::as_ptr)
            .collect();
        expected.sort();
        found.sort();
        assert_eq!(found, expected, "{text}");
        hits += found.len();
    }
    // The corpus exercises matches, not only misses.
    assert!(hits > 3 * TOPICS.len(), "{hits}");
    // And the index evaluated fewer matchers than all of them per topic.
    assert!(index.evaluations() < (PATTERNS.len() * TOPICS.len()) as u64);
}
