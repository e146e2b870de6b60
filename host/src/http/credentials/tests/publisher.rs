//! Who a publisher is: the editor token as before without a key, tokens
//! told from the editor token with one, grants for every topic, cookies from
//! allowed origins only, and the write routes' editor check.

use super::*;

#[test]
fn without_a_publisher_key_the_editor_token_answers_as_before() {
    let creds = editor_only(Some(EDITOR));
    let editor = bearer(EDITOR);
    assert!(matches!(
        creds.publisher(&presented(&[("authorization", &editor)]), now()),
        Ok(Publisher::Editor)
    ));
    for (headers, denied) in [
        (vec![], Denied::NoEditorToken),
        (vec![("authorization", "Basic x")], Denied::NoEditorToken),
        (
            vec![("authorization", "bearer editor-secret")],
            Denied::NoEditorToken,
        ),
        (
            vec![("authorization", "Bearer wrong")],
            Denied::WrongEditorToken,
        ),
        // Cookies are not read without a publisher key.
        (
            vec![("cookie", "__Secure-mercure_access_token=editor-secret")],
            Denied::NoEditorToken,
        ),
    ] {
        assert_eq!(
            creds.publisher(&presented(&headers), now()).unwrap_err(),
            denied,
            "{headers:?}"
        );
    }
    // No editor token and no key: writes are open (loopback only).
    assert!(matches!(
        editor_only(None).publisher(&presented(&[]), now()),
        Ok(Publisher::Editor)
    ));
}

#[test]
fn with_a_publisher_key_the_editor_token_and_tokens_are_told_apart() {
    let creds = credentials(&[]);
    assert_eq!(
        creds.publisher(&presented(&[]), now()).unwrap_err(),
        Denied::Missing
    );
    let publisher = creds
        .publisher(
            &presented(&[("authorization", "bearer editor-secret")]),
            now(),
        )
        .unwrap();
    assert!(matches!(publisher, Publisher::Editor));
    publisher.may_publish(&[]).unwrap();
    publisher.editor_only().unwrap();
    // Anything else is a token to validate: a wrong editor token is no JWS.
    let refused = creds
        .publisher(&presented(&[("authorization", "Bearer wrong")]), now())
        .unwrap_err();
    assert_eq!(refused.status().as_u16(), 400);
    // A subscriber's token is not a publisher's.
    let subscriber = subscriber_token(json!([{"match": "*"}]));
    let refused = creds
        .publisher(
            &presented(&[("authorization", &bearer(&subscriber))]),
            now(),
        )
        .unwrap_err();
    assert_eq!(refused.status().as_u16(), 401);
}

#[test]
fn a_publisher_token_needs_a_grant_for_every_topic() {
    let creds = credentials(&[]);
    let token = publisher_token(json!([{"match": BOOK}]));
    let publisher = creds
        .publisher(&presented(&[("authorization", &bearer(&token))]), now())
        .unwrap();
    publisher.may_publish(&[topic(BOOK)]).unwrap();
    for topics in [
        vec![topic(BOOK), topic("https://example.com/books/2")],
        vec![topic("https://example.com/books/2")],
        vec![],
    ] {
        let refused = publisher.may_publish(&topics).unwrap_err();
        assert_eq!(refused.status().as_u16(), 403, "{topics:?}");
        assert!(refused.challenge().unwrap().contains("insufficient_scope"));
    }
    assert!(matches!(publisher.editor_only(), Err(Denied::Scope(_))));
    // A token that grants nothing to publish can publish nothing.
    let nothing = sign(PUBLISHER_SECRET, &claims(json!([])));
    let publisher = creds
        .publisher(&presented(&[("authorization", &bearer(&nothing))]), now())
        .unwrap();
    assert!(publisher.may_publish(&[topic(BOOK)]).is_err());
    // `*` grants every topic.
    let all = publisher_token(json!([{"match": "*"}]));
    let publisher = creds
        .publisher(&presented(&[("authorization", &bearer(&all))]), now())
        .unwrap();
    publisher
        .may_publish(&[topic(BOOK), topic("urn:anything")])
        .unwrap();
}

#[test]
fn a_cookie_token_publishes_only_from_an_allowed_origin() {
    let creds = credentials(&[]);
    let token = publisher_token(json!([{"match": BOOK}]));
    let cookie = format!("__Secure-mercure_access_token={token}");
    let publisher = creds
        .publisher(&presented(&[("cookie", &cookie), ("origin", APP)]), now())
        .unwrap();
    publisher.may_publish(&[topic(BOOK)]).unwrap();
    for origins in [
        vec![],
        vec!["https://evil.example"],
        vec![APP, "https://evil.example"],
        vec!["https://app.example.com.evil.example"],
    ] {
        let mut headers = vec![("cookie", cookie.as_str())];
        headers.extend(origins.iter().map(|o| ("origin", *o)));
        assert_eq!(
            creds.publisher(&presented(&headers), now()).unwrap_err(),
            Denied::Origin,
            "{origins:?}"
        );
    }
    // The same token in the header needs no Origin: no browser adds it.
    creds
        .publisher(&presented(&[("authorization", &bearer(&token))]), now())
        .unwrap();
}

#[test]
fn the_editor_check_of_write_routes_goes_through_the_credentials() {
    let request = |headers: &[(&str, &str)], creds: Option<Credentials>| {
        let mut builder = poem::Request::builder();
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        let mut req = builder.finish();
        if let Some(creds) = creds {
            req.extensions_mut().insert(Arc::new(creds));
        }
        req
    };
    let editor = bearer(EDITOR);
    // `require` reads the clock: a token valid now.
    let exp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 300;
    let grants = json!([detail(&["publish"], json!([{"match": "*"}]))]);
    let token = bearer(&sign(
        PUBLISHER_SECRET,
        &json!({"iss": ISS, "aud": HUB, "exp": exp, "authorization_details": grants}),
    ));
    require(
        &request(&[("authorization", &editor)], Some(credentials(&[]))),
        Role::Editor,
        None,
    )
    .unwrap();
    let refused = require(
        &request(&[("authorization", &token)], Some(credentials(&[]))),
        Role::Editor,
        None,
    )
    .unwrap_err();
    assert_eq!(refused.status().as_u16(), 403);
    let refused = require(&request(&[], Some(credentials(&[]))), Role::Editor, None).unwrap_err();
    assert_eq!(refused.status().as_u16(), 401);
    // A request that did not come through the app is refused, not let in.
    let refused = require(&request(&[], None), Role::Editor, None).unwrap_err();
    assert_eq!(refused.status().as_u16(), 500);
}
