//! The binary refuses to start, with a message naming the fix, when
//! writes would be open to a network, when tokens would travel in the
//! clear, when tokens could not be bound to this hub (no issuer or hub
//! URL), when a key does not fit its algorithms, and when CORS would hand
//! credentials to any site. A publisher key alone, behind a TLS proxy,
//! protects publishing on a network address.

use std::time::{Duration, Instant};

use reqwest::Method;
use tidings_tests::free_port;
use tidings_tests::jwt::{
    HUB_URL, ISSUER, key_file, key_flag, refused_start, send, tidings_command,
};

const SECRET: &str = "the publishers' secret, thirty-two bytes or more";

#[tokio::test]
async fn unsafe_setups_exit_with_the_fix_in_the_message() {
    let rsa = key_flag("rsa.pub.pem");
    let private = key_flag("rsa.pem");
    let pem = std::fs::read_to_string(key_file("rsa.pub.pem")).expect("key file");
    let pem = format!("--publisher-jwt-key={pem}");
    let bound = ["--jwt-issuer", ISSUER, "--hub-url", HUB_URL];
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["--listen", "0.0.0.0:0"],
            "listening on 0.0.0.0:0, which is not loopback, needs --editor-token or --publisher-jwt-key",
        ),
        (
            [
                &["--listen", "0.0.0.0:0", "--publisher-jwt-key", SECRET][..],
                &bound,
            ]
            .concat(),
            "with access tokens needs TLS: pass --tls-cert and --tls-key, or put a TLS proxy in front and pass --behind-tls-proxy",
        ),
        (
            [
                &[
                    "--listen",
                    "[::]:0",
                    "--editor-token",
                    "e",
                    "--subscriber-jwt-key",
                    SECRET,
                ][..],
                &bound,
            ]
            .concat(),
            "with access tokens needs TLS",
        ),
        (
            vec!["--publisher-jwt-key", SECRET],
            "need --jwt-issuer and --hub-url (the iss and aud every token must carry); missing: --jwt-issuer, --hub-url",
        ),
        (
            vec!["--subscriber-jwt-key", SECRET, "--jwt-issuer", ISSUER],
            "missing: --hub-url",
        ),
        (
            [&["--publisher-jwt-key", &rsa][..], &bound].concat(),
            "--publisher-jwt-key: algorithm HS256 does not fit an RSA key",
        ),
        (
            [
                &[
                    "--subscriber-jwt-key",
                    SECRET,
                    "--subscriber-jwt-alg",
                    "HS256,RS256",
                ][..],
                &bound,
            ]
            .concat(),
            "--subscriber-jwt-key: algorithm RS256 does not fit an HMAC secret",
        ),
        (
            [
                &["--publisher-jwt-key", SECRET, "--publisher-jwt-alg", "none"][..],
                &bound,
            ]
            .concat(),
            "--publisher-jwt-key: algorithm none is never accepted",
        ),
        (
            [
                &[
                    "--publisher-jwt-key",
                    &private,
                    "--publisher-jwt-alg",
                    "RS256",
                ][..],
                &bound,
            ]
            .concat(),
            "--publisher-jwt-key: this is a private key; give the hub the public key only",
        ),
        (
            [&[pem.as_str()][..], &bound].concat(),
            "--publisher-jwt-key: the secret looks like a PEM key; give a key file as @path",
        ),
        (
            [&["--publisher-jwt-key", "short"][..], &bound].concat(),
            "--publisher-jwt-key: the secret is 5 bytes; HS256 needs at least 32",
        ),
        (
            vec!["--hub-url", "/.well-known/mercure"],
            "--hub-url: hub url is not an absolute url",
        ),
        (
            vec!["--cors-origin", "https://app.example,*"],
            "--cors-origin must name origins (https://app.example), never *",
        ),
    ];
    for (args, message) in cases {
        let stderr = refused_start(&args).await;
        assert!(
            stderr.contains(message),
            "{args:?}: wanted {message:?} in:\n{stderr}"
        );
    }
}

#[tokio::test]
async fn a_publisher_key_behind_a_tls_proxy_protects_a_network_address() {
    let port = free_port().await;
    let listen = format!("0.0.0.0:{port}");
    let mut child = tidings_command()
        .args(["--listen", &listen, "--behind-tls-proxy"])
        .args([
            "--publisher-jwt-key",
            SECRET,
            "--jwt-issuer",
            ISSUER,
            "--hub-url",
            HUB_URL,
        ])
        .env("RUST_LOG", "warn")
        .spawn()
        .expect("tidings starts");
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let ready = tidings_tests::http()
            .get(format!("{base}/ready"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success());
        if ready {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "tidings did not start on {listen}"
        );
        if let Some(status) = child.try_wait().expect("wait") {
            panic!("tidings exited with {status}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // No editor token: publishing takes a token.
    let answer = send(
        Method::POST,
        &format!("{base}/api/publish"),
        &[],
        Some(&serde_json::json!({"type": "t", "data": {}})),
    )
    .await;
    assert_eq!(answer.status, 401, "{answer:?}");
    let metadata = tidings_tests::token_catalogue::METADATA;
    assert_eq!(
        answer.challenge,
        Some(format!(
            r#"Bearer realm="tidings", resource_metadata="{metadata}""#
        ))
    );
    let _ = child.kill().await;
}
