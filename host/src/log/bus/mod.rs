//! The Redis Streams bus shared by several nodes.
//!
//! Every node appends its publishes to one Redis stream and feeds the stream,
//! in stream order, into its local broker. Ids are global because Redis
//! assigns them: the stream's entry ids are `0-<seq>`, and `XADD … 0-*` makes
//! Redis pick the next sequence number of the stream atomically, so seqs are
//! contiguous and identical on every node. The epoch lives in a second key;
//! a small server-side script appends only while it still names the epoch
//! the node knows, so a node never publishes into a history it does not
//! follow.
//!
//! - Keys: `{<key>}:v2:epoch`, `{<key>}:v2:events` and three hashes that
//!   map publisher-supplied ids to seqs (`…:ids-first`, `…:ids-last`,
//!   `…:ids-next`), all with the hash tag `{<key>}` so they share a slot in
//!   Redis Cluster. `v2` is the entry format: fields `d` (data), and when
//!   present `k` (kind), `t` (topics, one per line: topics hold no line
//!   break), `p` (`1`: private), `i` (the supplied id) and `r` (retry, in
//!   milliseconds). A node of the
//!   previous format reads other keys, so it never serves a private event
//!   as public, and the histories' epochs differ, so ids never mix.
//! - The stream is capped at `<bus-history>` entries; replay older than a
//!   node's ring is served from it, and only events Redis no longer holds
//!   get `stream.reset`. The same script that appends an entry records its
//!   supplied id, and trims the maps with the stream, so every node resolves
//!   an id to the same (earliest held) event.
//! - A reader per node blocks on `XREAD` with a bounded wait; after an
//!   outage it resumes after the last entry it applied, so nothing is missed
//!   or applied twice. Entries that were trimmed before it could read them
//!   rebase the broker past the gap, and a bus that lost its epoch or went
//!   back in time is given a new epoch: either way every client is told to
//!   resynchronise.
//! - Probes (`GET` epoch and the newest entry, under a timeout) feed the mode
//!   machine as [`Component::Bus`](tidings_core::mode::Component::Bus) and
//!   give the lag shown on `/ready` and `/metrics`.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig, MultiplexedConnection};
use redis::streams::{StreamId, StreamRangeReply, StreamReadReply};
use redis::{AsyncConnectionConfig, Script};
use tidings_core::topic::Topic;
use tidings_core::{Epoch, EventId, Kind, SuppliedId};

use crate::log::epoch::new_epoch;
use crate::log::feed::Feed;
use crate::log::history::{Loaded, Record};
use crate::log::queue::{Pending, PublishFailed, Writes};

mod entry;
mod scripts;

use entry::{record_of, seq_of};
use scripts::{APPEND_CHUNK, INIT, PUBLISH, RESTART};

/// Entries a reader or a replay takes per request.
const READ_COUNT: usize = 1024;
/// How long a reader's `XREAD` waits for new entries.
const BLOCK: Duration = Duration::from_millis(1000);

/// Why a bus operation failed.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    /// Redis could not be reached or answered with an error.
    #[error("bus unavailable: {0}")]
    Redis(#[from] redis::RedisError),
    /// Redis did not answer in time.
    #[error("bus did not answer within {0:?}")]
    Timeout(Duration),
    /// An entry or key was not what this server writes.
    #[error("bus holds unexpected data: {0}")]
    Corrupt(String),
}

/// How to reach the bus.
#[derive(Debug, Clone)]
pub struct BusConfig {
    /// `redis://host:port/` (a database number may follow).
    pub url: String,
    /// Name of the keys (`{<key>}:v2:epoch`, `{<key>}:v2:events`, …).
    pub key: String,
    /// Entries the stream keeps (approximately).
    pub max_len: usize,
    /// Bound on every request.
    pub timeout: Duration,
}

/// Where this node's reader stands in the bus's history.
#[derive(Debug)]
struct Position {
    epoch: Epoch,
    /// Seq of the last entry fed into the broker.
    applied: u64,
    /// Changed whenever the history is rebased, so an answer to a read made
    /// before is discarded.
    generation: u64,
}

/// A node's link to the bus. Shared by the handlers and the bus tasks.
#[derive(Debug)]
pub struct Bus {
    client: redis::Client,
    conn: ConnectionManager,
    epoch_key: String,
    stream_key: String,
    /// The supplied-id maps: oldest seq, newest seq, next seq.
    id_keys: [String; 3],
    config: BusConfig,
    position: Mutex<Position>,
    up: AtomicBool,
    head: AtomicU64,
    publish: Script,
}

/// The bus's state for `/ready` and `/metrics`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BusStatus {
    /// Whether the last probe succeeded.
    pub up: bool,
    /// Seq of the newest entry on the bus, as of the last probe.
    pub head: u64,
    /// Seq of the last entry this node applied.
    pub applied: u64,
}

impl BusStatus {
    /// Entries on the bus this node has not applied yet.
    pub fn lag(&self) -> u64 {
        self.head.saturating_sub(self.applied)
    }
}

impl Bus {
    /// Connects, joins (or starts) the bus's history and reads its newest
    /// `retain` entries to fill the ring.
    pub async fn connect(config: BusConfig, retain: usize) -> Result<(Bus, Loaded), BusError> {
        let client = redis::Client::open(config.url.as_str())?;
        let manager = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(config.timeout))
            .set_response_timeout(Some(config.timeout))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(500));
        let mut conn = bounded(
            config.timeout * 2,
            client.get_connection_manager_with_config(manager),
        )
        .await?;
        let epoch_key = format!("{{{}}}:v2:epoch", config.key);
        let stream_key = format!("{{{}}}:v2:events", config.key);
        let id_keys = ["first", "last", "next"].map(|k| format!("{{{}}}:v2:ids-{k}", config.key));
        let token: String = bounded(
            config.timeout,
            Script::new(INIT)
                .key(&epoch_key)
                .key(&stream_key)
                .key(&id_keys)
                .arg(new_epoch().as_str())
                .invoke_async(&mut conn),
        )
        .await?;
        let epoch =
            Epoch::new(&token).map_err(|_| BusError::Corrupt(format!("epoch {token:?}")))?;
        let newest: StreamRangeReply = bounded(
            config.timeout,
            redis::cmd("XREVRANGE")
                .arg(&stream_key)
                .arg("+")
                .arg("-")
                .arg("COUNT")
                .arg(retain.max(1))
                .query_async(&mut conn),
        )
        .await?;
        let mut events = newest
            .ids
            .iter()
            .map(record_of)
            .collect::<Result<Vec<_>, _>>()?;
        events.reverse();
        let next_seq = events.last().map_or(1, |r| r.seq + 1);
        tracing::info!(%epoch, next_seq, url = %config.url, "joined the bus");
        let bus = Bus {
            client,
            conn,
            epoch_key,
            stream_key,
            id_keys,
            position: Mutex::new(Position {
                epoch: epoch.clone(),
                applied: next_seq - 1,
                generation: 0,
            }),
            up: AtomicBool::new(true),
            head: AtomicU64::new(next_seq - 1),
            publish: Script::new(PUBLISH),
            config,
        };
        Ok((
            bus,
            Loaded {
                epoch,
                next_seq,
                events,
            },
        ))
    }

    fn position(&self) -> std::sync::MutexGuard<'_, Position> {
        self.position.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The state shown on `/ready` and `/metrics`.
    pub fn status(&self) -> BusStatus {
        BusStatus {
            up: self.up.load(Relaxed),
            head: self.head.load(Relaxed),
            applied: self.position().applied,
        }
    }

    /// Appends every batch queued in `writes` to the bus, answering each
    /// publish with its id once Redis holds it, until the queue is closed
    /// and empty.
    pub async fn run_writer(self: Arc<Self>, writes: Writes) {
        while let Some(batch) = writes.next().await {
            let events: Vec<&Pending> = batch.iter().collect();
            match self.append(&events).await {
                Ok(ids) => {
                    for (entry, id) in batch.into_iter().zip(ids) {
                        entry.answer(Ok(id));
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, events = events.len(), "publishes not taken by the bus");
                    for entry in batch {
                        entry.answer(Err(PublishFailed::Unavailable));
                    }
                }
            }
        }
    }

    /// Appends `events` to the bus in order; returns their ids once Redis
    /// holds them all.
    pub async fn append(&self, events: &[&Pending]) -> Result<Vec<EventId>, BusError> {
        let epoch = self.position().epoch.clone();
        let mut conn = self.conn.clone();
        let mut ids = Vec::with_capacity(events.len());
        for chunk in events.chunks(APPEND_CHUNK) {
            let mut call = self.publish.key(&self.epoch_key);
            call.key(&self.stream_key)
                .key(&self.id_keys)
                .arg(epoch.as_str())
                .arg(self.config.max_len);
            for event in chunk {
                let topics: Vec<&str> = event.topics.iter().map(Topic::as_str).collect();
                call.arg(event.kind.as_ref().map_or("", Kind::as_str))
                    .arg(&event.data)
                    .arg(topics.join("\n"))
                    .arg(if event.private { "1" } else { "" })
                    .arg(event.supplied_id.as_ref().map_or("", SuppliedId::as_str))
                    .arg(event.retry.map(|ms| ms.to_string()).unwrap_or_default());
            }
            let appended: Vec<String> =
                bounded(self.config.timeout, call.invoke_async(&mut conn)).await?;
            if appended.len() != chunk.len() {
                return Err(BusError::Corrupt(format!(
                    "{} ids for {} events",
                    appended.len(),
                    chunk.len()
                )));
            }
            for id in appended {
                let seq = seq_of(&id)?;
                self.head.fetch_max(seq, Relaxed);
                ids.push(EventId::new(epoch.clone(), seq));
            }
        }
        Ok(ids)
    }

    /// The entries after `seq`, oldest first (at most one read's worth); the
    /// first is not `seq + 1` when Redis no longer holds it.
    pub async fn read_after(&self, seq: u64) -> Result<Vec<Record>, BusError> {
        let mut conn = self.conn.clone();
        let range: StreamRangeReply = bounded(
            self.config.timeout,
            redis::cmd("XRANGE")
                .arg(&self.stream_key)
                .arg(format!("(0-{seq}"))
                .arg("+")
                .arg("COUNT")
                .arg(READ_COUNT)
                .query_async(&mut conn),
        )
        .await?;
        range.ids.iter().map(record_of).collect()
    }

    /// The seq of the oldest event on the bus that its publisher gave the
    /// id `id`, if the bus still holds one: the same answer on every node.
    pub async fn supplied_seq(&self, id: &str) -> Result<Option<u64>, BusError> {
        let mut conn = self.conn.clone();
        let seq: Option<u64> = bounded(
            self.config.timeout,
            redis::cmd("HGET")
                .arg(&self.id_keys[0])
                .arg(id)
                .query_async(&mut conn),
        )
        .await?;
        Ok(seq)
    }

    /// Feeds the stream into `feed`'s broker until it closes, resuming
    /// after the last applied entry whenever the connection is lost.
    pub async fn run_reader(&self, feed: Feed) {
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(self.config.timeout))
            .set_response_timeout(Some(BLOCK + self.config.timeout));
        while !feed.broker().is_closed() {
            let conn = bounded(
                self.config.timeout,
                self.client
                    .get_multiplexed_async_connection_with_config(&config),
            )
            .await;
            match conn {
                Ok(mut conn) => {
                    if let Err(e) = self.read_loop(&mut conn, &feed).await {
                        tracing::warn!(error = %e, "bus reader lost its connection");
                    }
                }
                Err(e) => tracing::debug!(error = %e, "bus reader cannot connect"),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn read_loop(
        &self,
        conn: &mut MultiplexedConnection,
        feed: &Feed,
    ) -> Result<(), BusError> {
        while !feed.broker().is_closed() {
            let (generation, after) = {
                let p = self.position();
                (p.generation, p.applied)
            };
            let reply: Option<StreamReadReply> = redis::cmd("XREAD")
                .arg("COUNT")
                .arg(READ_COUNT)
                .arg("BLOCK")
                .arg(BLOCK.as_millis() as u64)
                .arg("STREAMS")
                .arg(&self.stream_key)
                .arg(format!("0-{after}"))
                .query_async(conn)
                .await?;
            let entries = reply
                .into_iter()
                .flat_map(|r| r.keys)
                .flat_map(|k| k.ids)
                .collect::<Vec<_>>();
            if !entries.is_empty() {
                self.apply(feed, generation, &entries)?;
            }
        }
        Ok(())
    }

    /// Feeds entries read at `generation` into the broker, in order.
    fn apply(&self, feed: &Feed, generation: u64, entries: &[StreamId]) -> Result<(), BusError> {
        let mut p = self.position();
        if p.generation != generation {
            return Ok(()); // read before a rebase: read again
        }
        let now = feed.clock().now();
        for entry in entries {
            let seq = seq_of(&entry.id)?;
            if seq <= p.applied {
                continue;
            }
            let record = record_of(entry);
            if seq > p.applied + 1 {
                tracing::warn!(epoch = %p.epoch, missing_from = p.applied + 1, missing_to = seq - 1, "bus entries were trimmed before this node read them; clients are reset");
                feed.broker().rebase(p.epoch.clone(), seq);
            }
            let r = match record {
                Ok(r) => r,
                Err(e) => {
                    // Not written by a node: skipped like a trimmed entry,
                    // so the clients are told and reading goes on.
                    tracing::error!(error = %e, "bus entry skipped; clients are reset");
                    feed.broker().rebase(p.epoch.clone(), seq + 1);
                    p.applied = seq;
                    continue;
                }
            };
            let id = EventId::new(p.epoch.clone(), r.seq);
            if let Err(e) = feed.broker().append(id, r.event, now) {
                // Only a closed broker refuses the next id.
                tracing::debug!(error = %e, "bus entry not applied");
                return Ok(());
            }
            p.applied = r.seq;
        }
        self.head.fetch_max(p.applied, Relaxed);
        drop(p);
        feed.wake_flusher();
        Ok(())
    }

    /// Checks the bus: it answers, still names this node's epoch and still
    /// holds what this node applied. A bus that lost either gets a new epoch
    /// (or this node adopts the one another node already set), and the
    /// broker is rebased so every client resynchronises.
    pub async fn probe(&self, feed: &Feed) -> Result<(), BusError> {
        // Taken before asking: everything applied by now was on the bus
        // before the question, so a head behind it means lost entries.
        let (epoch, applied, generation) = {
            let p = self.position();
            (p.epoch.clone(), p.applied, p.generation)
        };
        let mut conn = self.conn.clone();
        let (token, newest): (Option<String>, StreamRangeReply) = bounded(
            self.config.timeout,
            redis::pipe()
                .get(&self.epoch_key)
                .cmd("XREVRANGE")
                .arg(&self.stream_key)
                .arg("+")
                .arg("-")
                .arg("COUNT")
                .arg(1)
                .query_async(&mut conn),
        )
        .await?;
        let head = newest
            .ids
            .first()
            .map(|e| seq_of(&e.id))
            .transpose()?
            .unwrap_or(0);
        if self.position().generation != generation {
            return Ok(()); // rebased meanwhile: judge at the next probe
        }
        let current = token.as_deref() == Some(epoch.as_str());
        if current && head >= applied {
            self.head.store(head, Relaxed);
            return Ok(());
        }
        // The bus lost its history (restarted without persistence, or
        // restored from an older snapshot): continuing would reuse ids
        // clients already hold.
        let script = if current { RESTART } else { INIT };
        let fresh = new_epoch();
        let token: String = bounded(
            self.config.timeout,
            Script::new(script)
                .key(&self.epoch_key)
                .key(&self.stream_key)
                .key(&self.id_keys)
                .arg(if current {
                    epoch.as_str()
                } else {
                    fresh.as_str()
                })
                .arg(fresh.as_str())
                .invoke_async(&mut conn),
        )
        .await?;
        let adopted =
            Epoch::new(&token).map_err(|_| BusError::Corrupt(format!("epoch {token:?}")))?;
        tracing::warn!(old = %epoch, new = %adopted, "the bus lost its history; every client is reset");
        let mut p = self.position();
        p.epoch = adopted.clone();
        p.applied = 0;
        p.generation += 1;
        feed.broker().rebase(adopted, 1);
        self.head.store(0, Relaxed);
        Ok(())
    }

    /// Records a probe's outcome for `/ready` and `/metrics`.
    pub fn set_up(&self, up: bool) {
        self.up.store(up, Relaxed);
    }
}

/// `fut`, failing with [`BusError::Timeout`] after `limit`.
async fn bounded<T>(
    limit: Duration,
    fut: impl Future<Output = Result<T, redis::RedisError>>,
) -> Result<T, BusError> {
    tokio::time::timeout(limit, fut)
        .await
        .map_err(|_| BusError::Timeout(limit))?
        .map_err(BusError::from)
}
