//! The JavaScript face of the crate, exercised under Node by
//! `cargo test --target wasm32-unknown-unknown -p tidings-wasm`: plain
//! objects with camelCase fields and `null`s, numbers (never BigInt),
//! `Error`s with the Rust message, and the SSE encoder and parser.
#![cfg(target_arch = "wasm32")]

use js_sys::{Error, JSON, Reflect, Uint8Array};
use serde_json::{Value, json};
use tidings_wasm::{
    ClientFilterObject, Simulation, SimulationConfig, SseParser, UpdateObject, encode_event,
    parse_event_id,
};
use wasm_bindgen::{JsCast, JsError, JsValue};
use wasm_bindgen_test::wasm_bindgen_test;

fn js(value: Value) -> JsValue {
    JSON::parse(&value.to_string()).unwrap()
}

fn cfg_of(value: Value) -> Option<SimulationConfig> {
    Some(js(value).unchecked_into())
}

fn rs(value: JsValue) -> Value {
    serde_wasm_bindgen::from_value(value).unwrap()
}

fn message(err: JsError) -> String {
    let value: JsValue = err.into();
    assert!(value.is_instance_of::<Error>(), "errors are Error objects");
    String::from(Error::from(value).message())
}

fn field(obj: &JsValue, key: &str) -> JsValue {
    Reflect::get(obj, &key.into()).unwrap()
}

#[wasm_bindgen_test]
fn config_fills_defaults_and_refuses_bad_values() {
    let sim = Simulation::new(None).unwrap();
    let config = rs(sim.config().unwrap());
    assert_eq!(config["ringSize"], 16);
    assert_eq!(config["readOnly"], false);

    let sim = Simulation::new(cfg_of(json!({ "seed": 10, "batchSize": 2 }))).unwrap();
    let config = rs(sim.config().unwrap());
    assert_eq!(
        (config["seed"].clone(), config["batchSize"].clone()),
        (json!(10), json!(2))
    );
    assert_eq!(rs(sim.ring().unwrap())["epoch"], "sa");

    let err = Simulation::new(cfg_of(json!({ "ringSize": 0 }))).unwrap_err();
    assert_eq!(
        message(err),
        "invalid configuration: ringSize must be 1 to 4096"
    );
    let err = Simulation::new(cfg_of(json!({ "ringsize": 8 }))).unwrap_err();
    assert!(message(err).contains("unknown field `ringsize`"));
    let err = Simulation::new(cfg_of(json!({ "failThreshold": 0 }))).unwrap_err();
    assert!(message(err).contains("fail_threshold"));
}

#[wasm_bindgen_test]
fn views_are_plain_objects_with_numbers_and_nulls() {
    let mut sim = Simulation::new(cfg_of(json!({ "ringSize": 4 }))).unwrap();
    sim.connect("A", true).unwrap();
    sim.publish_burst(2).unwrap();
    sim.disconnect("A").unwrap();
    let clients = sim.clients().unwrap();
    assert!(js_sys::Array::is_array(&clients));
    let a = js_sys::Array::from(&clients).get(0);
    assert!(field(&a, "cursor").is_null(), "None is null, not undefined");
    assert_eq!(field(&a, "lastId").as_string().as_deref(), Some("s1-2"));
    assert_eq!(field(&a, "received").as_f64(), Some(2.0), "u64 is a number");

    let stats = sim.stats().unwrap();
    assert_eq!(field(&stats, "published").as_f64(), Some(2.0));
    let log = rs(sim.log("A", None).unwrap());
    let kinds: Vec<_> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["connect", "state", "event", "event", "disconnect"]);
    assert_eq!(log[1]["type"], "server.state");
    assert_eq!(log[2]["phase"], "live");
    assert_eq!(log[2]["write"], 2);
    assert!(
        rs(sim.log("A", Some(5)).unwrap())
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert!(message(sim.log("B", None).unwrap_err()).contains("no client named B"));
}

#[wasm_bindgen_test]
fn a_stalled_client_past_the_ring_shows_a_lagged_reset() {
    let cfg = json!({ "seed": 4, "ringSize": 4, "batchSize": 2 });
    let mut sim = Simulation::new(cfg_of(cfg.clone())).unwrap();
    sim.apply_script("connect:A,connect:B,stall:B").unwrap();
    sim.publish_burst(9).unwrap();
    let b = rs(sim.clients().unwrap())[1].clone();
    assert_eq!(b["behindRing"], true);
    assert_eq!(b["backlog"], 4);
    sim.resume("B").unwrap();
    let log = rs(sim.log("B", None).unwrap());
    let reset = log
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "reset")
        .unwrap();
    assert_eq!(reset["reason"], "lagged");
    assert_eq!(reset["data"], r#"{"reason":"lagged","head":"s4-9"}"#);
    let ring = rs(sim.ring().unwrap());
    assert_eq!(
        (ring["tail"].clone(), ring["head"].clone()),
        (json!(6), json!(9))
    );

    // The script restores the same scenario.
    assert_eq!(
        sim.script(),
        "connect:A,connect:B,stall:B,publish:9,resume:B"
    );
    let again = Simulation::replay(cfg_of(cfg), &sim.script()).unwrap();
    assert_eq!(rs(again.log("B", None).unwrap()), log);
}

#[wasm_bindgen_test]
fn modes_follow_probes_and_the_operator() {
    let mut sim =
        Simulation::new(cfg_of(json!({ "failThreshold": 2, "recoverThreshold": 1 }))).unwrap();
    assert!(sim.probe(false).unwrap().is_null());
    let t = rs(sim.probe(false).unwrap());
    assert_eq!(
        t,
        json!({ "from": "normal", "to": "degraded", "reason": "storage_unhealthy", "at": 0 })
    );
    let t = rs(sim.toggle_read_only().unwrap());
    assert_eq!(t["to"], "read_only");
    assert!(message(sim.publish("note", "x").unwrap_err()).contains("read_only"));
    assert!(sim.set_read_only(true).unwrap().is_null());
    sim.set_storage(true);
    sim.advance(1000.0).unwrap(); // one probe at 1000 ms: recovered
    let mode = rs(sim.mode().unwrap());
    assert_eq!(mode["mode"], "read_only");
    assert_eq!(mode["storageHealthy"], true);
    assert!(message(sim.advance(-1.0).unwrap_err()).contains("whole number"));
    assert!(message(sim.advance(0.5).unwrap_err()).contains("whole number"));
}

#[wasm_bindgen_test]
fn encoder_and_parser_round_trip_through_js_values() {
    let frame = encode_event(Some("s1-7".into()), Some("note".into()), "a\r\nb\rc").unwrap();
    assert_eq!(
        frame,
        "id: s1-7\nevent: note\ndata: a\ndata: b\ndata: c\n\n"
    );
    assert_eq!(
        message(encode_event(Some("1\rdata: x".into()), None, "y").unwrap_err()),
        "event id contains cr, lf or nul"
    );

    let mut parser = SseParser::new();
    // Split inside a multi-byte character and between CR and LF.
    let bytes = format!("retry: 700\n{frame}id: s1-8\ndata: é\r\n\r\n").into_bytes();
    let cut = bytes.iter().position(|&b| b == 0xC3).unwrap() + 1;
    let first = rs(parser.feed(Uint8Array::from(&bytes[..cut]).into()).unwrap());
    assert_eq!(first.as_array().unwrap().len(), 1);
    assert_eq!(
        first[0],
        json!({ "type": "note", "data": "a\nb\nc", "id": "s1-7", "lastEventId": "s1-7" })
    );
    assert!(parser.pending());
    let second = rs(parser.feed(Uint8Array::from(&bytes[cut..]).into()).unwrap());
    assert_eq!(second[0]["data"], "é");
    assert_eq!(second[0]["type"], "message");
    assert_eq!(parser.last_event_id(), "s1-8");
    assert_eq!(parser.retry(), Some(700.0));
    assert!(!parser.pending());

    let text = rs(parser
        .feed(JsValue::from_str("data: from a string\n\n"))
        .unwrap());
    assert_eq!(text[0]["id"], Value::Null);
    assert_eq!(text[0]["lastEventId"], "s1-8", "ids carry over");
    assert!(message(parser.feed(JsValue::from_f64(1.0)).unwrap_err()).contains("Uint8Array"));
}

#[wasm_bindgen_test]
fn event_ids_split_or_throw() {
    assert_eq!(
        rs(parse_event_id("k3x9-42").unwrap()),
        json!({ "epoch": "k3x9", "seq": 42 })
    );
    for bad in ["k3x9-042", "42", "a-b-1", ""] {
        assert!(parse_event_id(bad).is_err(), "{bad:?}");
    }
}

#[wasm_bindgen_test]
fn the_publish_intake_shows_what_is_committing_as_plain_objects() {
    let cfg = json!({ "seed": 3, "commitLatencyMs": 20, "publishQueue": 2 });
    let mut sim = Simulation::new(cfg_of(cfg.clone())).unwrap();
    let config = rs(sim.config().unwrap());
    assert_eq!(
        (
            config["commitLatencyMs"].clone(),
            config["publishQueue"].clone()
        ),
        (json!(20), json!(2))
    );
    sim.connect("A", true).unwrap();
    assert_eq!(sim.publish("note", "a").unwrap(), None);
    sim.publish("note", "b").unwrap();
    sim.publish("note", "c").unwrap();
    assert_eq!(
        message(sim.publish("note", "d").unwrap_err()),
        "the publish queue is full"
    );
    let pending = rs(sim.committing().unwrap());
    assert_eq!(
        pending[0],
        json!({ "type": "note", "data": "a", "topics": [], "private": false, "modeChange": false, "phase": "writing", "queuedAt": 0, "commitAt": 20 })
    );
    assert_eq!(pending[2]["phase"], "queued");
    assert_eq!(pending[2]["commitAt"], 40);
    let stats = sim.stats().unwrap();
    assert_eq!(field(&stats, "commitDue").as_f64(), Some(20.0));
    assert_eq!(field(&stats, "queued").as_f64(), Some(2.0));
    assert!(message(sim.set_commit_latency(0.5).unwrap_err()).contains("whole number"));
    assert!(message(sim.set_commit_latency(60_001.0).unwrap_err()).contains("at most 60000"));
    sim.set_commit_latency(5.0).unwrap();
    sim.advance(40.0).unwrap();
    assert!(field(&sim.stats().unwrap(), "commitDue").is_null());
    assert_eq!(rs(sim.committing().unwrap()), json!([]));
    assert_eq!(
        sim.script(),
        "connect:A,event:note:a,event:note:b,event:note:c,latency:5,advance:40"
    );
    let again = Simulation::replay(cfg_of(cfg), &sim.script()).unwrap();
    assert_eq!(
        rs(again.log("A", None).unwrap()),
        rs(sim.log("A", None).unwrap())
    );
    let err = Simulation::new(cfg_of(json!({ "publishQueue": 0 }))).unwrap_err();
    assert_eq!(
        message(err),
        "invalid configuration: publishQueue must be 1 to 10000"
    );
}

#[wasm_bindgen_test]
fn filters_and_updates_cross_as_plain_objects() {
    let filter = |v: Value| -> ClientFilterObject { js(v).unchecked_into() };
    let update = |v: Value| -> UpdateObject { js(v).unchecked_into() };
    let mut sim = Simulation::new(cfg_of(json!({ "seed": 2 }))).unwrap();
    let topic = "https://example.com/items/P-001";
    sim.set_filter(
        "A",
        filter(json!({ "selectors": [{ "match": topic }], "grants": [{ "match": "/items/:pn", "matchType": "urlpattern" }] })),
    )
    .unwrap();
    sim.connect("A", true).unwrap();
    sim.connect("B", true).unwrap();
    let id = sim
        .publish_update(update(json!({ "type": "note", "data": "{}", "topics": [topic], "private": true, "id": "o-1" })))
        .unwrap();
    assert_eq!(id.as_deref(), Some("o-1"));
    let a = rs(sim.clients().unwrap())[0].clone();
    assert_eq!(
        a["selectors"],
        json!([{ "match": topic, "matchType": "exact" }])
    );
    assert_eq!(a["grants"][0]["matchType"], "urlpattern");
    assert_eq!(
        (
            a["privateReceived"].clone(),
            a["wakeups"].clone(),
            a["idleWakeups"].clone()
        ),
        (json!(1), json!(1), json!(0))
    );
    let last = rs(sim.log("A", None).unwrap())
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(
        (
            last["seq"].clone(),
            last["private"].clone(),
            last["topics"].clone()
        ),
        (json!(1), json!(true), json!([topic]))
    );
    let entry = rs(sim.ring().unwrap())["events"][0].clone();
    assert_eq!(
        (entry["suppliedId"].clone(), entry["seenBy"].clone()),
        (json!("o-1"), json!(["A"]))
    );
    let stats = rs(sim.stats().unwrap());
    assert_eq!(
        (
            stats["routes"].clone(),
            stats["bells"].clone(),
            stats["idleWakeups"].clone()
        ),
        (json!(2), json!(1), json!(0))
    );
    assert!(stats["matcherEvaluations"].as_u64().is_some());

    let state = rs(sim.log("B", None).unwrap())[1].clone();
    assert_eq!(
        (
            state["seq"].clone(),
            state["topics"].clone(),
            state["private"].clone()
        ),
        (Value::Null, json!([]), json!(false))
    );
    assert!(message(sim.set_filter("A", filter(json!({}))).unwrap_err()).contains("disconnect it"));
    assert!(
        message(
            sim.set_filter(
                "C",
                filter(json!({ "grants": [{ "match": "x", "matchType": "regex" }] }))
            )
            .unwrap_err()
        )
        .starts_with("invalid filter: unknown variant")
    );
    assert!(
        message(
            sim.publish_update(update(json!({ "data": 3 })))
                .unwrap_err()
        )
        .starts_with("invalid update: invalid type")
    );
    assert!(
        message(
            sim.publish_update(update(json!({ "data": "x", "private": true })))
                .unwrap_err()
        )
        .contains("needs a topic")
    );
    assert_eq!(
        sim.script(),
        format!(
            "filter:A:match={topic};grant_urlpattern=/items/:pn,connect:A,connect:B,update:type=note;topic={topic};private=on;id=o-1;data=%7B%7D"
        )
    );
}
