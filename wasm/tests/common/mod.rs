//! What the simulator's test files share: reading a log, and declaring a
//! test that runs natively and under Node in wasm32. Each test file uses
//! some of it.
#![allow(dead_code)]

use tidings_wasm::sim::{LogEntry, LogKind};

/// Declares each `fn` as a test natively and as a `wasm_bindgen_test` in
/// wasm32 (the file imports `wasm_bindgen_test` on wasm32).
macro_rules! both {
    ($($(#[$meta:meta])* fn $name:ident() $body:block)*) => {$(
        $(#[$meta])*
        #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test)]
        #[cfg_attr(not(target_arch = "wasm32"), test)]
        fn $name() $body
    )*};
}

/// The entries of `log` of `kind`.
pub fn of_kind(log: &[LogEntry], kind: LogKind) -> Vec<&LogEntry> {
    log.iter().filter(|e| e.kind == kind).collect()
}

/// The seq of a stored event's entry.
pub fn seq(e: &LogEntry) -> u64 {
    e.id.as_deref()
        .unwrap()
        .rsplit_once('-')
        .unwrap()
        .1
        .parse()
        .unwrap()
}

/// The seqs of the stored events in `log`, in order.
pub fn seqs(log: &[LogEntry]) -> Vec<u64> {
    of_kind(log, LogKind::Event).into_iter().map(seq).collect()
}
