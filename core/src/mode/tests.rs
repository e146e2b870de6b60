//! The mode machine's rules, input by input, and invariants checked over
//! every short input sequence.

use super::*;
use crate::Millis;

use Component::{Bus, Storage};
use OperatorInput::{Clear, Set, Toggle};

fn cfg(fail: u32, recover: u32) -> ModeConfig {
    ModeConfig::new(fail, recover).unwrap()
}

fn machine() -> ModeMachine {
    ModeMachine::new(ModeConfig::default(), false, Millis(0))
}

fn tr(from: Mode, to: Mode, reason: Reason, at: u64) -> Option<Transition> {
    Some(Transition {
        from,
        to,
        reason,
        at: Millis(at),
    })
}

/// Feeds `n` probes of the same outcome starting at time `t`, asserting
/// each yields `None`.
fn probes_none(m: &mut ModeMachine, c: Component, ok: bool, n: u32, t: u64) {
    for i in 0..n {
        assert_eq!(
            m.handle_probe(c, ok, Millis(t + u64::from(i))),
            None,
            "probe {i}"
        );
    }
}

/// A default machine with storage made unhealthy (degraded) at time 3.
fn degraded() -> ModeMachine {
    let mut m = machine();
    probes_none(&mut m, Storage, false, 2, 1);
    assert!(m.handle_probe(Storage, false, Millis(3)).is_some());
    assert_eq!(m.mode(), Mode::Degraded);
    m
}

// ---- construction and config ----

#[test]
fn startup_snapshot() {
    let m = machine();
    assert_eq!(m.mode(), Mode::Normal);
    assert!(!m.is_read_only());
    assert!(m.health(Storage) && m.health(Bus));
    assert_eq!(
        Some(*m.last_transition()),
        tr(Mode::Normal, Mode::Normal, Reason::Startup, 0)
    );

    let m = ModeMachine::new(ModeConfig::default(), true, Millis(42));
    assert_eq!(m.mode(), Mode::ReadOnly);
    assert!(m.is_read_only());
    assert_eq!(
        Some(*m.last_transition()),
        tr(Mode::ReadOnly, Mode::ReadOnly, Reason::Startup, 42)
    );
}

#[test]
fn config_validation() {
    assert_eq!(ModeConfig::default(), cfg(3, 2));
    assert_eq!(ModeConfig::new(0, 1), Err(ModeError::ZeroFailThreshold));
    assert_eq!(ModeConfig::new(1, 0), Err(ModeError::ZeroRecoverThreshold));
    assert_eq!(ModeConfig::new(0, 0), Err(ModeError::ZeroFailThreshold));
    let c = cfg(u32::MAX, 1);
    assert_eq!((c.fail_threshold(), c.recover_threshold()), (u32::MAX, 1));
}

#[test]
fn error_messages_are_lowercase() {
    assert_eq!(
        ModeError::ZeroFailThreshold.to_string(),
        "fail_threshold must be at least 1"
    );
    assert_eq!(
        ModeError::ZeroRecoverThreshold.to_string(),
        "recover_threshold must be at least 1"
    );
    assert_eq!(
        ModeError::UnknownMode("x".into()).to_string(),
        "unknown mode \"x\" (expected normal, read_only or degraded)"
    );
}

// ---- every transition ----

#[test]
fn normal_to_read_only_and_back() {
    let mut m = machine();
    assert_eq!(
        m.handle_operator(Set, Millis(10)),
        tr(Mode::Normal, Mode::ReadOnly, Reason::OperatorReadOnly, 10)
    );
    assert_eq!(m.mode(), Mode::ReadOnly);
    assert_eq!(
        m.handle_operator(Clear, Millis(20)),
        tr(Mode::ReadOnly, Mode::Normal, Reason::OperatorWritable, 20)
    );
    assert_eq!(m.mode(), Mode::Normal);
}

#[test]
fn normal_to_degraded_and_back() {
    let mut m = machine();
    probes_none(&mut m, Storage, false, 2, 1);
    assert_eq!(
        m.handle_probe(Storage, false, Millis(3)),
        tr(Mode::Normal, Mode::Degraded, Reason::StorageUnhealthy, 3)
    );
    assert!(!m.health(Storage));
    assert_eq!(m.handle_probe(Storage, true, Millis(4)), None);
    assert_eq!(
        m.handle_probe(Storage, true, Millis(5)),
        tr(Mode::Degraded, Mode::Normal, Reason::StorageRecovered, 5)
    );
    assert!(m.health(Storage));
}

#[test]
fn degraded_to_read_only() {
    let mut m = degraded();
    assert_eq!(
        m.handle_operator(Set, Millis(10)),
        tr(Mode::Degraded, Mode::ReadOnly, Reason::OperatorReadOnly, 10)
    );
}

#[test]
fn read_only_to_degraded_when_cleared_while_unhealthy() {
    let mut m = degraded();
    m.handle_operator(Set, Millis(10)).unwrap();
    assert_eq!(
        m.handle_operator(Clear, Millis(11)),
        tr(Mode::ReadOnly, Mode::Degraded, Reason::OperatorWritable, 11)
    );
    assert_eq!(m.mode(), Mode::Degraded);
}

#[test]
fn toggle_both_ways() {
    let mut m = machine();
    assert_eq!(
        m.handle_operator(Toggle, Millis(1)),
        tr(Mode::Normal, Mode::ReadOnly, Reason::OperatorReadOnly, 1)
    );
    assert_eq!(
        m.handle_operator(Toggle, Millis(2)),
        tr(Mode::ReadOnly, Mode::Normal, Reason::OperatorWritable, 2)
    );

    let mut m = degraded();
    assert_eq!(
        m.handle_operator(Toggle, Millis(10)),
        tr(Mode::Degraded, Mode::ReadOnly, Reason::OperatorReadOnly, 10)
    );
    assert_eq!(
        m.handle_operator(Toggle, Millis(11)),
        tr(Mode::ReadOnly, Mode::Degraded, Reason::OperatorWritable, 11)
    );
}

#[test]
fn toggle_from_initial_read_only() {
    let mut m = ModeMachine::new(ModeConfig::default(), true, Millis(0));
    assert_eq!(
        m.handle_operator(Toggle, Millis(5)),
        tr(Mode::ReadOnly, Mode::Normal, Reason::OperatorWritable, 5)
    );
}

// ---- hysteresis ----

#[test]
fn fewer_than_fail_threshold_failures_do_nothing() {
    let mut m = ModeMachine::new(cfg(5, 2), false, Millis(0));
    probes_none(&mut m, Storage, false, 4, 1);
    assert!(m.health(Storage));
    assert_eq!(m.mode(), Mode::Normal);
    assert!(m.handle_probe(Storage, false, Millis(5)).is_some());
}

#[test]
fn success_resets_failure_streak() {
    let mut m = machine();
    probes_none(&mut m, Storage, false, 2, 1);
    assert_eq!(m.handle_probe(Storage, true, Millis(3)), None);
    // The streak restarts: two more failures still do nothing.
    probes_none(&mut m, Storage, false, 2, 4);
    assert!(m.health(Storage));
    assert_eq!(
        m.handle_probe(Storage, false, Millis(6)),
        tr(Mode::Normal, Mode::Degraded, Reason::StorageUnhealthy, 6)
    );
}

#[test]
fn fewer_than_recover_threshold_successes_do_nothing() {
    let mut m = ModeMachine::new(cfg(1, 4), false, Millis(0));
    assert!(m.handle_probe(Storage, false, Millis(1)).is_some());
    probes_none(&mut m, Storage, true, 3, 2);
    assert!(!m.health(Storage));
    assert_eq!(m.mode(), Mode::Degraded);
    assert_eq!(
        m.handle_probe(Storage, true, Millis(5)),
        tr(Mode::Degraded, Mode::Normal, Reason::StorageRecovered, 5)
    );
}

#[test]
fn failure_resets_success_streak() {
    let mut m = degraded();
    assert_eq!(m.handle_probe(Storage, true, Millis(10)), None);
    assert_eq!(m.handle_probe(Storage, false, Millis(11)), None);
    // The success streak restarts: one success is not enough again.
    assert_eq!(m.handle_probe(Storage, true, Millis(12)), None);
    assert!(!m.health(Storage));
    assert_eq!(
        m.handle_probe(Storage, true, Millis(13)),
        tr(Mode::Degraded, Mode::Normal, Reason::StorageRecovered, 13)
    );
}

#[test]
fn failure_streak_restarts_after_recovery() {
    // The success streak that recovered a component does not carry over
    // into a head start for the next failure streak, nor the reverse.
    let mut m = degraded();
    probes_none(&mut m, Storage, true, 1, 10);
    assert!(m.handle_probe(Storage, true, Millis(11)).is_some());
    probes_none(&mut m, Storage, false, 2, 12);
    assert!(m.handle_probe(Storage, false, Millis(14)).is_some());
}

#[test]
fn thresholds_of_one() {
    let mut m = ModeMachine::new(cfg(1, 1), false, Millis(0));
    assert_eq!(
        m.handle_probe(Storage, false, Millis(1)),
        tr(Mode::Normal, Mode::Degraded, Reason::StorageUnhealthy, 1)
    );
    assert_eq!(
        m.handle_probe(Storage, true, Millis(2)),
        tr(Mode::Degraded, Mode::Normal, Reason::StorageRecovered, 2)
    );
    assert_eq!(
        m.handle_probe(Bus, false, Millis(3)),
        tr(Mode::Normal, Mode::Degraded, Reason::BusUnhealthy, 3)
    );
    assert_eq!(
        m.handle_probe(Bus, true, Millis(4)),
        tr(Mode::Degraded, Mode::Normal, Reason::BusRecovered, 4)
    );
}

// ---- no-op inputs ----

#[test]
fn set_twice_is_noop() {
    let mut m = machine();
    assert!(m.handle_operator(Set, Millis(1)).is_some());
    let before = m.clone();
    assert_eq!(m.handle_operator(Set, Millis(2)), None);
    assert_eq!(m, before);
}

#[test]
fn set_when_initially_read_only_is_noop() {
    let mut m = ModeMachine::new(ModeConfig::default(), true, Millis(0));
    assert_eq!(m.handle_operator(Set, Millis(1)), None);
    assert_eq!(m.last_transition().reason, Reason::Startup);
}

#[test]
fn clear_when_clear_is_noop() {
    let mut m = machine();
    let before = m.clone();
    assert_eq!(m.handle_operator(Clear, Millis(1)), None);
    assert_eq!(m, before);

    let mut m = degraded();
    let before = m.clone();
    assert_eq!(m.handle_operator(Clear, Millis(10)), None);
    assert_eq!(m, before);
}

#[test]
fn ok_probes_while_healthy_are_noops() {
    let mut m = machine();
    for c in Component::ALL {
        probes_none(&mut m, c, true, 10, 1);
    }
    assert_eq!(m.mode(), Mode::Normal);
    assert_eq!(m.last_transition().reason, Reason::Startup);
}

#[test]
fn failures_while_degraded_are_noops() {
    let mut m = degraded();
    let last = *m.last_transition();
    probes_none(&mut m, Storage, false, 10, 10);
    assert_eq!(m.last_transition(), &last);
    assert_eq!(m.mode(), Mode::Degraded);
}

// ---- read-only keeps counting ----

#[test]
fn probes_while_read_only_update_health_silently() {
    let mut m = ModeMachine::new(ModeConfig::default(), true, Millis(0));
    probes_none(&mut m, Storage, false, 3, 1);
    assert!(!m.health(Storage));
    assert_eq!(m.mode(), Mode::ReadOnly);
    probes_none(&mut m, Storage, true, 2, 4);
    assert!(m.health(Storage));
    probes_none(&mut m, Bus, false, 3, 6);
    assert!(!m.health(Bus));
    assert_eq!(m.mode(), Mode::ReadOnly);
    assert_eq!(m.last_transition().reason, Reason::Startup);
    // Clearing now lands in degraded because of the bus.
    assert_eq!(
        m.handle_operator(Clear, Millis(20)),
        tr(Mode::ReadOnly, Mode::Degraded, Reason::OperatorWritable, 20)
    );
}

#[test]
fn streak_started_before_read_only_continues_through_it() {
    let mut m = machine();
    probes_none(&mut m, Storage, false, 2, 1);
    m.handle_operator(Set, Millis(3)).unwrap();
    assert_eq!(m.handle_probe(Storage, false, Millis(4)), None);
    assert!(!m.health(Storage));
    assert_eq!(
        m.handle_operator(Clear, Millis(5)),
        tr(Mode::ReadOnly, Mode::Degraded, Reason::OperatorWritable, 5)
    );
}

#[test]
fn recovery_while_read_only_then_clear_goes_normal() {
    let mut m = degraded();
    m.handle_operator(Set, Millis(10)).unwrap();
    probes_none(&mut m, Storage, true, 2, 11);
    assert!(m.health(Storage));
    assert_eq!(
        m.handle_operator(Clear, Millis(13)),
        tr(Mode::ReadOnly, Mode::Normal, Reason::OperatorWritable, 13)
    );
}

// ---- two components ----

#[test]
fn two_components_must_both_recover() {
    let mut m = ModeMachine::new(cfg(1, 1), false, Millis(0));
    assert_eq!(
        m.handle_probe(Storage, false, Millis(1)),
        tr(Mode::Normal, Mode::Degraded, Reason::StorageUnhealthy, 1)
    );
    // The bus going down too changes no mode.
    assert_eq!(m.handle_probe(Bus, false, Millis(2)), None);
    assert!(!m.health(Bus));
    // Storage recovering leaves the machine degraded, silently.
    assert_eq!(m.handle_probe(Storage, true, Millis(3)), None);
    assert!(m.health(Storage));
    assert_eq!(m.mode(), Mode::Degraded);
    assert_eq!(
        m.handle_probe(Bus, true, Millis(4)),
        tr(Mode::Degraded, Mode::Normal, Reason::BusRecovered, 4)
    );
}

#[test]
fn components_count_streaks_independently() {
    let mut m = machine();
    // Interleaved failures: neither component reaches three in a row of
    // its own until the third failure of each.
    for t in 0..2 {
        assert_eq!(m.handle_probe(Storage, false, Millis(2 * t)), None);
        assert_eq!(m.handle_probe(Bus, false, Millis(2 * t + 1)), None);
    }
    // An ok bus probe does not reset storage's streak.
    assert_eq!(m.handle_probe(Bus, true, Millis(10)), None);
    assert_eq!(
        m.handle_probe(Storage, false, Millis(11)),
        tr(Mode::Normal, Mode::Degraded, Reason::StorageUnhealthy, 11)
    );
    assert!(m.health(Bus));
}

// ---- serialization ----

#[test]
fn transition_json_shape() {
    let t = Transition {
        from: Mode::Normal,
        to: Mode::Degraded,
        reason: Reason::StorageUnhealthy,
        at: Millis(1234),
    };
    let json = r#"{"from":"normal","to":"degraded","reason":"storage_unhealthy","at":1234}"#;
    assert_eq!(t.to_json(), json);
    assert_eq!(serde_json::from_str::<Transition>(json).unwrap(), t);
}

#[test]
fn enum_names_match_serde() {
    for mode in [Mode::Normal, Mode::ReadOnly, Mode::Degraded] {
        let json = serde_json::to_string(&mode).unwrap();
        assert_eq!(json, format!("\"{mode}\""));
        assert_eq!(mode.as_str().parse::<Mode>(), Ok(mode));
    }
    assert_eq!(
        "Normal".parse::<Mode>(),
        Err(ModeError::UnknownMode("Normal".into()))
    );
    for c in Component::ALL {
        assert_eq!(serde_json::to_string(&c).unwrap(), format!("\"{c}\""));
    }
    for r in [
        Reason::Startup,
        Reason::OperatorReadOnly,
        Reason::OperatorWritable,
        Reason::StorageUnhealthy,
        Reason::StorageRecovered,
        Reason::BusUnhealthy,
        Reason::BusRecovered,
    ] {
        assert_eq!(serde_json::to_string(&r).unwrap(), format!("\"{r}\""));
    }
    assert_eq!(serde_json::to_string(&Toggle).unwrap(), "\"toggle\"");
}

#[test]
fn write_refusal() {
    assert!(!Mode::Normal.refuses_all_writes());
    assert!(!Mode::Normal.refuses_storage_writes());
    assert!(!Mode::Degraded.refuses_all_writes());
    assert!(Mode::Degraded.refuses_storage_writes());
    assert!(Mode::ReadOnly.refuses_all_writes());
    assert!(Mode::ReadOnly.refuses_storage_writes());
}

#[test]
fn at_is_the_time_passed_in() {
    // Time is only carried, never checked: even a time earlier than the
    // previous one is reported as given.
    let mut m = ModeMachine::new(cfg(1, 1), false, Millis(1_000));
    assert_eq!(m.handle_operator(Set, Millis(777)).unwrap().at, Millis(777));
    assert_eq!(m.last_transition().at, Millis(777));
    assert_eq!(
        m.handle_operator(Clear, Millis(u64::MAX)).unwrap().at,
        Millis(u64::MAX)
    );
    assert_eq!(m.handle_probe(Bus, false, Millis(5)).unwrap().at, Millis(5));
}

// ---- exhaustive invariants over short input sequences ----

#[derive(Debug, Clone, Copy)]
enum Input {
    Op(OperatorInput),
    Probe(Component, bool),
}

const INPUTS: [Input; 7] = [
    Input::Op(Set),
    Input::Op(Clear),
    Input::Op(Toggle),
    Input::Probe(Storage, true),
    Input::Probe(Storage, false),
    Input::Probe(Bus, true),
    Input::Probe(Bus, false),
];

/// Every sequence of up to `LEN` inputs, from both initial flags, with
/// thresholds (2, 2): transitions chain, appear exactly when the mode
/// changes, and the mode always follows the precedence rule.
#[test]
fn invariants_hold_for_all_short_sequences() {
    const LEN: u32 = 6;
    let total = INPUTS.len().pow(LEN);
    for initial_read_only in [false, true] {
        for mut code in 0..total {
            let mut m = ModeMachine::new(cfg(2, 2), initial_read_only, Millis(0));
            for step in 1..=u64::from(LEN) {
                let input = INPUTS[code % INPUTS.len()];
                code /= INPUTS.len();
                let before = m.mode();
                let last_before = *m.last_transition();
                let now = Millis(step);
                let out = match input {
                    Input::Op(op) => m.handle_operator(op, now),
                    Input::Probe(c, ok) => m.handle_probe(c, ok, now),
                };
                let expected = if m.is_read_only() {
                    Mode::ReadOnly
                } else if Component::ALL.iter().any(|&c| !m.health(c)) {
                    Mode::Degraded
                } else {
                    Mode::Normal
                };
                assert_eq!(m.mode(), expected, "{input:?}");
                match out {
                    Some(t) => {
                        assert_eq!((t.from, t.to, t.at), (before, m.mode(), now));
                        assert_ne!(t.from, t.to);
                        assert_eq!(m.last_transition(), &t);
                    }
                    None => {
                        assert_eq!(m.mode(), before, "{input:?}");
                        assert_eq!(m.last_transition(), &last_before);
                    }
                }
                if let Input::Op(Toggle) = input {
                    assert!(out.is_some(), "toggle is never a no-op");
                }
            }
        }
    }
}
