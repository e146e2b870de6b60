//! Keys and algorithms: families, allowlists, weak or misplaced keys, PEM
//! and JWK public keys.

use super::*;

#[test]
fn an_hmac_token_keyed_with_the_rsa_public_key_is_refused() {
    let rsa = Verifier::from_pem(RSA_PUB, &["RS256"]).unwrap();
    let forged = sign(
        Algorithm::HS256,
        &hmac_key(RSA_PUB),
        Some("at+jwt"),
        &claims(),
    );
    let err = validate(&rsa, &rules(), &forged, NOW).unwrap_err();
    assert_eq!(err, TokenError::AlgorithmNotAllowed("HS256".into()));
    // Nor can the verifier be built to accept it.
    let mixed = Verifier::from_pem(RSA_PUB, &["RS256", "HS256"]).unwrap_err();
    assert!(
        matches!(
            mixed,
            KeyError::KeyConfusion {
                algorithm: "HS256",
                ..
            }
        ),
        "{mixed}"
    );
}

#[test]
fn key_and_algorithm_families_must_match() {
    let err = Verifier::from_flag(SECRET, &["RS256"]).unwrap_err();
    assert!(matches!(
        err,
        KeyError::KeyConfusion {
            algorithm: "RS256",
            key: "an HMAC secret"
        }
    ));
    let err = Verifier::from_pem(EC_PUB, &["EdDSA"]).unwrap_err();
    assert!(matches!(err, KeyError::KeyConfusion { .. }));
    // The default allowlist is HS256, which no public key fits.
    let err = Verifier::from_pem(ED_PUB, &[] as &[&str]).unwrap_err();
    assert!(matches!(
        err,
        KeyError::KeyConfusion {
            algorithm: "HS256",
            ..
        }
    ));
    let pem = String::from_utf8(RSA_PUB.to_vec()).unwrap();
    assert!(matches!(
        Verifier::from_flag(&pem, &["HS256"]),
        Err(KeyError::SecretLooksLikeKey)
    ));
    // A P-384 key is an EC key, but not one ES256 can use.
    assert!(matches!(
        Verifier::from_pem(EC_384_PUB, &["ES256"]),
        Err(KeyError::Unusable("ES256"))
    ));
    assert!(Verifier::from_pem(EC_384_PUB, &["ES384"]).is_ok());
}

#[test]
fn algorithm_lists_are_explicit() {
    assert!(matches!(
        Verifier::from_flag(SECRET, &["none"]),
        Err(KeyError::NoneAlgorithm)
    ));
    assert!(matches!(
        Verifier::from_flag(SECRET, &["HS256", "None"]),
        Err(KeyError::NoneAlgorithm)
    ));
    assert!(matches!(
        Verifier::from_flag(SECRET, &["hs256"]),
        Err(KeyError::UnknownAlgorithm(_))
    ));
    let verifier = Verifier::from_flag(SECRET, &[] as &[&str]).unwrap();
    assert_eq!(
        verifier.algorithms().collect::<Vec<_>>(),
        DEFAULT_ALGORITHMS
    );
    // An allowed family does not mean every algorithm of it is allowed.
    let rs384 = sign(
        Algorithm::RS384,
        &EncodingKey::from_rsa_pem(RSA).unwrap(),
        Some("at+jwt"),
        &claims(),
    );
    let rsa = Verifier::from_pem(RSA_PUB, &["RS256"]).unwrap();
    let err = validate(&rsa, &rules(), &rs384, NOW).unwrap_err();
    assert_eq!(err, TokenError::AlgorithmNotAllowed("RS384".into()));
}

#[test]
fn weak_or_misplaced_keys_are_refused() {
    let err = Verifier::from_flag("short secret", &["HS256"]).unwrap_err();
    assert!(
        matches!(
            err,
            KeyError::WeakSecret {
                len: 12,
                min: 32,
                ..
            }
        ),
        "{err}"
    );
    let err = Verifier::from_flag(SECRET, &["HS256", "HS512"]).unwrap_err();
    assert!(
        matches!(
            err,
            KeyError::WeakSecret {
                algorithm: "HS512",
                min: 64,
                ..
            }
        ),
        "{err}"
    );
    assert!(matches!(
        Verifier::from_pem(RSA, &["RS256"]),
        Err(KeyError::PrivateKey)
    ));
    assert!(matches!(
        Verifier::from_pem(RSA_1024_PUB, &["RS256"]),
        Err(KeyError::WeakRsaKey(1024))
    ));
    assert!(matches!(
        Verifier::from_pem(
            b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
            &["RS256"]
        ),
        Err(KeyError::BadPem)
    ));
    let private_jwk = r#"{"kty":"EC","crv":"P-256","x":"AA","y":"AA","d":"AA"}"#;
    assert!(matches!(
        Verifier::from_jwk(private_jwk, &["ES256"]),
        Err(KeyError::PrivateKey)
    ));
    let short_ed = r#"{"kty":"OKP","crv":"Ed25519","x":"AAAA"}"#;
    assert!(matches!(
        Verifier::from_jwk(short_ed, &["EdDSA"]),
        Err(KeyError::Unusable("EdDSA"))
    ));
    assert!(matches!(
        Verifier::from_jwk(RSA_JWK, &["RS512"]),
        Err(KeyError::JwkAlgorithm { .. })
    ));
    let set = format!(r#"{{"keys": [{EC_JWK}, {EC_JWK}]}}"#);
    assert!(matches!(
        Verifier::from_jwk(&set, &["ES256"]),
        Err(KeyError::BadJwk(_))
    ));
    assert!(matches!(
        Verifier::from_flag("@/nonexistent/key.pem", &["RS256"]),
        Err(KeyError::Io { .. })
    ));
}

#[test]
fn public_key_tokens_verify_with_pem_and_jwk_keys() {
    let keys = env!("CARGO_MANIFEST_DIR").to_owned() + "/tests/keys";
    let cases = [
        (
            Algorithm::RS256,
            EncodingKey::from_rsa_pem(RSA).unwrap(),
            format!("@{keys}/rsa.pub.pem"),
            "RS256",
        ),
        (
            Algorithm::PS256,
            EncodingKey::from_rsa_pem(RSA).unwrap(),
            format!("@{keys}/rsa.pub.pem"),
            "PS256",
        ),
        (
            Algorithm::RS256,
            EncodingKey::from_rsa_pem(RSA).unwrap(),
            format!("@{keys}/rsa.pub.jwk.json"),
            "RS256",
        ),
        (
            Algorithm::ES256,
            EncodingKey::from_ec_pem(EC).unwrap(),
            format!("@{keys}/ec.pub.pem"),
            "ES256",
        ),
        (
            Algorithm::ES256,
            EncodingKey::from_ec_pem(EC).unwrap(),
            format!("@{keys}/ec.pub.jwk.json"),
            "ES256",
        ),
        (
            Algorithm::EdDSA,
            EncodingKey::from_ed_pem(ED).unwrap(),
            format!("@{keys}/ed25519.pub.pem"),
            "EdDSA",
        ),
    ];
    for (alg, signing, flag, name) in cases {
        let verifier = Verifier::from_flag(&flag, &[name]).unwrap();
        let token = sign(alg, &signing, Some("at+jwt"), &claims());
        let grant = validate(&verifier, &rules(), &token, NOW)
            .unwrap_or_else(|e| panic!("{flag} {name}: {e}"));
        assert_eq!(grant.subscribe.len(), 1);
    }
}

#[test]
fn a_token_signed_with_another_key_is_refused() {
    let other = sign(
        Algorithm::HS256,
        &hmac_key(b"another secret, also long enough!!"),
        Some("at+jwt"),
        &claims(),
    );
    assert_eq!(check(&other).unwrap_err(), TokenError::BadSignature);
    let ed = Verifier::from_pem(ED_PUB, &["EdDSA"]).unwrap();
    let mut token = sign(
        Algorithm::EdDSA,
        &EncodingKey::from_ed_pem(ED).unwrap(),
        Some("at+jwt"),
        &claims(),
    );
    // Change the claims under the same signature.
    let (_, signature) = token.rsplit_once('.').unwrap();
    token = format!(
        "{}.{}.{signature}",
        b64(&json!({"alg": "EdDSA", "typ": "at+jwt"})),
        b64(&with(claims(), "sub", json!("admin")))
    );
    assert_eq!(
        validate(&ed, &rules(), &token, NOW).unwrap_err(),
        TokenError::BadSignature
    );
}

#[test]
fn an_oct_jwk_is_an_hmac_secret_with_the_same_rules() {
    let jwk = json!({"kty": "oct", "k": URL_SAFE_NO_PAD.encode(SECRET)}).to_string();
    let verifier = Verifier::from_jwk(&jwk, &["HS256"]).unwrap();
    assert!(validate(&verifier, &rules(), &hs(&claims()), NOW).is_ok());
    let short = json!({"kty": "oct", "k": URL_SAFE_NO_PAD.encode("short")}).to_string();
    let err = Verifier::from_jwk(&short, &["HS256"]).unwrap_err();
    assert!(matches!(err, KeyError::WeakSecret { len: 5, .. }), "{err}");
}
