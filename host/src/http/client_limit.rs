//! Concurrent streams per client (`--max-streams-per-client`): by source
//! address and by token subject, each counted on its own, so neither one
//! address (a script opening streams in a loop) nor one token (shared or
//! leaked) can take the server's `--max-clients` for itself. A stream
//! beyond the limit answers `429` with `Retry-After`.
//!
//! The source address is the connection's peer; when the peer is one of
//! `--trusted-proxy` (addresses or CIDR ranges), it is the nearest address
//! in `X-Forwarded-For` that is not itself a trusted proxy — the one a
//! client cannot forge past the proxies the operator runs.
//!
//! Without a limit nothing is counted, and opening a stream takes no lock.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use ipnet::IpNet;

use crate::http::error::ApiError;

/// What a stream is counted under.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Addr(IpAddr),
    Subject(String),
}

type Counts = Arc<Mutex<HashMap<Key, usize>>>;

/// The per-client stream counts and the proxies trusted to name clients.
#[derive(Debug, Default)]
pub struct ClientLimit {
    max: Option<usize>,
    trusted: Vec<IpNet>,
    counts: Counts,
}

/// A stream's place in the counts, given back when it is dropped.
#[derive(Debug)]
pub struct Slot {
    keys: Vec<Key>,
    counts: Counts,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        for key in &self.keys {
            if let Some(n) = counts.get_mut(key) {
                *n -= 1;
                if *n == 0 {
                    counts.remove(key);
                }
            }
        }
    }
}

/// Parses a `--trusted-proxy` value: an address (`10.0.0.7`, `::1`) or a
/// CIDR range (`10.0.0.0/8`).
pub fn trusted_proxy(text: &str) -> Result<IpNet, String> {
    let text = text.trim();
    text.parse::<IpNet>()
        .or_else(|_| text.parse::<IpAddr>().map(IpNet::from))
        .map_err(|_| format!("{text:?} is neither an IP address nor a CIDR range"))
}

impl ClientLimit {
    /// At most `max` concurrent streams per address and per subject
    /// (`None`: unlimited); `trusted` proxies may name the client.
    pub fn new(max: Option<usize>, trusted: Vec<IpNet>) -> ClientLimit {
        ClientLimit {
            max,
            trusted,
            counts: Counts::default(),
        }
    }

    /// The client's address: `peer`, or when `peer` is a trusted proxy,
    /// the nearest untrusted address of `forwarded` (`X-Forwarded-For`,
    /// every occurrence joined by commas).
    pub fn client_addr(&self, peer: IpAddr, forwarded: Option<&str>) -> IpAddr {
        if !self.is_trusted(peer) {
            return peer;
        }
        let mut client = peer;
        for hop in forwarded.unwrap_or("").rsplit(',') {
            match hop.trim().parse::<IpAddr>() {
                Ok(addr) => {
                    client = addr;
                    if !self.is_trusted(addr) {
                        break;
                    }
                }
                // A hop that is not an address ends what can be believed.
                Err(_) => break,
            }
        }
        client
    }

    fn is_trusted(&self, addr: IpAddr) -> bool {
        let addr = canonical(addr);
        self.trusted.iter().any(|net| net.contains(&addr))
    }

    /// Counts a new stream of `addr` and `subject`, or refuses it with 429
    /// when either already has the limit. `retry_after` is in seconds.
    pub fn admit(
        &self,
        addr: IpAddr,
        subject: Option<&str>,
        retry_after: u64,
    ) -> Result<Option<Slot>, ApiError> {
        let Some(max) = self.max else {
            return Ok(None);
        };
        let mut keys = vec![Key::Addr(canonical(addr))];
        keys.extend(subject.map(|s| Key::Subject(s.to_owned())));
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(full) = keys
            .iter()
            .find(|k| counts.get(k).is_some_and(|n| *n >= max))
        {
            let by = match full {
                Key::Addr(_) => "address",
                Key::Subject(_) => "token subject",
            };
            return Err(ApiError::too_many(
                "too_many_streams",
                format!("this {by} already has {max} open streams"),
                retry_after,
            ));
        }
        for key in &keys {
            *counts.entry(key.clone()).or_default() += 1;
        }
        Ok(Some(Slot {
            keys,
            counts: self.counts.clone(),
        }))
    }
}

/// An IPv4 address mapped into IPv6 counts as the IPv4 address.
fn canonical(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(addr, IpAddr::V4),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let limit = ClientLimit::new(
            Some(1),
            vec![
                trusted_proxy("10.0.0.0/8").unwrap(),
                trusted_proxy("::1").unwrap(),
            ],
        );
        let xff = Some("203.0.113.9, 198.51.100.2, 10.1.1.1");
        // An untrusted peer is the client, whatever it says.
        assert_eq!(limit.client_addr(ip("192.0.2.1"), xff), ip("192.0.2.1"));
        // Through trusted proxies: the nearest untrusted hop.
        assert_eq!(limit.client_addr(ip("10.0.0.7"), xff), ip("198.51.100.2"));
        assert_eq!(
            limit.client_addr(ip("::1"), Some("10.2.2.2")),
            ip("10.2.2.2")
        );
        // A trusted peer with no header, or garbage, is itself the client.
        assert_eq!(limit.client_addr(ip("10.0.0.7"), None), ip("10.0.0.7"));
        assert_eq!(
            limit.client_addr(ip("10.0.0.7"), Some("nonsense")),
            ip("10.0.0.7")
        );
        assert_eq!(
            limit.client_addr(ip("::ffff:10.0.0.7"), Some("192.0.2.5")),
            ip("192.0.2.5")
        );
        assert!(trusted_proxy("10.0.0.0/33").is_err());
        assert!(trusted_proxy("proxy.example").is_err());
    }

    #[test]
    fn each_address_and_subject_has_its_own_count() {
        let limit = ClientLimit::new(Some(2), vec![]);
        let a = ip("192.0.2.1");
        let first = limit.admit(a, Some("alice"), 2).unwrap();
        let second = limit.admit(ip("192.0.2.2"), Some("alice"), 2).unwrap();
        // Alice has two; a third stream of hers is refused from anywhere.
        let refused = limit.admit(ip("192.0.2.3"), Some("alice"), 2).unwrap_err();
        assert_eq!(refused.status().as_u16(), 429);
        // The address still has room for someone else.
        let bob = limit.admit(a, Some("bob"), 2).unwrap();
        assert_eq!(limit.admit(a, None, 2).unwrap_err().status().as_u16(), 429);
        drop(first);
        let again = limit.admit(a, Some("alice"), 2).unwrap();
        drop((second, bob, again));
        assert!(
            limit.counts.lock().unwrap().is_empty(),
            "every slot given back"
        );
        // Unlimited: nothing counted.
        assert!(ClientLimit::default().admit(a, None, 2).unwrap().is_none());
    }
}
