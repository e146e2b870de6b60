//! The core's seeded scenario, re-run here — natively and, under
//! `cargo test --target wasm32-unknown-unknown`, inside WebAssembly — with
//! every invariant checked after every step, and each seed's outcome
//! compared with `scenario_outcomes.txt`. Both builds compare against the
//! same table, so wasm and native cannot diverge without one of them
//! failing.
//!
//! The table is written by a native run: if the core's behaviour or its
//! scenario driver changed on purpose, regenerate it with
//! `TIDINGS_BLESS=1 cargo test -p tidings-wasm --test scenario_outcomes_match_native`
//! and review the diff.

#[path = "../../core/tests/common/mod.rs"]
mod common;

use common::scenario::{Outcome, run};
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test;

/// Steps per seed, as in the core's own `seeded_scenarios` test.
const STEPS: usize = 300;
const SEEDS: u64 = 200;
const TABLE: &str = include_str!("scenario_outcomes.txt");

fn line(seed: u64, o: &Outcome) -> String {
    format!(
        "{seed} {} {} {} {} {} {}",
        o.published, o.delivered, o.resets, o.lagged, o.catch_ups, o.reconnects
    )
}

fn outcomes() -> Vec<String> {
    (0..SEEDS)
        .map(|seed| match run(seed, STEPS) {
            Ok(o) => line(seed, &o),
            Err(msg) => panic!(
                "seed {seed} broke an invariant: {msg}\nreplay natively: TIDINGS_SEED={seed} cargo test -p tidings-core --test seeded_scenarios"
            ),
        })
        .collect()
}

fn bless_requested() -> bool {
    std::env::var_os("TIDINGS_BLESS").is_some()
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn every_seed_keeps_the_invariants_and_matches_the_table() {
    let got = outcomes();
    if bless_requested() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/scenario_outcomes.txt");
        let mut text =
            String::from("# seed published delivered resets lagged catch_ups reconnects\n");
        for l in &got {
            text.push_str(l);
            text.push('\n');
        }
        std::fs::write(path, text).expect("write the outcome table");
        return;
    }
    let want: Vec<&str> = TABLE
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .collect();
    assert_eq!(want.len(), got.len(), "the table has one line per seed");
    for (want, got) in want.iter().zip(&got) {
        assert_eq!(
            *want, got,
            "outcome differs from the native table (columns: seed published delivered resets lagged catch_ups reconnects); \
             if the core changed on purpose, rerun natively with TIDINGS_BLESS=1"
        );
    }
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn the_table_exercises_lag_resets_and_catch_ups() {
    // A table of runs that never lag, reset or catch up would prove little.
    let rows: Vec<Vec<u64>> = TABLE
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| l.split(' ').map(|n| n.parse().unwrap()).collect())
        .collect();
    let sum = |col: usize| rows.iter().map(|r| r[col]).sum::<u64>();
    assert!(sum(4) > 0, "lagged");
    assert!(sum(3) > sum(4), "resets of other reasons");
    assert!(sum(5) > 0, "catch-ups");
    assert!(sum(2) > 10_000, "deliveries");
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn a_seed_replays_exactly() {
    assert_eq!(run(42, STEPS), run(42, STEPS));
}
