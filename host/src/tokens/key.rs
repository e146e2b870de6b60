//! The verification key and the algorithms it may be used with.

use std::path::{Path, PathBuf};

use jsonwebtoken::crypto::CryptoProvider;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey, DecodingKeyKind};

/// The algorithms a [`Verifier`] accepts when none are named.
pub const DEFAULT_ALGORITHMS: &[&str] = &["HS256"];

/// Every algorithm name this module knows, as JWA spells it (case matters).
const ALGORITHMS: &[(&str, Algorithm)] = &[
    ("HS256", Algorithm::HS256),
    ("HS384", Algorithm::HS384),
    ("HS512", Algorithm::HS512),
    ("RS256", Algorithm::RS256),
    ("RS384", Algorithm::RS384),
    ("RS512", Algorithm::RS512),
    ("PS256", Algorithm::PS256),
    ("PS384", Algorithm::PS384),
    ("PS512", Algorithm::PS512),
    ("ES256", Algorithm::ES256),
    ("ES384", Algorithm::ES384),
    ("EdDSA", Algorithm::EdDSA),
];

/// RFC 7518 §4.2: RSA keys of 2048 bits or more MUST be used.
const MIN_RSA_BITS: usize = 2048;

/// Why a [`Verifier`] could not be made. Raised at start-up, so the messages
/// name the fix.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The key file could not be read.
    #[error("cannot read key file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
    /// `none` was named: unsigned tokens are never accepted.
    #[error("algorithm none is never accepted")]
    NoneAlgorithm,
    /// A name that is not a JWS signature algorithm this hub implements.
    #[error(
        "unknown algorithm {0:?} (known: HS256 HS384 HS512 RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 EdDSA)"
    )]
    UnknownAlgorithm(String),
    /// An algorithm of another family than the key (key confusion).
    #[error("algorithm {algorithm} does not fit {key}; allow only algorithms of the key's family")]
    KeyConfusion {
        /// The algorithm named.
        algorithm: &'static str,
        /// What the key is.
        key: &'static str,
    },
    /// An HMAC secret shorter than the hash it keys (RFC 7518 §3.2).
    #[error("the secret is {len} bytes; {algorithm} needs at least {min}")]
    WeakSecret {
        /// The secret's length.
        len: usize,
        /// The algorithm that needs more.
        algorithm: &'static str,
        /// The bytes it needs.
        min: usize,
    },
    /// A secret that is really a PEM key: HMAC with a public key as the
    /// secret is the classic key-confusion forgery.
    #[error("the secret looks like a PEM key; give a key file as @path")]
    SecretLooksLikeKey,
    /// A private key where the public key belongs.
    #[error("this is a private key; give the hub the public key only")]
    PrivateKey,
    /// A certificate where a bare public key belongs.
    #[error("this is a certificate; extract its key (openssl x509 -pubkey -noout)")]
    Certificate,
    /// The key file is neither PEM nor JSON.
    #[error("the key file is neither a PEM public key nor a JWK")]
    UnknownKeyFormat,
    /// The PEM block holds no usable RSA, EC or Ed25519 public key.
    #[error("the PEM file holds no RSA, EC or Ed25519 public key")]
    BadPem,
    /// The JWK does not parse or is not for signatures.
    #[error("unusable JWK: {0}")]
    BadJwk(String),
    /// The JWK's own `alg` differs from an allowed algorithm.
    #[error("the JWK is for {jwk}, not {algorithm}")]
    JwkAlgorithm {
        /// The JWK's `alg`.
        jwk: String,
        /// The allowed algorithm that differs.
        algorithm: &'static str,
    },
    /// An RSA key below 2048 bits (RFC 7518 §4.2).
    #[error("the RSA key has {0} bits; at least 2048 are required")]
    WeakRsaKey(usize),
    /// The key cannot verify with an allowed algorithm (a P-384 key with
    /// ES256, say).
    #[error("the key cannot be used with {0}")]
    Unusable(&'static str),
    /// The build has no (or two) jsonwebtoken crypto backends.
    #[error("no cryptographic backend for JWT is available")]
    NoCryptoProvider,
}

/// A verification key with the algorithms it may be used with.
///
/// The algorithm is never chosen by the token: a token whose `alg` is not in
/// [`algorithms`](Self::algorithms) is refused before any cryptography runs,
/// and construction refuses an allowlist that does not fit the key (an HMAC
/// secret with `RS256`, or an RSA key with `HS256`), so one key is only ever
/// used one way. The token's `kid`, `jwk`, `jku` and `x5u` are ignored: the
/// key comes from configuration only.
#[derive(Clone)]
pub struct Verifier {
    pub(super) key: DecodingKey,
    algorithms: Vec<(&'static str, Algorithm)>,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("key", &family_name(self.key.family()))
            .field("algorithms", &self.algorithms().collect::<Vec<_>>())
            .finish()
    }
}

impl Verifier {
    /// Builds a verifier from a flag value: `@path` reads a PEM public key
    /// (RSA, EC or Ed25519) or a JWK (a JSON object, or a set holding
    /// exactly one key) from `path`; anything else is an HMAC secret, used
    /// as its UTF-8 bytes (so a secret cannot start with `@`; keep such a
    /// secret in a file as an `oct` JWK). An empty `algorithms` means
    /// [`DEFAULT_ALGORITHMS`].
    ///
    /// ```
    /// use tidings_host::tokens::{KeyError, Verifier};
    ///
    /// let secret = "a secret of at least thirty-two bytes";
    /// assert!(Verifier::from_flag(secret, &["HS256"]).is_ok());
    /// // An HMAC secret cannot be used with an RSA algorithm.
    /// assert!(matches!(
    ///     Verifier::from_flag(secret, &["RS256"]),
    ///     Err(KeyError::KeyConfusion { .. })
    /// ));
    /// assert!(matches!(Verifier::from_flag(secret, &["none"]), Err(KeyError::NoneAlgorithm)));
    /// ```
    pub fn from_flag(value: &str, algorithms: &[impl AsRef<str>]) -> Result<Self, KeyError> {
        match value.strip_prefix('@') {
            Some(path) => Self::from_file(Path::new(path), algorithms),
            None => Self::from_secret(value.as_bytes(), algorithms),
        }
    }

    /// Builds a verifier from a PEM or JWK file (see [`from_flag`](Self::from_flag)).
    pub fn from_file(path: &Path, algorithms: &[impl AsRef<str>]) -> Result<Self, KeyError> {
        let bytes = std::fs::read(path).map_err(|source| KeyError::Io {
            path: path.to_owned(),
            source,
        })?;
        let text = String::from_utf8_lossy(&bytes);
        let text = text.trim_start();
        if text.starts_with('{') {
            Self::from_jwk(text, algorithms)
        } else if text.starts_with("-----BEGIN") {
            Self::from_pem(text.as_bytes(), algorithms)
        } else {
            Err(KeyError::UnknownKeyFormat)
        }
    }

    /// Builds an HMAC verifier. The secret must be at least as long as the
    /// hash of every allowed algorithm (32 bytes for HS256).
    pub fn from_secret(secret: &[u8], algorithms: &[impl AsRef<str>]) -> Result<Self, KeyError> {
        if secret.trim_ascii_start().starts_with(b"-----BEGIN") {
            return Err(KeyError::SecretLooksLikeKey);
        }
        let algorithms = parse_algorithms(algorithms)?;
        check_family(AlgorithmFamily::Hmac, &algorithms)?;
        for &(name, alg) in &algorithms {
            let min = match alg {
                Algorithm::HS384 => 48,
                Algorithm::HS512 => 64,
                _ => 32,
            };
            if secret.len() < min {
                return Err(KeyError::WeakSecret {
                    len: secret.len(),
                    algorithm: name,
                    min,
                });
            }
        }
        let key = DecodingKey::from_secret(secret).map_err(|_| KeyError::WeakSecret {
            len: 0,
            algorithm: algorithms[0].0,
            min: 32,
        })?;
        Self::finish(key, algorithms)
    }

    /// Builds a verifier from a PEM public key: RSA (`PUBLIC KEY` or `RSA
    /// PUBLIC KEY`), EC (P-256 or P-384) or Ed25519.
    pub fn from_pem(pem: &[u8], algorithms: &[impl AsRef<str>]) -> Result<Self, KeyError> {
        let text = String::from_utf8_lossy(pem);
        let label = text
            .lines()
            .find_map(|line| line.trim().strip_prefix("-----BEGIN "))
            .and_then(|rest| rest.strip_suffix("-----"))
            .ok_or(KeyError::BadPem)?;
        if label.contains("PRIVATE KEY") {
            return Err(KeyError::PrivateKey);
        }
        if label.contains("CERTIFICATE") {
            return Err(KeyError::Certificate);
        }
        let key = DecodingKey::from_rsa_pem(pem)
            .or_else(|_| DecodingKey::from_ec_pem(pem))
            .or_else(|_| DecodingKey::from_ed_pem(pem))
            .map_err(|_| KeyError::BadPem)?;
        let algorithms = parse_algorithms(algorithms)?;
        check_family(key.family(), &algorithms)?;
        Self::finish(key, algorithms)
    }

    /// Builds a verifier from a JWK (JSON), or a JWK set holding exactly
    /// one key. A JWK with an `alg` may only be used with that algorithm;
    /// one with `use: enc`, or holding private parts, is refused.
    pub fn from_jwk(json: &str, algorithms: &[impl AsRef<str>]) -> Result<Self, KeyError> {
        let value: serde_json::Value =
            serde_json::from_str(json).map_err(|e| KeyError::BadJwk(e.to_string()))?;
        let value = match value.get("keys") {
            Some(serde_json::Value::Array(keys)) if keys.len() == 1 => keys[0].clone(),
            Some(serde_json::Value::Array(keys)) => {
                return Err(KeyError::BadJwk(format!(
                    "a set of {} keys; give exactly one",
                    keys.len()
                )));
            }
            Some(_) => return Err(KeyError::BadJwk("keys is not an array".into())),
            None => value,
        };
        let private = ["d", "p", "q", "dp", "dq", "qi"];
        if private.iter().any(|part| value.get(part).is_some()) {
            return Err(KeyError::PrivateKey);
        }
        let jwk: Jwk =
            serde_json::from_value(value).map_err(|e| KeyError::BadJwk(e.to_string()))?;
        if matches!(jwk.common.public_key_use, Some(PublicKeyUse::Encryption)) {
            return Err(KeyError::BadJwk("it is for encryption (use: enc)".into()));
        }
        if let AlgorithmParameters::OctetKeyPair(okp) = &jwk.algorithm
            && okp.curve != EllipticCurve::Ed25519
        {
            return Err(KeyError::BadJwk(
                "only the Ed25519 curve is supported".into(),
            ));
        }
        let key = DecodingKey::from_jwk(&jwk).map_err(|e| KeyError::BadJwk(e.to_string()))?;
        let algorithms = parse_algorithms(algorithms)?;
        check_family(key.family(), &algorithms)?;
        if let Some(jwk_alg) = jwk.common.key_algorithm {
            for &(name, alg) in &algorithms {
                if KeyAlgorithm::from(alg) != jwk_alg {
                    return Err(KeyError::JwkAlgorithm {
                        jwk: format!("{jwk_alg:?}"),
                        algorithm: name,
                    });
                }
            }
        }
        if key.family() == AlgorithmFamily::Hmac {
            let secret = key.try_get_as_bytes().unwrap_or_default();
            return Self::from_secret(secret, &names(&algorithms));
        }
        Self::finish(key, algorithms)
    }

    /// The allowed algorithms, by JWA name.
    pub fn algorithms(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.algorithms.iter().map(|(name, _)| *name)
    }

    /// The allowed algorithm named `alg` (the token's header), if any.
    pub(super) fn allowed(&self, alg: &str) -> Option<Algorithm> {
        self.algorithms
            .iter()
            .find(|(name, _)| *name == alg)
            .map(|(_, alg)| *alg)
    }

    /// Checks that the key really works with every allowed algorithm, so a
    /// bad key fails at start-up rather than on every request.
    fn finish(
        key: DecodingKey,
        algorithms: Vec<(&'static str, Algorithm)>,
    ) -> Result<Self, KeyError> {
        let provider = CryptoProvider::try_get_default().ok_or(KeyError::NoCryptoProvider)?;
        match (key.family(), key.kind()) {
            (AlgorithmFamily::Rsa, kind) => {
                let modulus = match kind {
                    DecodingKeyKind::RsaModulusExponent { n, .. } => n.clone(),
                    DecodingKeyKind::SecretOrDer(der) => {
                        (provider.key_utils.rsa_pub_components_from_public_key)(der)
                            .map_err(|_| KeyError::BadPem)?
                            .0
                    }
                };
                let bits = bit_length(&modulus);
                if bits < MIN_RSA_BITS {
                    return Err(KeyError::WeakRsaKey(bits));
                }
            }
            // The Ed25519 verifier slices the first 32 bytes without a
            // length check: refuse a short key here instead of panicking.
            (AlgorithmFamily::Ed, DecodingKeyKind::SecretOrDer(bytes)) if bytes.len() != 32 => {
                return Err(KeyError::Unusable("EdDSA"));
            }
            _ => {}
        }
        for &(name, alg) in &algorithms {
            (provider.verifier_factory)(&alg, &key).map_err(|_| KeyError::Unusable(name))?;
        }
        Ok(Self { key, algorithms })
    }
}

/// Parses algorithm names (an empty list means [`DEFAULT_ALGORITHMS`]),
/// without duplicates.
fn parse_algorithms(names: &[impl AsRef<str>]) -> Result<Vec<(&'static str, Algorithm)>, KeyError> {
    let names: Vec<&str> = if names.is_empty() {
        DEFAULT_ALGORITHMS.to_vec()
    } else {
        names.iter().map(|name| name.as_ref().trim()).collect()
    };
    let mut parsed = Vec::new();
    for name in names {
        if name.eq_ignore_ascii_case("none") {
            return Err(KeyError::NoneAlgorithm);
        }
        let known = ALGORITHMS
            .iter()
            .find(|(known, _)| *known == name)
            .ok_or_else(|| KeyError::UnknownAlgorithm(name.to_owned()))?;
        if !parsed.contains(known) {
            parsed.push(*known);
        }
    }
    Ok(parsed)
}

fn names(algorithms: &[(&'static str, Algorithm)]) -> Vec<&'static str> {
    algorithms.iter().map(|(name, _)| *name).collect()
}

fn check_family(
    family: AlgorithmFamily,
    algorithms: &[(&'static str, Algorithm)],
) -> Result<(), KeyError> {
    match algorithms.iter().find(|(_, alg)| alg.family() != family) {
        Some(&(name, _)) => Err(KeyError::KeyConfusion {
            algorithm: name,
            key: family_name(family),
        }),
        None => Ok(()),
    }
}

fn family_name(family: AlgorithmFamily) -> &'static str {
    match family {
        AlgorithmFamily::Hmac => "an HMAC secret",
        AlgorithmFamily::Rsa => "an RSA key",
        AlgorithmFamily::Ec => "an EC key",
        AlgorithmFamily::Ed => "an Ed25519 key",
    }
}

/// The bit length of a big-endian unsigned integer.
fn bit_length(bytes: &[u8]) -> usize {
    match bytes.iter().position(|&b| b != 0) {
        Some(first) => (bytes.len() - first - 1) * 8 + (8 - bytes[first].leading_zeros() as usize),
        None => 0,
    }
}
