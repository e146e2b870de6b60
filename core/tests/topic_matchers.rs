//! What each kind of matcher matches, and which patterns it refuses.

use std::sync::Arc;

use tidings_core::topic::{
    HubUrl, Interner, MAX_PATTERN_LEN, Matcher, MatcherKind, PatternError, Topic,
};

const HUB: &str = "https://example.com/.well-known/mercure";

fn hub() -> HubUrl {
    HubUrl::parse(HUB).unwrap()
}

fn topic(text: &str) -> Topic {
    Topic::new(text).unwrap()
}

fn compile(kind: MatcherKind, pattern: &str) -> Matcher {
    Matcher::compile(kind, pattern, Some(&hub())).unwrap_or_else(|e| panic!("{pattern}: {e}"))
}

#[test]
fn exact_compares_bytes_without_normalising() {
    let m = compile(MatcherKind::Exact, "https://example.com/caf\u{e9}/a~b");
    assert!(m.matches(&topic("https://example.com/caf\u{e9}/a~b")));
    for other in [
        "HTTPS://example.com/caf\u{e9}/a~b",
        "https://example.com/caf%C3%A9/a~b",
        "https://example.com/cafe\u{301}/a~b", // the same text, decomposed (NFD)
        "https://example.com/caf\u{e9}/a%7Eb",
        "https://example.com/caf\u{e9}/a~b/",
    ] {
        assert!(!m.matches(&topic(other)), "{other}");
    }
}

#[test]
fn exact_is_never_resolved_against_the_hub_url() {
    let relative = compile(MatcherKind::Exact, "/books/1");
    assert!(relative.matches(&topic("/books/1")));
    assert!(!relative.matches(&topic("https://example.com/books/1")));
    let absolute = compile(MatcherKind::Exact, "https://example.com/books/1");
    assert!(!absolute.matches(&topic("/books/1")));
    assert_eq!(absolute.base(), None);
}

#[test]
fn the_star_matches_every_topic_under_every_kind() {
    for kind in [
        MatcherKind::Exact,
        MatcherKind::UrlPattern,
        MatcherKind::UriTemplate,
    ] {
        let m = compile(kind, "*");
        assert!(m.is_wildcard());
        for text in [
            "https://example.com/a",
            "/relative",
            "not a url",
            "urn:isbn:1",
        ] {
            assert!(m.matches(&topic(text)), "{kind} * {text}");
        }
    }
}

#[test]
fn url_pattern_matches_absolute_topics() {
    let m = compile(MatcherKind::UrlPattern, "https://example.com/books/:id");
    assert!(m.matches(&topic("https://example.com/books/1")));
    // Query and fragment are wildcards unless the pattern names them.
    assert!(m.matches(&topic("https://example.com/books/1?page=2#top")));
    assert!(!m.matches(&topic("https://example.com/books/1/chapters")));
    assert!(!m.matches(&topic("https://example.com/books/")));
    assert!(!m.matches(&topic("https://example.org/books/1")));
}

#[test]
fn url_pattern_resolves_a_relative_pattern_against_the_hub_url() {
    let m = compile(
        MatcherKind::UrlPattern,
        "/.well-known/mercure/subscriptions/exact/:topic/:subscriber",
    );
    assert!(m.matches(&topic(
        "https://example.com/.well-known/mercure/subscriptions/exact/a/b"
    )));
    assert!(!m.matches(&topic(
        "https://other.example/.well-known/mercure/subscriptions/exact/a/b"
    )));
}

#[test]
fn url_pattern_resolves_a_relative_topic_against_the_hub_url() {
    let m = compile(MatcherKind::UrlPattern, "https://example.com/books/:id");
    assert!(m.matches(&topic("/books/1")));
    // Relative to the hub URL's path: `books/1` is under /.well-known/.
    assert!(!m.matches(&topic("books/1")));
    assert!(compile(MatcherKind::UrlPattern, "/.well-known/books/:id").matches(&topic("books/1")));
}

#[test]
fn url_pattern_needs_a_base_for_relative_patterns_and_topics() {
    let err = Matcher::compile(MatcherKind::UrlPattern, "/books/:id", None).unwrap_err();
    assert!(
        matches!(err, PatternError::InvalidUrlPattern { .. }),
        "{err:?}"
    );
    let m = Matcher::compile(
        MatcherKind::UrlPattern,
        "https://example.com/books/:id",
        None,
    )
    .unwrap();
    assert!(!m.matches(&topic("/books/1")));
    assert!(m.matches(&topic("https://example.com/books/1")));
}

#[test]
fn url_pattern_is_case_sensitive_except_in_the_host() {
    let m = compile(MatcherKind::UrlPattern, "https://example.com/Books/:id");
    assert!(m.matches(&topic("HTTPS://EXAMPLE.COM/Books/1")));
    assert!(!m.matches(&topic("https://example.com/books/1")));
}

#[test]
fn url_pattern_compares_canonical_urls() {
    // The URL parser canonicalises the topic before matching: default port,
    // dot segments, percent-encoding of the path.
    let m = compile(MatcherKind::UrlPattern, "https://example.com/caf\u{e9}/:id");
    for text in [
        "https://example.com:443/caf\u{e9}/1",
        "https://example.com/x/../caf\u{e9}/1",
        "https://example.com/caf%C3%A9/1",
    ] {
        assert!(m.matches(&topic(text)), "{text}");
    }
}

#[test]
fn url_pattern_does_not_match_a_topic_that_is_no_url() {
    let m = compile(MatcherKind::UrlPattern, "https://example.com:*/*");
    assert!(m.matches(&topic("https://example.com:8080/x")));
    // Not parsable as a URL reference, even with the hub URL as base.
    assert!(!m.matches(&topic("https://example.com:99999/x")));
    assert!(!m.matches(&topic("https://exa mple.com/x")));
}

#[test]
fn url_pattern_regexp_groups_run_in_linear_time() {
    // Catastrophic for a backtracking engine; the `regex` crate answers in
    // one pass.
    let m = compile(MatcherKind::UrlPattern, "https://example.com/(a+)+b");
    assert!(m.matches(&topic("https://example.com/aaab")));
    let long = format!("https://example.com/{}", "a".repeat(900));
    assert!(!m.matches(&topic(&long)));
}

#[test]
fn url_pattern_refuses_regexps_without_a_linear_time_form() {
    for pattern in [
        r"https://example.com/((?=a)a)",
        r"https://example.com/(a\1)",
        r"https://example.com/(\w{300})",
    ] {
        let err = Matcher::compile(MatcherKind::UrlPattern, pattern, None).unwrap_err();
        assert!(
            matches!(err, PatternError::InvalidUrlPattern { .. }),
            "{pattern}: {err:?}"
        );
    }
}

#[test]
fn uri_template_matches_expansions_and_its_own_text() {
    let m = compile(MatcherKind::UriTemplate, "https://example.com/books/{id}");
    assert!(m.matches(&topic("https://example.com/books/1")));
    assert!(m.matches(&topic("https://example.com/books/{id}")));
    assert!(!m.matches(&topic("https://example.com/books/1/2")));
    // Templates are never resolved: a relative topic is just other text.
    assert!(!m.matches(&topic("/books/1")));
}

#[test]
fn an_invalid_template_is_refused_and_can_be_compiled_exact() {
    let pattern = "https://example.com/{unclosed";
    let err = Matcher::compile(MatcherKind::UriTemplate, pattern, None).unwrap_err();
    assert!(
        matches!(err, PatternError::InvalidTemplate { at: 20, .. }),
        "{err:?}"
    );
    // The v0.24 reading of such a selector: it matches itself only.
    let exact = compile(MatcherKind::Exact, pattern);
    assert!(exact.matches(&topic(pattern)));
}

#[test]
fn patterns_obey_the_topic_character_rules() {
    for kind in [
        MatcherKind::Exact,
        MatcherKind::UrlPattern,
        MatcherKind::UriTemplate,
    ] {
        let format = Matcher::compile(kind, "https://example.com/\u{202e}{id}", None).unwrap_err();
        assert_eq!(
            format,
            PatternError::Format {
                at: 20,
                code: 0x202e
            },
            "{kind}"
        );
        let control = Matcher::compile(kind, "https://example.com/\u{85}", None).unwrap_err();
        assert_eq!(
            control,
            PatternError::Control { at: 20, code: 0x85 },
            "{kind}"
        );
        assert_eq!(
            Matcher::compile(kind, "", None).unwrap_err(),
            PatternError::Empty
        );
    }
}

#[test]
fn patterns_are_bounded_in_length() {
    let base = "https://example.com/";
    let longest = format!("{base}{}", "a".repeat(MAX_PATTERN_LEN - base.len()));
    assert!(Matcher::compile(MatcherKind::Exact, &longest, None).is_ok());
    let err = Matcher::compile(MatcherKind::Exact, &format!("{longest}a"), None).unwrap_err();
    assert_eq!(
        err,
        PatternError::TooLong {
            len: MAX_PATTERN_LEN + 1,
            max: MAX_PATTERN_LEN
        }
    );
    assert_eq!(
        err.to_string(),
        format!(
            "pattern is {} bytes, more than the {MAX_PATTERN_LEN} allowed",
            MAX_PATTERN_LEN + 1
        )
    );
}

#[test]
fn the_interner_shares_one_matcher_per_kind_pattern_and_base() {
    let interner = Interner::new();
    let hub = hub();
    let a = interner
        .intern(MatcherKind::UrlPattern, "/books/:id", Some(&hub))
        .unwrap();
    let b = interner
        .intern(MatcherKind::UrlPattern, "/books/:id", Some(&hub))
        .unwrap();
    assert!(Arc::ptr_eq(&a, &b));
    let other_hub = HubUrl::parse("https://other.example/").unwrap();
    let c = interner
        .intern(MatcherKind::UrlPattern, "/books/:id", Some(&other_hub))
        .unwrap();
    assert!(!Arc::ptr_eq(&a, &c));
    assert!(c.matches(&topic("https://other.example/books/1")));
    assert!(!c.matches(&topic("https://example.com/books/1")));
    assert_eq!(interner.len(), 2);
    drop((a, b, c));
    assert_eq!(interner.len(), 0);
    assert_eq!(interner.sweep(), 2);
}
