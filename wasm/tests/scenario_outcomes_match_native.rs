//! The seeded scenarios, re-run here — natively and, under
//! `cargo test --target wasm32-unknown-unknown`, inside WebAssembly — with
//! every invariant checked after every step, and each seed's outcome
//! compared with `scenario_outcomes.txt`. Both builds compare against the
//! same table, so wasm and native cannot diverge without one of them
//! failing.
//!
//! Each line holds two scenarios of one seed: the core's own driver (one
//! broker, unfiltered subscribers), and the simulator's routed scenario
//! (clients with selectors and grants, bursts on item topics, private
//! updates, reconnects, filter changes; see `common::routed_scenario`),
//! whose every step is checked against the routing rule.
//!
//! The table is written by a native run: if the core's behaviour, its
//! scenario driver or the simulator changed on purpose, regenerate it with
//! `TIDINGS_BLESS=1 cargo test -p tidings-wasm --test scenario_outcomes_match_native`
//! and review the diff.

#[macro_use]
mod common;
#[path = "../../core/tests/common/mod.rs"]
mod core_common;

use common::{RoutedOutcome, routed_scenario};
use core_common::scenario::{Outcome, run};
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test;

/// Steps per seed, as in the core's own `seeded_scenarios` test.
const STEPS: usize = 300;
/// Chaos steps per seed of the routed scenario.
const ROUTED_STEPS: u32 = 300;
const SEEDS: u64 = 200;
const TABLE: &str = include_str!("scenario_outcomes.txt");
const HEADER: &str = "# seed | core: published delivered resets lagged catch_ups reconnects \
                      | simulator with topics: published delivered private resets lagged bells idle_wakeups routes";

fn line(seed: u64, o: &Outcome, r: &RoutedOutcome) -> String {
    format!(
        "{seed} {} {} {} {} {} {} {} {} {} {} {} {} {} {}",
        o.published,
        o.delivered,
        o.resets,
        o.lagged,
        o.catch_ups,
        o.reconnects,
        r.published,
        r.delivered,
        r.private,
        r.resets,
        r.lagged,
        r.bells,
        r.idle,
        r.routes
    )
}

fn outcomes() -> Vec<String> {
    (0..SEEDS)
        .map(|seed| {
            let core = run(seed, STEPS).unwrap_or_else(|msg| panic!(
                "seed {seed} broke an invariant of the core's scenario: {msg}\nreplay natively: TIDINGS_SEED={seed} cargo test -p tidings-core --test seeded_scenarios"
            ));
            let routed = routed_scenario(seed, ROUTED_STEPS).unwrap_or_else(|msg| panic!(
                "seed {seed} broke the routing rule in the simulator: {msg}"
            ));
            line(seed, &core, &routed)
        })
        .collect()
}

fn bless_requested() -> bool {
    std::env::var_os("TIDINGS_BLESS").is_some()
}

fn rows() -> Vec<Vec<u64>> {
    TABLE
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| l.split(' ').map(|n| n.parse().unwrap()).collect())
        .collect()
}

both! {
    fn every_seed_keeps_the_invariants_and_matches_the_table() {
        let got = outcomes();
        if bless_requested() {
            let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/scenario_outcomes.txt");
            let mut text = format!("{HEADER}\n");
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
                "outcome differs from the native table (columns: {HEADER}); \
                 if the core or the simulator changed on purpose, rerun natively with TIDINGS_BLESS=1"
            );
        }
    }

    fn the_table_exercises_lag_resets_catch_ups_and_private_events() {
        // A table of runs that never lag, reset, catch up or route would
        // prove little.
        let rows = rows();
        assert!(rows.iter().all(|r| r.len() == 15), "15 columns per line");
        let sum = |col: usize| rows.iter().map(|r| r[col]).sum::<u64>();
        assert!(sum(4) > 0, "lagged");
        assert!(sum(3) > sum(4), "resets of other reasons");
        assert!(sum(5) > 0, "catch-ups");
        assert!(sum(2) > 10_000, "deliveries");
        // The routed scenario: private events reach granted clients, lags
        // happen, and filtered clients get less than every event.
        assert!(sum(9) > 0, "private deliveries");
        assert!(sum(11) > 0, "lagged with topics");
        assert!(rows.iter().any(|r| r[8] < 4 * r[7]), "filters deliver less than all to four clients");
        assert!(rows.iter().any(|r| r[14] > 1), "several routes");
    }

    fn a_seed_replays_exactly() {
        assert_eq!(run(42, STEPS), run(42, STEPS));
        assert_eq!(routed_scenario(42, ROUTED_STEPS), routed_scenario(42, ROUTED_STEPS));
    }
}
