use super::*;

#[test]
fn url_parsing_table() {
    let s3 = |bucket: &str, endpoint: &str, region: &str| StorageUrl::S3 {
        bucket: bucket.into(),
        endpoint: endpoint.into(),
        region: region.into(),
    };
    let good = [
        ("memory", StorageUrl::Memory),
        ("fs:./data", StorageUrl::Fs("./data".into())),
        (
            "fs:/var/lib/tidings",
            StorageUrl::Fs("/var/lib/tidings".into()),
        ),
        (
            "s3://items?endpoint=http://127.0.0.1:9000&region=eu-west-1",
            s3("items", "http://127.0.0.1:9000", "eu-west-1"),
        ),
        (
            "s3://my.bucket-1?endpoint=https://minio.local/",
            s3("my.bucket-1", "https://minio.local", "us-east-1"),
        ),
        (
            "s3://items?region=eu-west-1&endpoint=http://localhost:9000",
            s3("items", "http://localhost:9000", "eu-west-1"),
        ),
        (
            "s3://items",
            s3("items", "https://s3.us-east-1.amazonaws.com", "us-east-1"),
        ),
    ];
    for (input, want) in good {
        assert_eq!(input.parse::<StorageUrl>(), Ok(want.clone()), "{input}");
        // Display gives back a URL that parses to the same value.
        assert_eq!(want.to_string().parse::<StorageUrl>(), Ok(want), "{input}");
    }

    use StorageUrlError::*;
    let bad = [
        ("", UnknownScheme),
        ("mem", UnknownScheme),
        ("Memory", UnknownScheme),
        ("file:./data", UnknownScheme),
        ("fs:", EmptyPath),
        ("s3://", BadBucket),
        ("s3://ab", BadBucket),
        ("s3://Items", BadBucket),
        ("s3://items/prefix", BadBucket),
        ("s3://key:secret@items", BadBucket),
        ("s3://-items", BadBucket),
        ("s3://items?endpoint=ftp://host", BadEndpoint),
        ("s3://items?endpoint=http://", BadEndpoint),
        ("s3://items?endpoint=http://user:pw@host:9000", BadEndpoint),
        ("s3://items?endpoint=http://h&region=EU", BadRegion),
        ("s3://items?endpoint=http://h&bucket=x", UnknownParam),
        (
            "s3://items?endpoint=http://h&endpoint=http://g",
            DuplicateParam,
        ),
        ("s3://items?endpoint", MissingValue),
        ("s3://items?region=", MissingValue),
    ];
    for (input, want) in bad {
        assert_eq!(input.parse::<StorageUrl>(), Err(want), "{input:?}");
    }
}

#[test]
fn url_errors_do_not_echo_input() {
    let err = "s3://items?endpoint=http://user:hunter2@host"
        .parse::<StorageUrl>()
        .expect_err("bad");
    assert!(!err.to_string().contains("hunter2"));
}

#[tokio::test]
async fn s3_open_needs_no_network_and_hides_secrets() {
    let url: StorageUrl = "s3://items?endpoint=http://127.0.0.1:9&region=eu-west-1"
        .parse()
        .expect("url");
    let credentials = S3Credentials {
        access_key_id: "AKIDEXAMPLE".into(),
        secret_access_key: "s3cr3t-value".into(),
    };
    let store = Store::open_with(&url, Some(credentials.clone())).expect("open");
    assert!(!format!("{store:?}").contains("s3cr3t-value"));
    assert!(!format!("{credentials:?}").contains("s3cr3t-value"));
    assert!(!url.to_string().contains("s3cr3t-value"));
    assert!(matches!(
        Store::open_with(&url, None),
        Err(StorageError::MissingCredentials)
    ));
}

#[tokio::test]
async fn s3_probe_reaches_the_http_transport() {
    // A loopback port that was just free: the probe must fail on the
    // connection, proving an HTTP client is installed, and fail fast.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let url: StorageUrl = format!("s3://items?endpoint=http://127.0.0.1:{port}")
        .parse()
        .expect("url");
    let credentials = S3Credentials {
        access_key_id: "AKIDEXAMPLE".into(),
        secret_access_key: "s3cr3t-value".into(),
    };
    let store = Store::open_with(&url, Some(credentials)).expect("open");
    let result = tokio::time::timeout(std::time::Duration::from_secs(30), store.probe())
        .await
        .expect("probe finishes");
    match result {
        Err(StorageError::Unavailable { kind, source }) => {
            assert_ne!(kind, ErrorKind::ConfigInvalid, "{source}");
        }
        other => panic!("expected a connection failure, got {other:?}"),
    }
}

#[tokio::test]
async fn s3_probe_is_path_style_and_signed() {
    use std::io::{BufRead, BufReader, Write};
    // A one-request fake S3 on loopback that records the request head.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let server = std::thread::spawn(move || {
        let (stream, _) = listener.accept().expect("accept");
        let mut reader = BufReader::new(stream.try_clone().expect("clone"));
        let mut head = Vec::new();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).expect("read") == 0 || line == "\r\n" {
                break;
            }
            head.push(line.trim_end().to_string());
        }
        let body = r#"<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>items</Name><Prefix></Prefix><KeyCount>0</KeyCount><MaxKeys>1</MaxKeys><IsTruncated>false</IsTruncated></ListBucketResult>"#;
        let mut stream = stream;
        write!(
            stream,
            "HTTP/1.1 200 OK\r\ncontent-type: application/xml\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )
        .expect("respond");
        head
    });

    let url: StorageUrl = format!("s3://items?endpoint=http://127.0.0.1:{port}&region=eu-west-1")
        .parse()
        .expect("url");
    let credentials = S3Credentials {
        access_key_id: "AKIDEXAMPLE".into(),
        secret_access_key: "s3cr3t-value".into(),
    };
    let store = Store::open_with(&url, Some(credentials)).expect("open");
    let result = tokio::time::timeout(std::time::Duration::from_secs(30), store.probe())
        .await
        .expect("probe finishes");
    // Only join once the probe succeeded: had it failed before connecting,
    // the server would still be waiting in `accept`.
    result.expect("probe ok");
    let head = server.join().expect("server");
    assert!(head[0].starts_with("GET /items?"), "{head:?}");
    let authorization = head
        .iter()
        .find(|h| h.to_ascii_lowercase().starts_with("authorization:"))
        .expect("signed request");
    assert!(
        authorization.contains("Credential=AKIDEXAMPLE/"),
        "{authorization}"
    );
    assert!(authorization.contains("/eu-west-1/s3/"), "{authorization}");
}

#[test]
fn unavailable_display_names_only_the_kind() {
    let err: StorageError = opendal::Error::new(ErrorKind::PermissionDenied, "at /secret/path")
        .with_context("endpoint", "http://internal:9000")
        .into();
    assert_eq!(err.to_string(), "storage unavailable: PermissionDenied");
}
