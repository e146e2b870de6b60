//! Bad paths, methods and tokens: part numbers that are not valid in a path
//! or a body, items that are missing or already there, missing and wrong
//! tokens on every write route, unknown routes and wrong methods.
//!
//! Each case must get a 4xx with a JSON `error` and `message`, and change
//! nothing: no item, no revision, no stored event on an open stream (the
//! next good publish takes the very next id). The harness is
//! `tidings_tests::bad_requests`.

use serde_json::json;
use tidings_tests::bad_requests::{Auth, GOOD, case, json_case, run_catalogue};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_part_numbers_routes_methods_and_tokens() {
    let long = "P".repeat(65);
    let update = r#"{"description":"x"}"#;
    let revision = r#"{"comment":"c"}"#;
    let mut cases = Vec::new();
    // Bad part numbers in the path, for every route that takes one.
    for (label, pn) in [
        ("space", "a%20b"),
        ("65 characters", long.as_str()),
        ("dot-dot", ".."),
        ("encoded dot-dot", "%2E%2E"),
        ("dot", "."),
        ("encoded slash", "a%2Fb"),
        ("encoded NUL", "a%00b"),
        ("non-ASCII", "caf%C3%A9"),
    ] {
        cases.push(json_case(
            format!("GET item, {label}"),
            "GET",
            format!("/api/items/{pn}"),
            "",
            400,
        ));
        cases.push(json_case(
            format!("PUT item, {label}"),
            "PUT",
            format!("/api/items/{pn}"),
            update,
            400,
        ));
        cases.push(json_case(
            format!("DELETE item, {label}"),
            "DELETE",
            format!("/api/items/{pn}"),
            "",
            400,
        ));
        cases.push(json_case(
            format!("POST revision, {label}"),
            "POST",
            format!("/api/items/{pn}/revisions"),
            revision,
            400,
        ));
    }
    // Bad part numbers in the body.
    for (label, pn) in [
        ("space", "a b"),
        ("65 characters", long.as_str()),
        ("dot-dot", ".."),
        ("dot", "."),
        ("slash", "a/b"),
        ("empty", ""),
        ("newline", "a\nb"),
    ] {
        cases.push(json_case(
            format!("create, {label}"),
            "POST",
            "/api/items",
            json!({"part_number": pn, "description": "x"}).to_string(),
            400,
        ));
    }
    // Items that are not there, or already are.
    cases.push(json_case(
        "update a missing item",
        "PUT",
        "/api/items/NOPE-1",
        update,
        404,
    ));
    cases.push(json_case(
        "delete a missing item",
        "DELETE",
        "/api/items/NOPE-1",
        "",
        404,
    ));
    cases.push(json_case(
        "revision of a missing item",
        "POST",
        "/api/items/NOPE-1/revisions",
        revision,
        404,
    ));
    cases.push(json_case(
        "create an existing item",
        "POST",
        "/api/items",
        json!({"part_number": GOOD, "description": "again"}).to_string(),
        409,
    ));
    // Tokens: missing → 401, wrong → 403, on every write route.
    let good_item = json!({"part_number": "AUTH-1", "description": "x"}).to_string();
    let writes: Vec<(&'static str, String, String, Option<&'static str>)> = vec![
        (
            "POST",
            "/api/publish".into(),
            json!({"type":"a.b","data":{}}).to_string(),
            Some("application/json"),
        ),
        (
            "POST",
            "/api/items".into(),
            good_item,
            Some("application/json"),
        ),
        (
            "PUT",
            format!("/api/items/{GOOD}"),
            update.into(),
            Some("application/json"),
        ),
        ("DELETE", format!("/api/items/{GOOD}"), String::new(), None),
        (
            "POST",
            format!("/api/items/{GOOD}/revisions"),
            revision.into(),
            Some("application/json"),
        ),
        (
            "POST",
            "/api/items/import".into(),
            "part_number,description\nAUTH-2,x\n".into(),
            Some("text/csv"),
        ),
    ];
    for (method, path, body, ct) in writes {
        for (label, auth, status) in [
            ("no token", Auth::None, 401),
            (
                "not a bearer token",
                Auth::Header("Basic ZWRpdG9yOnNlY3JldA=="),
                401,
            ),
            (
                "lower-case scheme",
                Auth::Header("bearer editor-secret"),
                401,
            ),
            ("wrong token", Auth::Header("Bearer wrong"), 403),
            ("admin token", Auth::Admin, 403),
            (
                "token with suffix",
                Auth::Header("Bearer editor-secretX"),
                403,
            ),
        ] {
            cases.push(case(
                format!("{method} {path}, {label}"),
                method,
                path.clone(),
                auth,
                ct,
                body.clone(),
                status,
            ));
        }
    }
    let admin_body = r#"{"read_only":true}"#;
    for (label, auth, status) in [
        ("no token", Auth::None, 401),
        ("editor token", Auth::Editor, 403),
        ("wrong token", Auth::Header("Bearer wrong"), 403),
    ] {
        cases.push(case(
            format!("admin, {label}"),
            "PUT",
            "/api/admin/read-only",
            auth,
            Some("application/json"),
            admin_body,
            status,
        ));
    }
    // Unknown routes.
    for path in [
        "/nope",
        "/api",
        "/api/nope",
        "/api/admin",
        "/api/admin/nope",
        "/api/items/GOOD-1/nope",
        "/api/items/GOOD-1/revisions/1",
        "/api/events/extra",
    ] {
        cases.push(json_case(format!("GET {path}"), "GET", path, "", 404));
    }
    // Wrong methods.
    for (method, path) in [
        ("GET", "/api/publish"),
        ("DELETE", "/api/publish"),
        ("PUT", "/api/publish"),
        ("PATCH", "/api/items/GOOD-1"),
        ("POST", "/api/items/GOOD-1"),
        ("DELETE", "/api/items"),
        ("PUT", "/api/items"),
        ("PUT", "/api/items/GOOD-1/revisions"),
        ("DELETE", "/api/items/GOOD-1/revisions"),
        ("GET", "/api/admin/read-only"),
        ("POST", "/api/admin/read-only"),
        ("POST", "/api/events"),
        ("POST", "/health"),
        ("DELETE", "/ready"),
        ("POST", "/metrics"),
    ] {
        cases.push(json_case(
            format!("{method} {path}"),
            method,
            path,
            "{}",
            405,
        ));
    }
    run_catalogue(cases).await;
}

/// Unknown paths under `/api/` are 404 whatever the method, although the
/// demo's static files nested at `/` take only GET.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_api_routes_are_404_for_every_method() {
    let body = r#"{"type":"a.b","data":{}}"#;
    let cases = ["POST", "PUT", "DELETE", "PATCH"]
        .into_iter()
        .map(|method| {
            json_case(
                format!("{method} /api/nope"),
                method,
                "/api/nope",
                body,
                404,
            )
        })
        .collect();
    run_catalogue(cases).await;
}
