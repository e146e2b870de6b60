//! `--cors-origin` lets browser clients on listed origins call the API and
//! read the stream; other origins get no CORS grant.

use poem::http::{Method, StatusCode};
use poem::test::TestClient;
use tidings_host::{Config, build};

fn client(origins: &[&str]) -> TestClient<poem::endpoint::BoxEndpoint<'static>> {
    let mut config = Config::for_tests();
    config.cors_origins = origins.iter().map(|s| s.to_string()).collect();
    TestClient::new(build(config).unwrap().endpoint())
}

#[tokio::test]
async fn listed_origin_is_granted_others_are_not() {
    let cli = client(&["https://app.example"]);
    let preflight = cli
        .request(Method::OPTIONS, "/api/items")
        .header("origin", "https://app.example")
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization, content-type",
        )
        .send()
        .await;
    preflight.assert_status_is_ok();
    preflight.assert_header("access-control-allow-origin", "https://app.example");

    let other = cli
        .request(Method::OPTIONS, "/api/items")
        .header("origin", "https://evil.example")
        .header("access-control-request-method", "POST")
        .send()
        .await;
    assert!(
        other
            .0
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );

    let get = cli
        .get("/health")
        .header("origin", "https://app.example")
        .send()
        .await;
    get.assert_header("access-control-allow-origin", "https://app.example");
}

#[tokio::test]
async fn without_the_flag_no_cors_headers() {
    let cli = client(&[]);
    let resp = cli
        .get("/health")
        .header("origin", "https://app.example")
        .send()
        .await;
    resp.assert_status(StatusCode::OK);
    assert!(
        resp.0
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
}
