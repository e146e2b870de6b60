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
use crate::sim::topics::{ClientFilter, MatchType, TopicMatcher, Update};

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
    /// | `filter:<name>:<fields>` | the selectors and grants of `name`'s next connections |
    /// | `update:<fields>` | one update with topics (see [`Sim::publish_update`]) |
    ///
    /// `<fields>` are `;`-separated `key=value` pairs, values
    /// percent-encoded where they hold `%`, `,`, `;`, `&`, `+`, `#`,
    /// spaces, quotes, braces or other characters outside
    /// `[A-Za-z0-9-._~/:*?@!$'()=[]]`. A filter's keys are `match`,
    /// `match_urlpattern` and `match_uritemplate` (selectors; none selects
    /// every event) and `grant`, `grant_urlpattern` and `grant_uritemplate`
    /// (what its token grants), each repeatable. An update's are `type`,
    /// `topic` (repeatable), `private=on`, `id` and `data`.
    ///
    /// ```
    /// use tidings_wasm::sim::{Sim, SimConfig};
    /// let mut sim = Sim::new(SimConfig::default()).unwrap();
    /// sim.apply("connect:A").unwrap();
    /// sim.apply("event:note:a%2Cb").unwrap();
    /// assert_eq!(sim.log("A", 0).unwrap().last().unwrap().data.as_deref(), Some("a,b"));
    /// assert!(sim.apply("jump:3").is_err());
    /// assert_eq!(sim.script(), "connect:A,event:note:a%2Cb");
    ///
    /// sim.apply("filter:B:match_urlpattern=/items/:pn;grant=*").unwrap();
    /// sim.apply("connect:B").unwrap();
    /// sim.apply("update:type=note;topic=https://example.com/items/P-001;private=on;data=%7B%7D").unwrap();
    /// sim.apply("advance:1").unwrap(); // the flush after A's event
    /// let seen = |name| sim.log(name, 0).unwrap().last().unwrap().data.clone();
    /// assert_eq!(seen("B").as_deref(), Some("{}"));
    /// assert_eq!(seen("A").as_deref(), Some("a,b"), "A has no grant");
    /// assert!(sim.apply("filter:B:match_regex=.*").is_err());
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
            "filter" => {
                let (name, fields) = arg.split_once(':').ok_or_else(bad)?;
                self.set_filter(name, parse_filter(fields).ok_or_else(bad)?)
            }
            "update" => self
                .publish_update(&parse_update(arg).ok_or_else(bad)?)
                .map(drop),
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

/// Bytes a script value keeps as they are: none separates actions (`,`,
/// whitespace) or fields (`;`), none is special in a URL query (`&`, `+`,
/// `#`, `%`), so topics and URL patterns stay readable.
fn keeps(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~/:*?@!$'()=[]".contains(&b)
}

/// Percent-encodes what [`keeps`] does not keep; [`percent_decode`]
/// reverses it.
fn encode_value(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if keeps(b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The `key=value` fields of a `filter` or `update` action, decoded; `None`
/// if one has no `=` or a bad escape.
fn fields(text: &str) -> Option<Vec<(&str, String)>> {
    text.split(';')
        .filter(|f| !f.is_empty())
        .map(|f| {
            let (key, value) = f.split_once('=')?;
            Some((key, percent_decode(value)?))
        })
        .collect()
}

/// A filter in canonical script form: selectors, then grants, in order.
///
/// ```
/// use tidings_wasm::sim::{ClientFilter, MatchType, Sim, SimConfig, TopicMatcher};
/// let filter = ClientFilter {
///     selectors: vec![TopicMatcher::new(MatchType::Exact, "https://example.com/a b")],
///     grants: vec![TopicMatcher::new(MatchType::Uritemplate, "https://example.com/{x}")],
/// };
/// let mut sim = Sim::new(SimConfig::default()).unwrap();
/// sim.set_filter("A", filter).unwrap();
/// assert_eq!(sim.script(), "filter:A:match=https://example.com/a%20b;grant_uritemplate=https://example.com/%7Bx%7D");
/// ```
pub(super) fn filter_text(filter: &ClientFilter) -> String {
    let item = |prefix: &str, m: &TopicMatcher| match m.match_type {
        MatchType::Exact => format!("{prefix}={}", encode_value(&m.pattern)),
        t => format!("{prefix}_{}={}", t.name(), encode_value(&m.pattern)),
    };
    let selectors = filter.selectors.iter().map(|m| item("match", m));
    let grants = filter.grants.iter().map(|m| item("grant", m));
    selectors.chain(grants).collect::<Vec<_>>().join(";")
}

fn parse_filter(text: &str) -> Option<ClientFilter> {
    let mut filter = ClientFilter::default();
    for (key, value) in fields(text)? {
        let (list, kind) = key.split_once('_').unwrap_or((key, "exact"));
        let match_type = match kind {
            "exact" => MatchType::Exact,
            "urlpattern" => MatchType::Urlpattern,
            "uritemplate" => MatchType::Uritemplate,
            _ => return None,
        };
        let matcher = TopicMatcher::new(match_type, &value);
        match list {
            "match" => filter.selectors.push(matcher),
            "grant" => filter.grants.push(matcher),
            _ => return None,
        }
    }
    Some(filter)
}

/// An update in canonical script form: `type`, each `topic`, `private`,
/// `id`, then `data` (always).
pub(super) fn update_text(update: &Update) -> String {
    let mut out = Vec::new();
    if let Some(kind) = &update.event_type {
        out.push(format!("type={}", encode_value(kind)));
    }
    for topic in &update.topics {
        out.push(format!("topic={}", encode_value(topic)));
    }
    if update.private {
        out.push("private=on".to_owned());
    }
    if let Some(id) = &update.id {
        out.push(format!("id={}", encode_value(id)));
    }
    out.push(format!("data={}", encode_value(&update.data)));
    out.join(";")
}

fn parse_update(text: &str) -> Option<Update> {
    let mut update = Update::default();
    let mut seen_data = false;
    for (key, value) in fields(text)? {
        match key {
            "type" if update.event_type.is_none() => update.event_type = Some(value),
            "topic" => update.topics.push(value),
            "private" if value == "on" && !update.private => update.private = true,
            "id" if update.id.is_none() => update.id = Some(value),
            "data" if !seen_data => {
                update.data = value;
                seen_data = true;
            }
            _ => return None,
        }
    }
    Some(update)
}
