//! TLS for the end-to-end tests: self-signed certificates made with
//! `rcgen`, written where the server reads them, and clients that trust
//! exactly one of them.

use std::path::PathBuf;

/// A self-signed certificate for `127.0.0.1` and `localhost`, as PEM files
/// in a temporary folder (`cert.pem`, `key.pem`).
#[derive(Debug)]
pub struct TestCert {
    _dir: tempfile::TempDir,
    /// The certificate file.
    pub cert: PathBuf,
    /// The private key file.
    pub key: PathBuf,
    /// The certificate now in the file, PEM.
    pub pem: String,
}

impl TestCert {
    /// A new certificate and key, written to new files.
    pub fn new() -> TestCert {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut cert = TestCert {
            cert: dir.path().join("cert.pem"),
            key: dir.path().join("key.pem"),
            _dir: dir,
            pem: String::new(),
        };
        cert.renew();
        cert
    }

    /// Writes a new certificate and key over the files (the key first, as
    /// an operator's renewal would); returns the new certificate's PEM.
    pub fn renew(&mut self) -> String {
        let made = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into(), "localhost".into()])
            .expect("rcgen makes a certificate");
        std::fs::write(&self.key, made.signing_key.serialize_pem()).expect("write key");
        self.pem = made.cert.pem();
        std::fs::write(&self.cert, &self.pem).expect("write certificate");
        self.pem.clone()
    }
}

impl Default for TestCert {
    fn default() -> Self {
        TestCert::new()
    }
}

/// Which HTTP version a [`client`] speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// Whatever ALPN settles (`h2` when the server offers it).
    Negotiated,
    /// HTTP/1.1 only.
    Http1,
}

/// A client that trusts only the certificate `pem`, for API calls (20 s
/// timeout).
pub fn client(pem: &str, version: Version) -> reqwest::Client {
    builder(pem, version)
        .timeout(std::time::Duration::from_secs(20))
        .build()
        .expect("client builds")
}

/// A client for long-lived streams (no overall timeout), trusting `pem`.
pub fn stream_client(pem: &str, version: Version) -> reqwest::Client {
    builder(pem, version).build().expect("client builds")
}

fn builder(pem: &str, version: Version) -> reqwest::ClientBuilder {
    let cert = reqwest::Certificate::from_pem(pem.as_bytes()).expect("PEM certificate");
    let builder = reqwest::Client::builder().tls_certs_only([cert]);
    match version {
        Version::Negotiated => builder,
        Version::Http1 => builder.http1_only(),
    }
}
