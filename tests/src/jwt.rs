//! Access tokens for the end-to-end tests, signed by PyJWT — another
//! implementation than the server's jsonwebtoken, so that a shared
//! misreading of the JWS rules cannot pass unnoticed — and forged by hand
//! where no library would sign (`alg: none`, HMAC keyed with a public key).
//!
//! A batch of tokens is one Python process ([`sign_all`]). The keys are the
//! throwaway ones in `host/tests/keys/`; [`Key::Fresh`] makes a new key
//! pair in the signing process, for "signed with another key".
//!
//! Also here: [`send`], a request with any headers whose answer keeps the
//! `WWW-Authenticate` challenge, and [`tidings_command`] and
//! [`refused_start`] for flags the harness's `Tidings` does not take or
//! the server must refuse.

use std::process::Stdio;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value, json};

/// The `type` of a Mercure authorization detail.
pub const DETAIL_TYPE: &str = "https://mercure.rocks/authorization-detail";

/// The issuer the test servers are started with.
pub const ISSUER: &str = "https://example.com";

/// The hub URL (the audience) the test servers are started with.
pub const HUB_URL: &str = "https://hub.example.com/.well-known/mercure";

/// A path in `host/tests/keys/`.
pub fn key_file(name: &str) -> String {
    format!("{}/../host/tests/keys/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// `@<path>` of a key in `host/tests/keys/`, as the key flags take it.
pub fn key_flag(name: &str) -> String {
    format!("@{}", key_file(name))
}

/// How a token is signed.
#[derive(Debug, Clone)]
pub enum Key {
    /// HS256 with this secret.
    Secret(String),
    /// A private key in `host/tests/keys/` with its algorithm (`RS256`
    /// with `rsa.pem`, `ES256` with `ec.pem`, `EdDSA` with `ed25519.pem`).
    Private {
        /// The file name.
        file: &'static str,
        /// The JWA name.
        alg: &'static str,
    },
    /// A key pair made for this token alone, for `alg` (`RS256`, `ES256`,
    /// `EdDSA`): right algorithm, wrong key.
    Fresh(&'static str),
    /// HS256 keyed with the bytes of a file in `host/tests/keys/` — the
    /// key-confusion forgery with a public key, signed by hand because
    /// PyJWT refuses to.
    HmacWithFile(&'static str),
    /// `alg: none` and an empty signature, by hand.
    Unsigned,
}

/// One token to sign: its key, header members besides `alg` (a `typ` of
/// `null` leaves `typ` out), and claims.
#[derive(Debug, Clone)]
pub struct Token {
    key: Key,
    header: Map<String, Value>,
    claims: Value,
}

/// Seconds since the epoch, now.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs()
}

/// A Mercure authorization detail granting `actions` on `topics`, each a
/// `(match, match_type)` (`None`: the default, exact).
pub fn detail(actions: &[&str], topics: &[(&str, Option<&str>)]) -> Value {
    let topics: Vec<Value> = topics
        .iter()
        .map(|(pattern, kind)| match kind {
            Some(kind) => json!({"match": pattern, "match_type": kind}),
            None => json!({"match": pattern}),
        })
        .collect();
    json!({"type": DETAIL_TYPE, "actions": actions, "topics": topics})
}

impl Token {
    /// An RFC 9068 access token (`typ: at+jwt`) with every claim RFC 9068
    /// requires — `iss` [`ISSUER`], `aud` [`HUB_URL`], `sub`, `client_id`,
    /// `iat`, `exp` in `lifetime`, `jti` — and `details` as its
    /// `authorization_details`.
    pub fn access(key: Key, lifetime: Duration, details: Vec<Value>) -> Token {
        let now = now();
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let jti = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Token {
            key,
            header: Map::from_iter([("typ".to_owned(), json!("at+jwt"))]),
            claims: json!({
                "iss": ISSUER,
                "aud": HUB_URL,
                "sub": "urn:example:someone",
                "client_id": ISSUER,
                "iat": now,
                "exp": now + lifetime.as_secs(),
                "jti": format!("urn:example:token:{}:{jti}", std::process::id()),
                "authorization_details": details,
            }),
        }
    }

    /// A pre-standard token (Mercure v0.x): `typ: JWT`, `iss` [`ISSUER`],
    /// no `aud` and no `exp`, and a `mercure` claim with these selectors.
    pub fn v0(key: Key, publish: &[&str], subscribe: &[&str]) -> Token {
        Token {
            key,
            header: Map::from_iter([("typ".to_owned(), json!("JWT"))]),
            claims: json!({
                "iss": ISSUER,
                "mercure": {"publish": publish, "subscribe": subscribe},
            }),
        }
    }

    /// The token with header member `name` set to `value` (`null` leaves
    /// `typ` out).
    pub fn header(mut self, name: &str, value: Value) -> Token {
        self.header.insert(name.to_owned(), value);
        self
    }

    /// The token with claim `name` set to `value`.
    pub fn claim(mut self, name: &str, value: Value) -> Token {
        self.claims[name] = value;
        self
    }

    /// The token without claim `name`.
    pub fn without(mut self, name: &str) -> Token {
        if let Some(claims) = self.claims.as_object_mut() {
            claims.remove(name);
        }
        self
    }

    fn request(&self) -> Value {
        let (alg, key) = match &self.key {
            Key::Secret(secret) => ("HS256", json!({"kind": "secret", "secret": secret})),
            Key::Private { file, alg } => (*alg, json!({"kind": "pem", "path": key_file(file)})),
            Key::Fresh(alg) => (*alg, json!({"kind": "fresh"})),
            Key::HmacWithFile(file) => (
                "HS256",
                json!({"kind": "hmac_file", "path": key_file(file)}),
            ),
            Key::Unsigned => ("none", json!({"kind": "none"})),
        };
        json!({"alg": alg, "key": key, "header": self.header, "claims": self.claims})
    }
}

/// Signs `tokens` in one Python process; returns them in order.
pub async fn sign_all(tokens: &[Token]) -> Vec<String> {
    let requests: Vec<Value> = tokens.iter().map(Token::request).collect();
    let input = Value::from(requests).to_string();
    let out = crate::run_python(&["-c", SIGN], input.as_bytes()).await;
    assert!(
        out.status.success(),
        "signing failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let signed: Vec<String> = serde_json::from_slice(&out.stdout).expect("a JSON list of tokens");
    assert_eq!(signed.len(), tokens.len());
    signed
}

/// Signs one token.
pub async fn sign(token: Token) -> String {
    sign_all(&[token]).await.remove(0)
}

/// `Bearer <token>`.
pub fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

/// An answer: its status, its `WWW-Authenticate` challenge, its JSON body
/// (`null` when not JSON).
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// The status code.
    pub status: u16,
    /// The `WWW-Authenticate` value, if any.
    pub challenge: Option<String>,
    /// The body as JSON.
    pub body: Value,
}

/// Sends `method url` with `headers` (repeated names are sent repeated)
/// and `body` as JSON, if any; for a stream, reads no further than the
/// head unless it is an error.
pub async fn send(
    method: reqwest::Method,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<&Value>,
) -> Answer {
    let mut req = crate::http().request(method, url);
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    if let Some(body) = body {
        req = req.json(body);
    }
    let resp = req.send().await.expect("request");
    let status = resp.status().as_u16();
    let challenge = resp
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().expect("an ASCII challenge").to_owned());
    let body = if status == 200 && crate::content_type(&resp).starts_with("text/event-stream") {
        Value::Null
    } else {
        resp.json().await.unwrap_or(Value::Null)
    };
    Answer {
        status,
        challenge,
        body,
    }
}

/// A command for the `tidings` binary with memory storage, for flags
/// [`Tidings::start`](crate::Tidings::start) cannot take (no editor token,
/// a non-loopback address); later flags win.
pub fn tidings_command() -> tokio::process::Command {
    let mut command = tokio::process::Command::new(crate::server::tidings_bin());
    command
        .args(["--storage", "memory"])
        .stdin(Stdio::null())
        .kill_on_drop(true);
    command
}

/// Runs `tidings` with memory storage and `args` (later flags win) and
/// expects it to refuse to start: it must exit non-zero within 20 s.
/// Returns what it wrote to stderr.
pub async fn refused_start(args: &[&str]) -> String {
    let child = tidings_command()
        .args(args)
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("tidings starts");
    let out = tokio::time::timeout(Duration::from_secs(20), child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("tidings {args:?} did not exit: it should refuse to start"))
        .expect("wait");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        !out.status.success(),
        "tidings {args:?} exited with {}: {stderr}",
        out.status
    );
    stderr
}

/// Reads a JSON list of requests on stdin, writes the JSON list of tokens.
const SIGN: &str = r#"
import base64, hashlib, hmac, json, sys
import jwt
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

def part(obj):
    return b64(json.dumps(obj, separators=(",", ":")).encode())

def fresh(alg):
    if alg.startswith(("RS", "PS")):
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if alg == "ES256":
        return ec.generate_private_key(ec.SECP256R1())
    if alg == "EdDSA":
        return ed25519.Ed25519PrivateKey.generate()
    raise ValueError(alg)

tokens = []
for req in json.load(sys.stdin):
    alg, key, header, claims = req["alg"], req["key"], req["header"], req["claims"]
    kind = key["kind"]
    if kind in ("secret", "pem", "fresh"):
        secret = {
            "secret": lambda: key.get("secret"),
            "pem": lambda: open(key["path"]).read(),
            "fresh": lambda: fresh(alg),
        }[kind]()
        tokens.append(jwt.encode(claims, secret, algorithm=alg, headers=header))
        continue
    header = {k: v for k, v in {"alg": alg, **header}.items() if v is not None}
    signing_input = part(header) + "." + part(claims)
    if kind == "none":
        signature = ""
    else:
        mac_key = open(key["path"], "rb").read()
        signature = b64(hmac.new(mac_key, signing_input.encode(), hashlib.sha256).digest())
    tokens.append(signing_input + "." + signature)
json.dump(tokens, sys.stdout)
"#;
