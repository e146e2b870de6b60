//! The demo folder is served at `/`: GET and HEAD answer, other methods 405.

use poem::http::{Method, StatusCode};
use poem::test::TestClient;
use tidings_host::{Config, build};

#[tokio::test]
async fn index_answers_get_and_head() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("index.html"), "<h1>demo</h1>").unwrap();
    let mut config = Config::for_tests();
    config.web_dir = dir.path().to_path_buf();
    let cli = TestClient::new(build(config).unwrap().endpoint());

    let get = cli.get("/").send().await;
    get.assert_status_is_ok();
    get.assert_text("<h1>demo</h1>").await;
    let head = cli.request(Method::HEAD, "/").send().await;
    head.assert_status_is_ok();
    head.assert_text("").await;
    cli.post("/")
        .send()
        .await
        .assert_status(StatusCode::METHOD_NOT_ALLOWED);
    cli.get("/missing.js")
        .send()
        .await
        .assert_status(StatusCode::NOT_FOUND);
}
