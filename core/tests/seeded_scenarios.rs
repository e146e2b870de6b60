//! Many subscribers connect, disconnect, reconnect with their last id, stall
//! and resume while publishers burst past the ring and the batch size; the
//! invariants of `common::scenario` are checked after every step.
//!
//! `TIDINGS_SEED=<n>` replays one seed; `TIDINGS_SEEDS=<n>` sets how many
//! the default run covers.

mod common;

use std::panic::{AssertUnwindSafe, catch_unwind};

use common::scenario::run;

const STEPS: usize = 300;

fn run_seeds(seeds: impl Iterator<Item = u64>) -> usize {
    let mut count = 0;
    for seed in seeds {
        let outcome = catch_unwind(AssertUnwindSafe(|| run(seed, STEPS)));
        match outcome {
            Ok(Ok(_)) => {}
            Ok(Err(msg)) => panic!(
                "seed {seed} failed: {msg}\nreplay: TIDINGS_SEED={seed} cargo test -p tidings-core --test seeded_scenarios"
            ),
            Err(_) => panic!(
                "seed {seed} panicked\nreplay: TIDINGS_SEED={seed} cargo test -p tidings-core --test seeded_scenarios"
            ),
        }
        count += 1;
    }
    count
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().map(|v| {
        v.parse()
            .unwrap_or_else(|_| panic!("{name} must be a number"))
    })
}

#[test]
fn thousand_seeds_keep_every_invariant() {
    if let Some(seed) = env_u64("TIDINGS_SEED") {
        assert_eq!(run_seeds(seed..=seed), 1);
        return;
    }
    let n = env_u64("TIDINGS_SEEDS").unwrap_or(1000);
    assert_eq!(run_seeds(0..n) as u64, n);
}

#[test]
#[ignore = "long: run with --ignored"]
fn hundred_thousand_seeds_keep_every_invariant() {
    assert_eq!(run_seeds(1_000_000..1_100_000), 100_000);
}

#[test]
fn scenarios_exercise_every_path() {
    // A scenario set that never lags, resets or catches up proves nothing.
    let mut total = common::scenario::Outcome::default();
    for seed in 0..200 {
        let o = run(seed, STEPS).unwrap();
        total.resets += o.resets;
        total.lagged += o.lagged;
        total.catch_ups += o.catch_ups;
        total.reconnects += o.reconnects;
        total.delivered += o.delivered;
    }
    assert!(total.lagged > 0, "{total:?}");
    assert!(total.resets > total.lagged, "{total:?}");
    assert!(total.catch_ups > 0, "{total:?}");
    assert!(total.delivered > 10_000, "{total:?}");
}

#[test]
fn a_seed_replays_exactly() {
    assert_eq!(run(42, STEPS), run(42, STEPS));
}
