//! URI templates (the `topic` selector of the protocol's v0.24 revision)
//! match exactly the strings some expansion of them produces: every
//! expansion example of RFC 6570 section 3.2 matches its template, and
//! strings no assignment of values could produce do not.
//!
//! The RFC's variables: count := ("one", "two", "three"), dom := ("example",
//! "com"), dub := "me/too", hello := "Hello World!", half := "50%", var :=
//! "value", who := "fred", base := "http://example.com/home/", path :=
//! "/foo/bar", list := ("red", "green", "blue"), keys := [("semi", ";"),
//! ("dot", "."), ("comma", ",")], v := "6", x := "1024", y := "768",
//! empty := "", empty_keys := [], undef := null.

use tidings_core::topic::{Matcher, MatcherKind, Topic};

fn template(pattern: &str) -> Matcher {
    Matcher::compile(MatcherKind::UriTemplate, pattern, None)
        .unwrap_or_else(|e| panic!("{pattern}: {e}"))
}

/// Asserts that every `(template, expansion)` pair matches.
fn expansions_match(examples: &[(&str, &str)]) {
    for (pattern, expansion) in examples {
        let topic = Topic::new(expansion).unwrap();
        assert!(
            template(pattern).matches(&topic),
            "{pattern} should match {expansion}"
        );
    }
}

/// Asserts that no `(template, string)` pair matches.
fn strings_do_not_match(examples: &[(&str, &str)]) {
    for (pattern, text) in examples {
        let topic = Topic::new(text).unwrap();
        assert!(
            !template(pattern).matches(&topic),
            "{pattern} should not match {text}"
        );
    }
}

#[test]
fn variable_expansion_examples_match() {
    // Section 3.2.1.
    expansions_match(&[
        ("{count}", "one,two,three"),
        ("{count*}", "one,two,three"),
        ("{/count}", "/one,two,three"),
        ("{/count*}", "/one/two/three"),
        ("{;count}", ";count=one,two,three"),
        ("{;count*}", ";count=one;count=two;count=three"),
        ("{?count}", "?count=one,two,three"),
        ("{?count*}", "?count=one&count=two&count=three"),
        ("{&count*}", "&count=one&count=two&count=three"),
    ]);
}

#[test]
fn simple_string_expansion_examples_match() {
    // Section 3.2.2.
    expansions_match(&[
        ("{var}", "value"),
        ("{hello}", "Hello%20World%21"),
        ("{half}", "50%25"),
        ("O{empty}X", "OX"),
        ("O{undef}X", "OX"),
        ("{x,y}", "1024,768"),
        ("{x,hello,y}", "1024,Hello%20World%21,768"),
        ("?{x,empty}", "?1024,"),
        ("?{x,undef}", "?1024"),
        ("?{undef,y}", "?768"),
        ("{var:3}", "val"),
        ("{var:30}", "value"),
        ("{list}", "red,green,blue"),
        ("{list*}", "red,green,blue"),
        ("{keys}", "semi,%3B,dot,.,comma,%2C"),
        ("{keys*}", "semi=%3B,dot=.,comma=%2C"),
    ]);
}

#[test]
fn simple_expansion_refuses_unencoded_reserved_characters() {
    strings_do_not_match(&[
        ("{hello}", "Hello World!"),
        ("{dub}", "me/too"),
        ("{half}", "50%"),
        ("{var:3}", "value"),
        ("O{var}X", "Ovalue"),
    ]);
}

#[test]
fn reserved_expansion_examples_match() {
    // Section 3.2.3.
    expansions_match(&[
        ("{+var}", "value"),
        ("{+hello}", "Hello%20World!"),
        ("{+half}", "50%25"),
        ("{base}index", "http%3A%2F%2Fexample.com%2Fhome%2Findex"),
        ("{+base}index", "http://example.com/home/index"),
        ("O{+empty}X", "OX"),
        ("O{+undef}X", "OX"),
        ("{+path}/here", "/foo/bar/here"),
        ("here?ref={+path}", "here?ref=/foo/bar"),
        ("up{+path}{var}/here", "up/foo/barvalue/here"),
        ("{+x,hello,y}", "1024,Hello%20World!,768"),
        ("{+path,x}/here", "/foo/bar,1024/here"),
        ("{+path:6}/here", "/foo/b/here"),
        ("{+list}", "red,green,blue"),
        ("{+list*}", "red,green,blue"),
        ("{+keys}", "semi,;,dot,.,comma,,"),
        ("{+keys*}", "semi=;,dot=.,comma=,"),
    ]);
    strings_do_not_match(&[("{+path:6}/here", "/foo/bar/here"), ("{+var}", "a b")]);
}

#[test]
fn fragment_expansion_examples_match() {
    // Section 3.2.4.
    expansions_match(&[
        ("{#var}", "#value"),
        ("{#hello}", "#Hello%20World!"),
        ("{#half}", "#50%25"),
        ("foo{#empty}", "foo#"),
        ("foo{#undef}", "foo"),
        ("{#x,hello,y}", "#1024,Hello%20World!,768"),
        ("{#path,x}/here", "#/foo/bar,1024/here"),
        ("{#path:6}/here", "#/foo/b/here"),
        ("{#list}", "#red,green,blue"),
        ("{#list*}", "#red,green,blue"),
        ("{#keys}", "#semi,;,dot,.,comma,,"),
        ("{#keys*}", "#semi=;,dot=.,comma=,"),
    ]);
    strings_do_not_match(&[("{#var}", "value"), ("foo{#var}", "foo#a#b#c%")]);
}

#[test]
fn label_expansion_examples_match() {
    // Section 3.2.5.
    expansions_match(&[
        ("{.who}", ".fred"),
        ("{.who,who}", ".fred.fred"),
        ("{.half,who}", ".50%25.fred"),
        ("www{.dom*}", "www.example.com"),
        ("X{.var}", "X.value"),
        ("X{.empty}", "X."),
        ("X{.undef}", "X"),
        ("X{.var:3}", "X.val"),
        ("X{.list}", "X.red,green,blue"),
        ("X{.list*}", "X.red.green.blue"),
        ("X{.keys}", "X.semi,%3B,dot,.,comma,%2C"),
        ("X{.keys*}", "X.semi=%3B.dot=..comma=%2C"),
        ("X{.empty_keys}", "X"),
        ("X{.empty_keys*}", "X"),
    ]);
    strings_do_not_match(&[("X{.var}", "Xvalue"), ("X{.var:3}", "X.value")]);
}

#[test]
fn path_segment_expansion_examples_match() {
    // Section 3.2.6.
    expansions_match(&[
        ("{/who}", "/fred"),
        ("{/who,who}", "/fred/fred"),
        ("{/half,who}", "/50%25/fred"),
        ("{/who,dub}", "/fred/me%2Ftoo"),
        ("{/var}", "/value"),
        ("{/var,empty}", "/value/"),
        ("{/var,undef}", "/value"),
        ("{/var,x}/here", "/value/1024/here"),
        ("{/var:1,var}", "/v/value"),
        ("{/list}", "/red,green,blue"),
        ("{/list*}", "/red/green/blue"),
        ("{/list*,path:4}", "/red/green/blue/%2Ffoo"),
        ("{/keys}", "/semi,%3B,dot,.,comma,%2C"),
        ("{/keys*}", "/semi=%3B/dot=./comma=%2C"),
    ]);
    // Two variables give at most two segments unless one is exploded.
    strings_do_not_match(&[
        ("{/who,dub}", "/fred/me/too"),
        ("{/var:1,var}", "/va/value"),
    ]);
}

#[test]
fn path_parameter_expansion_examples_match() {
    // Section 3.2.7.
    expansions_match(&[
        ("{;who}", ";who=fred"),
        ("{;half}", ";half=50%25"),
        ("{;empty}", ";empty"),
        ("{;v,empty,who}", ";v=6;empty;who=fred"),
        ("{;v,bar,who}", ";v=6;who=fred"),
        ("{;x,y}", ";x=1024;y=768"),
        ("{;x,y,empty}", ";x=1024;y=768;empty"),
        ("{;x,y,undef}", ";x=1024;y=768"),
        ("{;hello:5}", ";hello=Hello"),
        ("{;list}", ";list=red,green,blue"),
        ("{;list*}", ";list=red;list=green;list=blue"),
        ("{;keys}", ";keys=semi,%3B,dot,.,comma,%2C"),
        ("{;keys*}", ";semi=%3B;dot=.;comma=%2C"),
    ]);
    // Names are checked, and so is their order.
    strings_do_not_match(&[
        ("{;who}", ";whom=fred"),
        ("{;x,y}", ";y=768;x=1024"),
        ("{;hello:5}", ";hello=Hello%20"),
    ]);
}

#[test]
fn query_expansion_examples_match() {
    // Section 3.2.8.
    expansions_match(&[
        ("{?who}", "?who=fred"),
        ("{?half}", "?half=50%25"),
        ("{?x,y}", "?x=1024&y=768"),
        ("{?x,y,empty}", "?x=1024&y=768&empty="),
        ("{?x,y,undef}", "?x=1024&y=768"),
        ("{?var:3}", "?var=val"),
        ("{?list}", "?list=red,green,blue"),
        ("{?list*}", "?list=red&list=green&list=blue"),
        ("{?keys}", "?keys=semi,%3B,dot,.,comma,%2C"),
        ("{?keys*}", "?semi=%3B&dot=.&comma=%2C"),
    ]);
    strings_do_not_match(&[
        ("{?who}", "?other=fred"),
        ("{?x,y}", "?y=768&x=1024"),
        ("{?x,y}", "?x=1024&x=768"),
        ("{?who}", "?who"),
    ]);
}

#[test]
fn query_continuation_expansion_examples_match() {
    // Section 3.2.9.
    expansions_match(&[
        ("{&who}", "&who=fred"),
        ("{&half}", "&half=50%25"),
        ("?fixed=yes{&x}", "?fixed=yes&x=1024"),
        ("{&x,y,empty}", "&x=1024&y=768&empty="),
        ("{&var:3}", "&var=val"),
        ("{&list}", "&list=red,green,blue"),
        ("{&list*}", "&list=red&list=green&list=blue"),
        ("{&keys}", "&keys=semi,%3B,dot,.,comma,%2C"),
        ("{&keys*}", "&semi=%3B&dot=.&comma=%2C"),
    ]);
    strings_do_not_match(&[
        ("?fixed=yes{&x}", "?fixed=yes&y=1024"),
        ("?fixed=yes{&x}", "?fixed=no&x=1"),
    ]);
}

#[test]
fn the_v024_spec_examples_match() {
    expansions_match(&[
        (
            "https://example.com/books/{id}",
            "https://example.com/books/1",
        ),
        (
            "https://example.com/users/foo/{?topic}",
            "https://example.com/users/foo/?topic=https%3A%2F%2Fexample.com%2Fbooks%2F1",
        ),
        (
            "https://example.com/{foo}/bar",
            "https://example.com/foo/bar",
        ),
        (
            "https://example.com/{fistname}/{lastname}",
            "https://example.com/kevin/dunglas",
        ),
    ]);
    strings_do_not_match(&[
        (
            "https://example.com/books/{id}",
            "https://example.com/books/1/2",
        ),
        (
            "https://example.com/books/{id}",
            "https://example.org/books/1",
        ),
        (
            "https://example.com/{foo}/bar",
            "https://example.com/foo/bar/baz",
        ),
        // The grant is for user foo, and for the `topic` parameter only.
        (
            "https://example.com/users/foo/{?topic}",
            "https://example.com/users/bar/?topic=https%3A%2F%2Fexample.com%2Fbooks%2F1",
        ),
        (
            "https://example.com/users/foo/{?topic}",
            "https://example.com/users/foo/?evil=1",
        ),
        (
            "https://example.com/users/foo/{?topic}",
            "https://example.com/users/foo/?topic=https://example.com/books/1",
        ),
    ]);
}

#[test]
fn a_template_also_matches_its_own_text() {
    // v0.24 step 2: a selector equal to the string matches it, so a
    // template grant covers the same template in a request.
    expansions_match(&[(
        "https://example.com/books/{id}",
        "https://example.com/books/{id}",
    )]);
}

#[test]
fn template_literals_match_as_written() {
    expansions_match(&[
        (
            "https://example.com/caf\u{e9}/{id}",
            "https://example.com/caf\u{e9}/1",
        ),
        (
            "https://example.com/a%2Fb/{id}",
            "https://example.com/a%2Fb/1",
        ),
    ]);
    strings_do_not_match(&[
        (
            "https://example.com/caf\u{e9}/{id}",
            "https://example.com/caf%C3%A9/1",
        ),
        (
            "https://example.com/a%2Fb/{id}",
            "https://example.com/a/b/1",
        ),
    ]);
}
