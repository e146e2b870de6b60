//! The harness of the access-token catalogues (`tests/tests/` files
//! `tokens_are_checked_on_publish_and_subscribe.rs` and
//! `granted_tokens_publish_and_subscribe.rs`): a server with a publisher
//! RSA key (RS256) and a subscriber P-256 key (ES256), so that HMAC tokens
//! keyed with either public key are the key-confusion forgery; the tokens
//! and presentations every role must refuse; the answer each must get
//! (status, `WWW-Authenticate` challenge, the API's JSON body); and the
//! check that a refused request changed nothing.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::jwt::{
    Answer, HUB_URL, ISSUER, Key, Token, bearer, detail, key_flag, now, send, sign, sign_all,
};
use crate::{EDITOR_TOKEN, SseClient, Tidings, seq_of};

/// A topic the tests publish to.
pub const BOOK: &str = "https://example.com/books/1";
/// Another topic.
pub const OTHER_BOOK: &str = "https://example.com/books/2";
/// The origin the test server lists in `--cors-origin`.
pub const APP: &str = "https://app.example.com";
/// The default `--jwt-cookie`.
pub const COOKIE: &str = "__Secure-mercure_access_token";
/// A token lifetime that outlives any test.
pub const HOUR: Duration = Duration::from_secs(3600);
/// How long an answer or an event may take.
pub const WAIT: Duration = Duration::from_secs(10);

/// The publishers' key: the server holds `rsa.pub.pem` (RS256).
pub const PUBLISHER: Key = Key::Private {
    file: "rsa.pem",
    alg: "RS256",
};
/// The subscribers' key: the server holds `ec.pub.pem` (ES256).
pub const SUBSCRIBER: Key = Key::Private {
    file: "ec.pem",
    alg: "ES256",
};

/// The challenge of every refused token.
pub const INVALID: &str = r#"Bearer realm="tidings", error="invalid_token", error_description="the access token is invalid""#;
/// The challenge when a token is missing.
pub const BARE: &str = r#"Bearer realm="tidings""#;
/// The hub's protected resource metadata, for [`HUB_URL`].
pub const METADATA: &str =
    "https://hub.example.com/.well-known/oauth-protected-resource/.well-known/mercure";

/// A server with both keys, the issuer, the hub URL and [`APP`] as its
/// CORS origin (and the harness's editor token).
pub async fn server() -> Tidings {
    let publisher = key_flag("rsa.pub.pem");
    let subscriber = key_flag("ec.pub.pem");
    Tidings::start(&[
        "--publisher-jwt-key",
        &publisher,
        "--publisher-jwt-alg",
        "RS256",
        "--subscriber-jwt-key",
        &subscriber,
        "--subscriber-jwt-alg",
        "ES256",
        "--jwt-issuer",
        ISSUER,
        "--hub-url",
        HUB_URL,
        "--cors-origin",
        APP,
    ])
    .await
}

/// A publish body with these topics.
pub fn publish_body(topics: &[&str]) -> Value {
    json!({"type": "t", "data": {}, "topics": topics})
}

/// What a refused request must get: the status and the challenge's
/// `error` (`None`: a bare challenge).
#[derive(Debug, Clone, Copy)]
pub struct Refusal {
    /// The status.
    pub status: u16,
    /// The challenge's `error`.
    pub error: Option<&'static str>,
}

/// No token: 401, a bare challenge.
pub const NO_TOKEN: Refusal = Refusal {
    status: 401,
    error: None,
};
/// A refused token: 401 `invalid_token`.
pub const INVALID_TOKEN: Refusal = Refusal {
    status: 401,
    error: Some("invalid_token"),
};
/// A malformed presentation: 400 `invalid_request`.
pub const BAD_REQUEST: Refusal = Refusal {
    status: 400,
    error: Some("invalid_request"),
};
/// A valid token without the right: 403 `insufficient_scope`.
pub const SCOPE: Refusal = Refusal {
    status: 403,
    error: Some("insufficient_scope"),
};

/// Asserts that `answer` is the refusal `want`, with the API's JSON body.
pub fn check(name: &str, answer: &Answer, want: Refusal) {
    assert_eq!(answer.status, want.status, "{name}: {answer:?}");
    let challenge = answer
        .challenge
        .as_deref()
        .unwrap_or_else(|| panic!("{name}: no WWW-Authenticate: {answer:?}"));
    // Every challenge points to the hub's protected resource metadata.
    let challenge = challenge
        .strip_suffix(&format!(r#", resource_metadata="{METADATA}""#))
        .unwrap_or_else(|| panic!("{name}: no resource_metadata: {challenge}"));
    match want.error {
        None => assert_eq!(challenge, BARE, "{name}"),
        // Every refused token reads the same, whichever check failed.
        Some("invalid_token") => assert_eq!(challenge, INVALID, "{name}"),
        Some(error) => assert!(
            challenge.starts_with(&format!(r#"{BARE}, error="{error}""#)),
            "{name}: {challenge}"
        ),
    }
    assert!(answer.body["error"].is_string(), "{name}: {answer:?}");
    assert!(answer.body["message"].is_string(), "{name}: {answer:?}");
}

/// The tokens every role must refuse, signed for `key` (the role's own
/// key, whose public half the server holds as `public_file`).
pub async fn forged(
    key: Key,
    public_file: &'static str,
    action: &str,
) -> Vec<(&'static str, String)> {
    let grant = || vec![detail(&[action], &[("*", None)])];
    let good = || Token::access(key.clone(), HOUR, grant());
    let alg = match &key {
        Key::Private { alg, .. } => *alg,
        _ => unreachable!("the catalogue's keys are key files"),
    };
    let tokens = [
        ("alg none", Token::access(Key::Unsigned, HOUR, grant())),
        (
            "HMAC keyed with the public key",
            Token::access(Key::HmacWithFile(public_file), HOUR, grant()),
        ),
        (
            "signed with another key",
            Token::access(Key::Fresh(alg), HOUR, grant()),
        ),
        ("expired", good().claim("exp", json!(now() - 60))),
        ("not yet valid", good().claim("nbf", json!(now() + 3600))),
        (
            "another audience",
            good().claim("aud", json!("https://other-hub.example.com/")),
        ),
        (
            "another issuer",
            good().claim("iss", json!("https://evil.example")),
        ),
        ("typ JWT", good().header("typ", json!("JWT"))),
        ("no typ", good().header("typ", Value::Null)),
        ("no exp", good().without("exp")),
        (
            "a pre-standard token without --mercure-v0",
            Token::v0(key.clone(), &["*"], &["*"]),
        ),
        (
            "the other role's key",
            Token::access(
                if action == "publish" {
                    SUBSCRIBER
                } else {
                    PUBLISHER
                },
                HOUR,
                grant(),
            ),
        ),
    ];
    let names: Vec<&'static str> = tokens.iter().map(|(name, _)| *name).collect();
    let tokens: Vec<Token> = tokens.into_iter().map(|(_, token)| token).collect();
    names.into_iter().zip(sign_all(&tokens).await).collect()
}

/// A presentation refused whatever the key: its headers and its answer.
#[derive(Debug)]
pub struct Presentation {
    /// What it is, for failure messages.
    pub name: &'static str,
    /// The request headers.
    pub headers: Vec<(&'static str, String)>,
    /// The answer it gets.
    pub want: Refusal,
}

impl Presentation {
    /// The headers as [`send`] takes them.
    pub fn headers(&self) -> Vec<(&str, &str)> {
        self.headers.iter().map(|(n, v)| (*n, v.as_str())).collect()
    }
}

/// The presentations every role must refuse; `good` is a valid token of
/// the role, `oversized` a validly signed one past the size limit.
pub fn presentations(good: &str, oversized: &str) -> Vec<Presentation> {
    let case = |name, headers, want| Presentation {
        name,
        headers,
        want,
    };
    vec![
        case("no token", vec![], NO_TOKEN),
        case(
            "not a JWT",
            vec![("authorization", bearer("not-a-jwt"))],
            BAD_REQUEST,
        ),
        case(
            "three parts that are not JSON",
            vec![("authorization", bearer("a.b.c"))],
            BAD_REQUEST,
        ),
        case(
            "oversized",
            vec![("authorization", bearer(oversized))],
            BAD_REQUEST,
        ),
        case(
            "an empty bearer",
            vec![("authorization", "Bearer ".into())],
            BAD_REQUEST,
        ),
        case(
            "another scheme",
            vec![("authorization", format!("Basic {good}"))],
            BAD_REQUEST,
        ),
        case(
            "two Authorization headers",
            vec![
                ("authorization", bearer(good)),
                ("authorization", bearer(good)),
            ],
            BAD_REQUEST,
        ),
        case(
            "a bad header with a good cookie: the header wins",
            vec![
                ("authorization", bearer("not-a-jwt")),
                ("cookie", format!("{COOKIE}={good}")),
            ],
            BAD_REQUEST,
        ),
        case(
            "RFC 6750's access_token parameter is not read",
            vec![],
            NO_TOKEN,
        ),
    ]
}

/// A token past the 8 KiB limit, validly signed with `key`.
pub async fn oversized(key: Key) -> String {
    sign(Token::access(key, HOUR, vec![]).claim("pad", json!("x".repeat(9000)))).await
}

/// A stream that holds a valid subscriber token for the whole test, past
/// its connect-time `server.state`.
pub async fn observer(server: &Tidings) -> SseClient {
    let token = sign(Token::access(
        SUBSCRIBER,
        HOUR,
        vec![detail(&["subscribe"], &[("*", None)])],
    ))
    .await;
    let mut client = SseClient::connect_with(
        &server.url("/api/events"),
        &[("authorization", &bearer(&token))],
    )
    .await;
    assert_eq!(client.status, 200);
    let state = client.next_non_heartbeat(WAIT).await.expect("server.state");
    assert_eq!(state.event, "server.state");
    client
}

/// Nothing was stored: the head is `head`, and the observer's next stored
/// event is the marker published now, right after it.
pub async fn nothing_changed(server: &Tidings, head: &str, observer: &mut SseClient) {
    assert_eq!(
        server.head().await,
        head,
        "a refused request stored an event"
    );
    let answer = send(
        Method::POST,
        &server.url("/api/publish"),
        &[("authorization", &bearer(EDITOR_TOKEN))],
        Some(&json!({"type": "marker", "data": {}})),
    )
    .await;
    assert_eq!(answer.status, 202, "{answer:?}");
    let next = observer.collect_ids(1, WAIT).await;
    let stored: Vec<_> = next.iter().filter(|e| e.id.is_some()).collect();
    assert_eq!(stored.len(), 1, "{next:?}");
    assert_eq!(stored[0].event, "marker", "{next:?}");
    assert_eq!(
        seq_of(stored[0].id.as_deref().unwrap()),
        seq_of(head) + 1,
        "{next:?}"
    );
}
