//! Bad imports (CSV and ODS files the import refuses, media types it does
//! not take) and bad stream queries (`types` filters that are empty, too
//! long or not SSE-safe, unknown parameters).
//!
//! Each case must get a 4xx with a JSON `error` and `message`, and change
//! nothing: no item, no revision, no stored event on an open stream (the
//! next good publish takes the very next id). The harness is
//! `tidings_tests::bad_requests`.

use tidings_tests::bad_requests::{Auth, GOOD, ODS_MIME, case, import_case, run_catalogue};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_imports_and_stream_queries() {
    let csv = Some("text/csv");
    let cases = vec![
        import_case(
            "CSV without a part_number column",
            csv,
            "description,color\nx,red\n",
            400,
        ),
        import_case(
            "CSV row with too few fields",
            csv,
            "part_number,description\nIMP-1,x\nIMP-2\n",
            400,
        ),
        import_case(
            "CSV row with too many fields",
            csv,
            "part_number,description\nIMP-1,x,extra\n",
            400,
        ),
        import_case(
            "CSV with a duplicate part number",
            csv,
            "part_number,description\nIMP-1,x\nIMP-1,y\n",
            400,
        ),
        import_case(
            "CSV with a duplicate column",
            csv,
            "part_number,color,color\nIMP-1,x,y\n",
            400,
        ),
        import_case(
            "CSV with a bad part number",
            csv,
            "part_number\nIMP-1\n../etc\n",
            400,
        ),
        import_case(
            "CSV with an existing and a bad row",
            csv,
            format!("part_number,description\n{GOOD},changed\nbad pn,x\n"),
            400,
        ),
        import_case("empty CSV", csv, "", 400),
        import_case("CSV header only", csv, "part_number,description\n", 400),
        import_case(
            "CSV not UTF-8",
            csv,
            b"part_number,description\nIMP-1,caf\xe9\n".to_vec(),
            400,
        ),
        import_case(
            "CSV value under no header",
            csv,
            "part_number,\nIMP-1,stray\n",
            400,
        ),
        import_case(
            "garbage as ODS",
            Some(ODS_MIME),
            b"PK\x03\x04 not really a zip".to_vec(),
            400,
        ),
        import_case(
            "CSV sent as ODS",
            Some(ODS_MIME),
            "part_number,description\nIMP-1,x\n",
            400,
        ),
        import_case("empty ODS", Some(ODS_MIME), "", 400),
        import_case(
            "JSON import",
            Some("application/json"),
            r#"[{"part_number":"IMP-1","description":"x"}]"#,
            415,
        ),
        import_case(
            "import without a content type",
            None,
            "part_number,description\nIMP-1,x\n",
            415,
        ),
        import_case(
            "text/plain import",
            Some("text/plain"),
            "part_number,description\nIMP-1,x\n",
            415,
        ),
        import_case(
            "xlsx import",
            Some("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
            b"PK\x03\x04".to_vec(),
            415,
        ),
        // Stream queries.
        case(
            "types with a zero-width space",
            "GET",
            "/api/events?types=item.created,bad%E2%80%8Bkind",
            Auth::None,
            None,
            "",
            400,
        ),
        case(
            "empty types",
            "GET",
            "/api/events?types=",
            Auth::None,
            None,
            "",
            400,
        ),
        case(
            "types with an empty entry",
            "GET",
            "/api/events?types=a,,b",
            Auth::None,
            None,
            "",
            400,
        ),
        case(
            "types of 129 bytes",
            "GET",
            format!("/api/events?types={}", "t".repeat(129)),
            Auth::None,
            None,
            "",
            400,
        ),
        case(
            "types with a newline",
            "GET",
            "/api/events?types=a%0Ab",
            Auth::None,
            None,
            "",
            400,
        ),
        case(
            "unknown stream parameter",
            "GET",
            "/api/events?bogus=1",
            Auth::None,
            None,
            "",
            400,
        ),
    ];
    run_catalogue(cases).await;
}
