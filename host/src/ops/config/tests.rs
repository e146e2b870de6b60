use clap::CommandFactory;

use super::*;

fn refusal(args: &[&str]) -> String {
    let mut all = vec!["tidings", "--storage", "memory"];
    all.extend_from_slice(args);
    let config = Config::try_parse_from(all).expect("flags parse");
    config.validate().expect_err("refused").to_string()
}

const KEY: &[&str] = &[
    "--publisher-jwt-key",
    "a secret of at least thirty-two bytes",
];
const BOUND: &[&str] = &[
    "--jwt-issuer",
    "https://example.com",
    "--hub-url",
    "https://hub.example.com/",
];

#[test]
fn writes_and_tokens_are_never_open_to_a_network_by_accident() {
    let open = refusal(&["--listen", "0.0.0.0:8080"]);
    assert!(
        open.contains("needs --editor-token or --publisher-jwt-key"),
        "{open}"
    );

    // A publisher key protects publishing, but tokens need TLS there.
    let clear = refusal(&[&["--listen", "0.0.0.0:8080"], KEY, BOUND].concat());
    assert!(clear.contains("--behind-tls-proxy"), "{clear}");
    let subscriber = [&["--listen", "[::]:8080", "--editor-token", "e"], BOUND].concat();
    let subscriber = [subscriber.as_slice(), &["--subscriber-jwt-key", "k"]].concat();
    assert!(refusal(&subscriber).contains("--behind-tls-proxy"));

    let behind = [
        &["--listen", "0.0.0.0:8080", "--behind-tls-proxy"],
        KEY,
        BOUND,
    ]
    .concat();
    let mut all = vec!["tidings"];
    all.extend_from_slice(&behind);
    Config::try_parse_from(all)
        .unwrap()
        .validate()
        .expect("TLS in front");

    // TLS served by the hub itself does as well.
    let served = [
        &[
            "--listen",
            "0.0.0.0:8080",
            "--tls-cert",
            "c.pem",
            "--tls-key",
            "k.pem",
        ],
        KEY,
        BOUND,
    ]
    .concat();
    let mut all = vec!["tidings"];
    all.extend_from_slice(&served);
    Config::try_parse_from(all)
        .unwrap()
        .validate()
        .expect("TLS served");
}

#[test]
fn tls_needs_both_files_and_makes_the_hub_url_https() {
    for half in [["--tls-cert", "c.pem"], ["--tls-key", "k.pem"]] {
        let err = Config::try_parse_from([&["tidings"][..], &half].concat()).unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::MissingRequiredArgument);
    }
    let config = Config::try_parse_from([
        "tidings",
        "--listen",
        "127.0.0.1:8443",
        "--tls-cert",
        "c.pem",
        "--tls-key",
        "k.pem",
    ])
    .unwrap();
    assert_eq!(
        config.hub().to_string(),
        "https://127.0.0.1:8443/.well-known/mercure"
    );
}

#[test]
fn a_key_needs_an_issuer_and_a_hub_url() {
    for (flags, missing) in [
        (vec![], "missing: --jwt-issuer, --hub-url"),
        (
            vec!["--hub-url", "https://hub.example.com/"],
            "missing: --jwt-issuer",
        ),
        (
            vec!["--jwt-issuer", "https://example.com"],
            "missing: --hub-url",
        ),
    ] {
        let refused = refusal(&[KEY, &flags].concat());
        assert!(refused.ends_with(missing), "{refused}");
    }
    let relative = refusal(&["--hub-url", "/.well-known/mercure"]);
    assert!(relative.starts_with("--hub-url: "), "{relative}");
    assert!(refusal(&["--publisher-jwt-key", ""]).contains("must not be empty"));
}

#[test]
fn credentials_go_to_listed_origins_under_a_proper_cookie_name() {
    let star = refusal(&["--cors-origin", "https://app.example,*"]);
    assert!(star.contains("never *"), "{star}");
    for name in ["", "a b", "a;b", "a=b", "caf\u{e9}"] {
        let refused = refusal(&["--jwt-cookie", name]);
        assert!(
            refused.contains("is not a cookie name"),
            "{name:?}: {refused}"
        );
    }
}

#[test]
fn token_flags_default_as_documented() {
    let config = Config::for_tests();
    assert_eq!(config.publisher_jwt_alg, ["HS256"]);
    assert_eq!(config.subscriber_jwt_alg, ["HS256"]);
    assert_eq!(config.jwt_leeway, 0);
    assert_eq!(config.jwt_cookie, "__Secure-mercure_access_token");
    assert!(!config.mercure_v0 && !config.anonymous && !config.behind_tls_proxy);
    let config = Config::try_parse_from([
        "tidings",
        "--subscriber-jwt-alg",
        "ES256,EdDSA",
        "--subscriber-jwt-alg",
        "RS256",
    ])
    .unwrap();
    assert_eq!(config.subscriber_jwt_alg, ["ES256", "EdDSA", "RS256"]);
}

#[test]
fn sizes_take_plain_bytes_and_units() {
    for (text, bytes) in [
        ("0", 0),
        ("65536", 65536),
        ("64MiB", 64 << 20),
        ("64 MiB", 64 << 20),
        ("64mib", 64 << 20),
        ("64KiB", 64 << 10),
        ("1GiB", 1 << 30),
        ("64KB", 64_000),
        ("1GB", 1_000_000_000),
        ("512B", 512),
        ("1.5MiB", 3 << 19),
    ] {
        assert_eq!(byte_size(text), Ok(bytes), "{text}");
    }
}

#[test]
fn sizes_refuse_other_spellings() {
    for text in [
        "", "MiB", "-1", "64MiBs", "64 MiB ", " 64MiB", "64XiB", "1.2.3MiB", "0x40", "64 MiB 2",
        "20EiB",
    ] {
        assert!(byte_size(text).is_err(), "{text:?} accepted");
    }
}

#[test]
fn size_flags_parse_units_and_default_as_documented() {
    let defaults = Config::for_tests();
    assert_eq!(defaults.history_bytes, 64 << 20);
    assert_eq!(defaults.max_body_bytes, 8 << 20);
    assert_eq!(defaults.max_event_bytes, 64 << 10);

    let config = Config::try_parse_from([
        "tidings",
        "--history-bytes",
        "1GiB",
        "--max-body-bytes",
        "2MB",
        "--max-event-bytes",
        "1024",
    ])
    .expect("sizes with units");
    assert_eq!(config.history_bytes, 1 << 30);
    assert_eq!(config.max_body_bytes, 2_000_000);
    assert_eq!(config.max_event_bytes, 1024);

    let refused = Config::try_parse_from(["tidings", "--max-event-bytes", "64 kilobytes"])
        .expect_err("an unknown unit");
    assert!(
        refused.to_string().contains("--max-event-bytes"),
        "{refused}"
    );

    // The defaults read as the README's configuration table writes them
    // (clap quotes a value with a space, so it can be pasted as is).
    let help = Config::command().render_long_help().to_string();
    for default in [
        r#"[default: "64 MiB"]"#,
        r#"[default: "8 MiB"]"#,
        r#"[default: "64 KiB"]"#,
    ] {
        assert!(help.contains(default), "{default} not in:\n{help}");
    }
}

#[test]
fn the_two_runtimes_share_the_cores_without_outnumbering_them() {
    let workers = |args: &[&str], cores: usize| {
        let mut all = vec!["tidings", "--storage", "memory"];
        all.extend_from_slice(args);
        let w = Config::try_parse_from(all)
            .expect("flags parse")
            .workers_on(cores);
        (w.requests, w.streams)
    };
    assert_eq!(workers(&[], 1), (1, 1));
    assert_eq!(workers(&[], 2), (1, 1));
    assert_eq!(workers(&[], 8), (1, 7));
    assert_eq!(workers(&["--stream-workers", "4"], 8), (4, 4));
    assert_eq!(workers(&["--stream-workers", "8"], 8), (1, 8));
    assert_eq!(workers(&["--request-workers", "3"], 8), (3, 7));
    assert_eq!(
        workers(&["--request-workers", "2", "--stream-workers", "2"], 2),
        (2, 2)
    );
    for zero in ["--request-workers", "--stream-workers"] {
        let parsed = Config::try_parse_from(["tidings", zero, "0"]);
        assert!(parsed.is_err(), "{zero} 0 is refused");
    }
}
