//! 200 SSE clients over real sockets drop and reconnect with their last id
//! at random — by header or by query parameter, mid-burst, right after
//! connecting, while idle — while ~500 events are published through
//! `POST /api/publish`. With a ring that covers everything, every client
//! ends up with every event exactly once, in order.
//!
//! The schedule comes from a seeded xorshift; the seed is printed, and
//! `TIDINGS_CHAOS_SEED=<n>` replays one (as far as the network allows).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tidings_tests::{EDITOR_TOKEN, SseClient, Tidings};
use tokio::sync::Semaphore;

const CLIENTS: usize = 200;
const EVENTS: usize = 500;
const PUBLISHERS: usize = 4;
const CONNECT_CONCURRENCY: usize = 50;
/// Every client must have everything within this time after the last
/// publish was acknowledged (publishing itself is paced, and slower on a
/// loaded machine, so the deadline follows it).
const DEADLINE: Duration = Duration::from_secs(30);
/// A bound on the whole run, should publishing never finish.
const RUN_LIMIT: Duration = Duration::from_secs(600);

/// xorshift64*: small, seeded, good enough for a schedule.
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        // Never zero, and distinct streams for nearby seeds.
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `0..n`.
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// True with probability `1 / n`.
    fn one_in(&mut self, n: u64) -> bool {
        self.below(n) == 0
    }
}

fn seq(id: &str) -> u64 {
    id.rsplit_once('-')
        .and_then(|(_, s)| s.parse().ok())
        .unwrap_or_else(|| panic!("not an event id: {id:?}"))
}

/// What one client saw.
#[derive(Debug, Default)]
struct Outcome {
    /// Ids of `chaos.tick` events, in arrival order, across reconnects.
    ids: Vec<String>,
    connects: usize,
    /// Control events other than the connect-time state and heartbeats.
    unexpected: Vec<String>,
    /// Ids that did not increase (any kind).
    out_of_order: Vec<(String, String)>,
}

struct Shared {
    url: String,
    epoch: String,
    connect: Semaphore,
    /// Set once every event was published: `total` holds the count.
    published: AtomicBool,
    total: AtomicUsize,
    started: Instant,
    /// Milliseconds after `started` by which clients must be done.
    deadline_ms: AtomicU64,
}

impl Shared {
    fn past_deadline(&self) -> bool {
        self.started.elapsed().as_millis() as u64 > self.deadline_ms.load(Ordering::SeqCst)
    }
}

async fn run_client(shared: Arc<Shared>, mut rng: Rng) -> Outcome {
    let mut out = Outcome::default();
    // "Before the first event": a client that connects late still replays
    // from the start, so the comparison covers every event.
    let mut last_id = format!("{}-0", shared.epoch);
    let mut last_seq = 0;
    loop {
        if shared.published.load(Ordering::SeqCst)
            && out.ids.len() >= shared.total.load(Ordering::SeqCst)
        {
            return out;
        }
        if shared.past_deadline() {
            return out;
        }
        let mut client = {
            let _permit = shared.connect.acquire().await.expect("semaphore");
            if rng.one_in(3) {
                let url = format!("{}?last_event_id={last_id}", shared.url);
                SseClient::connect(&url, None).await
            } else {
                SseClient::connect(&shared.url, Some(&last_id)).await
            }
        };
        out.connects += 1;
        assert_eq!(client.status, 200, "stream refused");

        // How this connection will end: at once, after some events, or
        // after a quiet spell.
        if rng.one_in(10) {
            continue;
        }
        let mut budget = if rng.one_in(2) {
            rng.below(20)
        } else {
            rng.below(150)
        };
        let patience = Duration::from_millis(50 + rng.below(400));
        loop {
            let Some(ev) = client.next(patience).await else {
                // Quiet (or ended): reconnect, unless done.
                break;
            };
            match ev.id.as_deref() {
                None => match ev.event.as_str() {
                    "server.state" | "heartbeat" => {}
                    _ => out.unexpected.push(format!("{}: {}", ev.event, ev.data)),
                },
                Some(id) => {
                    let s = seq(id);
                    if s <= last_seq || !id.starts_with(&shared.epoch) {
                        out.out_of_order.push((last_id.clone(), id.to_string()));
                    }
                    last_seq = s;
                    last_id = id.to_string();
                    if ev.event == "chaos.tick" {
                        out.ids.push(id.to_string());
                    }
                    // The cursor at this event is what a browser would
                    // send if it dropped now.
                    assert_eq!(ev.last_event_id, id);
                    if budget == 0 {
                        break;
                    }
                    budget -= 1;
                }
            }
            if shared.published.load(Ordering::SeqCst)
                && out.ids.len() >= shared.total.load(Ordering::SeqCst)
            {
                return out;
            }
            if shared.past_deadline() {
                return out;
            }
        }
        // Sometimes come back at once, sometimes after a short absence.
        if rng.one_in(2) {
            drop(client);
            tokio::time::sleep(Duration::from_millis(rng.below(100))).await;
        }
    }
}

async fn run_publisher(server_url: String, mut rng: Rng, from: usize, to: usize) -> Vec<String> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");
    let mut ids = Vec::new();
    for n in from..to {
        let resp = client
            .post(&server_url)
            .bearer_auth(EDITOR_TOKEN)
            .json(&json!({ "type": "chaos.tick", "data": { "n": n } }))
            .send()
            .await
            .expect("publish request");
        assert_eq!(resp.status().as_u16(), 202, "publish {n}");
        let body: Value = resp.json().await.expect("JSON");
        ids.push(body["id"].as_str().expect("id").to_string());
        // Pacing, so the publishing (~5 s) overlaps many reconnects; now
        // and then a burst with no pause.
        if !rng.one_in(5) {
            tokio::time::sleep(Duration::from_millis(rng.below(50))).await;
        }
    }
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_reconnecting_at_random_see_every_event_once_in_order() {
    let seed: u64 = std::env::var("TIDINGS_CHAOS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .expect("clock")
                .as_nanos() as u64
        });
    println!("reconnect_chaos seed: {seed} (TIDINGS_CHAOS_SEED={seed} replays it)");
    let mut rng = Rng::new(seed);

    // Heartbeats every second, so streams dropped by clients are released
    // soon enough to check that none leaks.
    let server = Tidings::start(&["--history-size", "10000", "--heartbeat-interval", "1s"]).await;
    let (_, health) = server.get_json("/health").await;
    let epoch = health["epoch"].as_str().expect("epoch").to_string();
    let started = Instant::now();

    let shared = Arc::new(Shared {
        url: server.url("/api/events"),
        epoch,
        connect: Semaphore::new(CONNECT_CONCURRENCY),
        published: AtomicBool::new(false),
        total: AtomicUsize::new(usize::MAX),
        started,
        deadline_ms: AtomicU64::new(RUN_LIMIT.as_millis() as u64),
    });
    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| tokio::spawn(run_client(shared.clone(), Rng::new(rng.next()))))
        .collect();

    let per = EVENTS / PUBLISHERS;
    let publishers: Vec<_> = (0..PUBLISHERS)
        .map(|p| {
            tokio::spawn(run_publisher(
                server.url("/api/publish"),
                Rng::new(rng.next()),
                p * per,
                (p + 1) * per,
            ))
        })
        .collect();
    let mut published = Vec::new();
    for p in publishers {
        published.extend(p.await.expect("publisher"));
    }
    published.sort_by_key(|id| seq(id));
    let publish_time = started.elapsed();
    shared.total.store(published.len(), Ordering::SeqCst);
    shared.published.store(true, Ordering::SeqCst);
    let done_by = started.elapsed() + DEADLINE;
    shared
        .deadline_ms
        .store(done_by.as_millis() as u64, Ordering::SeqCst);
    assert_eq!(published.len(), EVENTS);

    let mut failures = Vec::new();
    let mut connects = 0;
    for (i, client) in clients.into_iter().enumerate() {
        let out = client.await.unwrap_or_else(|e| {
            panic!("client {i} panicked (seed {seed}): {e}");
        });
        connects += out.connects;
        if !out.unexpected.is_empty() {
            failures.push(format!(
                "client {i}: unexpected control events {:?}",
                out.unexpected
            ));
        }
        if !out.out_of_order.is_empty() {
            failures.push(format!(
                "client {i}: ids out of order {:?}",
                &out.out_of_order[..out.out_of_order.len().min(5)]
            ));
        }
        if out.ids != published {
            let missing = published.iter().filter(|id| !out.ids.contains(id)).count();
            let extra = out.ids.len() + missing - published.len();
            failures.push(format!(
                "client {i}: {} ids after {} connects, {missing} missing, {extra} extra; \
                 first difference at index {:?}",
                out.ids.len(),
                out.connects,
                out.ids
                    .iter()
                    .zip(&published)
                    .position(|(a, b)| a != b)
                    .unwrap_or(out.ids.len().min(published.len())),
            ));
        }
    }
    let total = started.elapsed();
    println!(
        "seed {seed}: {CLIENTS} clients, {EVENTS} events published in {publish_time:?}, \
         {connects} connects, all done in {total:?}"
    );
    assert!(
        failures.is_empty(),
        "seed {seed} (TIDINGS_CHAOS_SEED={seed} replays it): {} of {CLIENTS} clients \
         went wrong:\n{}",
        failures.len(),
        failures[..failures.len().min(20)].join("\n")
    );

    // Every dropped stream is released (within two heartbeats): no
    // subscription leaks across thousands of reconnects.
    let drained = Instant::now();
    loop {
        let (_, health) = server.get_json("/health").await;
        if health["sse_clients"] == 0 {
            break;
        }
        assert!(
            drained.elapsed() < Duration::from_secs(20),
            "seed {seed}: {} streams still open {:?} after every client left",
            health["sse_clients"],
            drained.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    println!(
        "every stream released {:?} after the run",
        drained.elapsed()
    );
}
