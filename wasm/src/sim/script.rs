//! The script language: each action as a short piece of text, so that a
//! whole scenario fits in a URL and replays exactly.
//!
//! Each successful action is recorded in canonical form (the form
//! [`Sim::script`] returns); a refused one is not. Applying a script to a
//! new simulation with the same [`SimConfig`](crate::sim::SimConfig) goes
//! through the same public actions, so it ends in the same state.

use tidings_core::mode::OperatorInput;

use crate::sim::Sim;
use crate::sim::config::SimError;

impl Sim {
    /// Applies one action in the script's text form:
    ///
    /// | action | effect |
    /// |---|---|
    /// | `publish:<n>` | a burst of `n` events at once |
    /// | `stream:<n>` | `n` events, one per millisecond |
    /// | `event:<type>:<data>` | one event (data percent-encoded) |
    /// | `connect:<name>` | connect with the client's last id |
    /// | `connect-live:<name>` | connect without a last id |
    /// | `connect-id:<name>:<id>` | connect sending `id` (percent-encoded) |
    /// | `disconnect:<name>`, `stall:<name>`, `resume:<name>` | |
    /// | `advance:<ms>` | let time pass |
    /// | `probe:ok`, `probe:fail` | one storage probe |
    /// | `storage:up`, `storage:down` | what periodic probes find |
    /// | `read-only:on`, `read-only:off`, `read-only:toggle` | operator flag |
    /// | `latency:<ms>` | each write of the publish intake takes `ms` from now on |
    /// | `heartbeat`, `chaos:<steps>` | |
    ///
    /// ```
    /// use tidings_wasm::sim::{Sim, SimConfig};
    /// let mut sim = Sim::new(SimConfig::default()).unwrap();
    /// sim.apply("connect:A").unwrap();
    /// sim.apply("event:note:a%2Cb").unwrap();
    /// assert_eq!(sim.log("A", 0).unwrap().last().unwrap().data.as_deref(), Some("a,b"));
    /// assert!(sim.apply("jump:3").is_err());
    /// assert_eq!(sim.script(), "connect:A,event:note:a%2Cb");
    /// ```
    pub fn apply(&mut self, action: &str) -> Result<(), SimError> {
        let bad = || SimError::BadAction(action.to_owned());
        let (verb, arg) = action.split_once(':').unwrap_or((action, ""));
        let number = |text: &str| text.parse::<u64>().map_err(|_| bad());
        match verb {
            "publish" => self.publish_burst(number(arg)?).map(drop),
            "stream" => self.publish_stream(number(arg)?).map(drop),
            "event" => {
                let (kind, data) = arg.split_once(':').ok_or_else(bad)?;
                let data = percent_decode(data).ok_or_else(bad)?;
                self.publish(kind, &data).map(drop)
            }
            "connect" => self.connect(arg, true),
            "connect-live" => self.connect(arg, false),
            "connect-id" => {
                let (name, id) = arg.split_once(':').ok_or_else(bad)?;
                let id = percent_decode(id).ok_or_else(bad)?;
                self.connect_from(name, &id)
            }
            "disconnect" => self.disconnect(arg),
            "stall" => self.stall(arg),
            "resume" => self.resume(arg),
            "advance" => self.advance(number(arg)?).map(drop),
            "latency" => self.set_commit_latency(number(arg)?),
            "probe" | "storage" => {
                let up = match arg {
                    "ok" if verb == "probe" => true,
                    "fail" if verb == "probe" => false,
                    "up" if verb == "storage" => true,
                    "down" if verb == "storage" => false,
                    _ => return Err(bad()),
                };
                if verb == "probe" {
                    self.probe(up);
                } else {
                    self.set_storage(up);
                }
                Ok(())
            }
            "read-only" => {
                let input = match arg {
                    "on" => OperatorInput::Set,
                    "off" => OperatorInput::Clear,
                    "toggle" => OperatorInput::Toggle,
                    _ => return Err(bad()),
                };
                self.operator(input);
                Ok(())
            }
            "heartbeat" if arg.is_empty() => {
                self.heartbeat();
                Ok(())
            }
            "chaos" => {
                let steps = u32::try_from(number(arg)?).map_err(|_| bad())?;
                self.chaos(steps)
            }
            _ => Err(bad()),
        }
    }

    /// Applies a comma- or whitespace-separated list of actions, stopping
    /// at the first that fails.
    pub fn apply_script(&mut self, script: &str) -> Result<(), SimError> {
        let actions = script
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|a| !a.is_empty());
        for (index, action) in actions.enumerate() {
            self.apply(action).map_err(|e| SimError::Script {
                index,
                action: action.to_owned(),
                source: Box::new(e),
            })?;
        }
        Ok(())
    }

    /// Adds a successful action, in canonical form, to the script.
    pub(super) fn record(&mut self, action: String) {
        // A page whose clock follows real time advances every frame; one
        // `advance:<a+b>` does exactly what `advance:<a>,advance:<b>` does
        // (no action comes between them, and every timer, a write's commit
        // included, falls due at the same time either way), so the script
        // stays short.
        let ms = |a: &str| {
            a.strip_prefix("advance:")
                .and_then(|n| n.parse::<u64>().ok())
        };
        if let (Some(add), Some(prev)) = (ms(&action), self.script.last().and_then(|l| ms(l))) {
            *self.script.last_mut().expect("checked") = format!("advance:{}", prev + add);
            return;
        }
        self.script.push(action);
    }
}

/// Percent-encodes everything outside `[A-Za-z0-9._~-]`, so any text fits
/// in a script action (and a URL).
///
/// ```
/// use tidings_wasm::sim::{percent_decode, percent_encode};
/// assert_eq!(percent_encode(r#"{"a":1, "é":2}"#), "%7B%22a%22%3A1%2C%20%22%C3%A9%22%3A2%7D");
/// assert_eq!(percent_decode("%7B%22a%22%3A1%2C%20%22%C3%A9%22%3A2%7D").unwrap(), r#"{"a":1, "é":2}"#);
/// assert_eq!(percent_decode("%G1"), None);
/// ```
pub fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'~' | b'-') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Reverses [`percent_encode`]; `None` for a bad escape or invalid UTF-8.
pub fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            if !hex.iter().all(u8::is_ascii_hexdigit) {
                return None;
            }
            let hex = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}
