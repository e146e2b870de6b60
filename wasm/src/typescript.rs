//! The TypeScript declarations of the objects the bindings take and
//! return, written into `tidings_wasm.d.ts`.
//!
//! The bindings hand plain objects across the boundary (`JsValue`s made by
//! `serde`), which wasm-bindgen cannot describe itself; these interfaces
//! name them, and the exports refer to them through `unchecked_return_type`
//! and `typescript_type`. A field renamed in `sim` or `wire` must be renamed
//! here too.

use wasm_bindgen::prelude::*;

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &str = r#"
/** How a simulation is set up; every field is optional. */
export interface SimulationConfig {
  /** Seed of every random choice (default 1). */
  seed?: number;
  /** Events the history ring holds, 1 to 4096 (default 16). */
  ringSize?: number;
  /** The client queue: events a client takes from the ring per write (default 4). */
  batchSize?: number;
  /** Shortest time between two wake-ups of the clients, 0 to 1000 ms (default 1). */
  flushIntervalMs?: number;
  /** Virtual time between heartbeats; 0 for none (default 5000). */
  heartbeatIntervalMs?: number;
  /** Virtual time between storage probes; 0 for manual probes only (default 1000). */
  probeIntervalMs?: number;
  /** Consecutive failed probes before degraded (default 3). */
  failThreshold?: number;
  /** Consecutive successful probes before recovered (default 2). */
  recoverThreshold?: number;
  /** Start with the operator's read-only flag set (default false). */
  readOnly?: boolean;
  /**
   * Virtual time one write of the publish intake takes, 0 to 60000 ms
   * (default 0: every publish is stored at once). Published events reach the
   * ring, their ids and the clients when their write ends.
   */
  commitLatencyMs?: number;
  /**
   * Publishes the intake holds while a write is under way, 1 to 10000
   * (default 1024). One more is refused: the server would make it wait up to
   * --publish-queue-wait. Mode changes never count against it.
   */
  publishQueue?: number;
}

/** A selector or grant, shaped like a topic matcher of a Mercure token. */
export interface TopicMatcher {
  /** The pattern; `*` is every topic. */
  match: string;
  /** How it is read (default `exact`); relative URL patterns resolve against https://example.com/.well-known/mercure. */
  matchType?: "exact" | "urlpattern" | "uritemplate";
}

/** What a client's connections select, and the private events its token lets it see. */
export interface ClientFilter {
  /** None (the default) selects every event, topic-less ones included. */
  selectors?: TopicMatcher[];
  /** What the token grants: a private event needs one matching one of its topics. */
  grants?: TopicMatcher[];
}

/** One update, as the JSON body of `POST /api/publish`. */
export interface Update {
  /** The SSE event type; none: a browser's `message`. */
  type?: string;
  data: string;
  /** At most 32; the first is canonical. */
  topics?: string[];
  /** Only clients granted one of its topics receive it; needs a topic. */
  private?: boolean;
  /** The publisher's id: the event's SSE id and a resume position. */
  id?: string;
}

/** An event published and not stored yet: it gets its id when its write ends. */
export interface PendingEvent {
  type: string;
  data: string;
  topics: string[];
  private: boolean;
  /** A `server.state` mode change, queued even when the queue is full. */
  modeChange: boolean;
  /** In the write under way, or queued for the next. */
  phase: "writing" | "queued";
  /** Virtual time it was published. */
  queuedAt: number;
  /** Virtual time it enters the history (for a queued event, at the current latency). */
  commitAt: number;
}

/** A client of the simulation. */
export interface ClientView {
  name: string;
  connected: boolean;
  stalled: boolean;
  /** Seq of the next stored event it will read, while connected. */
  cursor: number | null;
  /** Events the ring holds past its cursor, while connected. */
  backlog: number | null;
  /** Its next event was evicted: its next read is a `stream.reset` (lagged). */
  behindRing: boolean;
  /** The Last-Event-ID it would send on reconnecting. */
  lastId: string | null;
  received: number;
  resets: number;
  connections: number;
  /** Writes received: one per read that delivered something. */
  writes: number;
  /** Times its doorbell woke it. */
  wakeups: number;
  /** Of those, wake-ups after which it found nothing to read. */
  idleWakeups: number;
  privateReceived: number;
  /** What its connections select; empty: every event. */
  selectors: Required<TopicMatcher>[];
  /** What its token grants. */
  grants: Required<TopicMatcher>[];
  logLength: number;
}

/** One line of a client's log. */
export interface LogEntry {
  /** Virtual time in ms. */
  at: number;
  kind: "connect" | "disconnect" | "stall" | "resume" | "event" | "state" | "reset" | "heartbeat";
  /** How a stored event came. */
  phase: "live" | "replay" | "catch_up" | null;
  /** Event id (the publisher's, if it gave one); for `connect`, the Last-Event-ID sent. */
  id: string | null;
  /** For stored events, the place in the history. */
  seq: number | null;
  /** For stored events, their topics (the simulator knows them; the wire does not carry them). */
  topics: string[];
  /** For stored events, whether it was private. */
  private: boolean;
  type: string | null;
  data: string | null;
  /** For `reset`: lagged, history_exceeded, unknown_epoch or invalid_id. */
  reason: string | null;
  connection: number;
  /** Which write of the server carried it, per client. */
  write: number | null;
}

/** One event of the history ring. */
export interface RingEntry {
  id: string; seq: number; type: string; data: string; at: number;
  topics: string[];
  private: boolean;
  /** The publisher's id, its SSE id, if it gave one. */
  suppliedId: string | null;
  /** The clients that have read it, in the order they first did. */
  seenBy: string[];
}

/** The history ring. */
export interface RingView { epoch: string; capacity: number; tail: number; head: number; events: RingEntry[]; }

/** One change of mode. */
export interface Transition {
  from: "normal" | "read_only" | "degraded";
  to: "normal" | "read_only" | "degraded";
  reason: string;
  at: number;
}

/** The mode machine. */
export interface ModeView {
  mode: "normal" | "read_only" | "degraded";
  readOnly: boolean;
  storageHealthy: boolean;
  storageUp: boolean;
  transitions: Transition[];
}

/** The broker's counters, the publish intake's and the clock. */
export interface SimulationStats {
  now: number; published: number; delivered: number; catchUps: number;
  resets: number; lagged: number; wakeups: number; subscribers: number;
  /** Distinct routes: filters in use by connected clients (equal filters share one). */
  routes: number;
  /** Doorbells rung for stored events: each is one client woken. */
  bells: number;
  /** Wake-ups after which a client found nothing to read. */
  idleWakeups: number;
  /** Topic matcher evaluations made to route events. */
  matcherEvaluations: number;
  /** When stored events wait for a wake-up: the time of the flush that delivers them. */
  flushDue: number | null;
  /** How long a write of the publish intake takes now. */
  commitLatencyMs: number;
  /** Events queued for the next write, and in the write under way. */
  queued: number; writing: number;
  /** When the write under way ends. */
  commitDue: number | null;
  /** Writes finished, and events of bursts refused for a full queue. */
  commits: number; refused: number;
}

/** One event dispatched by the SSE parser. */
export interface ParsedEvent {
  /** The event type (`message` when the stream gave none). */
  type: string;
  data: string;
  /** The id field of this event's own block, if any. */
  id: string | null;
  /** The stream's last event id when it was dispatched. */
  lastEventId: string;
}

/** An event id split into its parts. */
export interface EventIdParts { epoch: string; seq: number; }
"#;
