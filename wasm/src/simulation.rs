//! The binding of [`Sim`]: `Simulation`, the replay simulator as a
//! JavaScript class.
//!
//! Every method is a thin wrapper: it converts arguments, calls the
//! matching [`Sim`] method and converts the answer; behaviour lives in
//! [`crate::sim`]. Numbers that are `u64` in Rust cross as `f64`, exact up
//! to 2^53, far beyond what a simulation can reach.

use tidings_core::mode::OperatorInput;
use wasm_bindgen::prelude::*;

use crate::convert::{from_js, js_error, to_js};
use crate::sim::{Sim, SimConfig, SimError};

fn sim_error(e: SimError) -> JsError {
    js_error(e)
}

#[wasm_bindgen]
extern "C" {
    /// A `SimulationConfig` object from JavaScript.
    #[wasm_bindgen(typescript_type = "SimulationConfig")]
    #[derive(Debug)]
    pub type SimulationConfig;
}

fn sim_config(config: Option<SimulationConfig>) -> Result<SimConfig, JsError> {
    let Some(config) = config.map(JsValue::from) else {
        return Ok(SimConfig::default());
    };
    if config.is_undefined() || config.is_null() {
        return Ok(SimConfig::default());
    }
    from_js(&config, "configuration")
}

/// A simulated Tidings server and its clients on a virtual clock, seeded so
/// that a scenario replays exactly.
///
/// After every action, each connected client that is not stalled and whose
/// waker fired is read until it has nothing more (as an executor polls a
/// task); time passes only in `advance`. Every successful action is kept in
/// `script`; a new simulation with the same config replays it exactly.
///
/// ```js
/// const sim = new Simulation({ seed: 3, ringSize: 4, batchSize: 2 });
/// sim.connect("A", true);
/// sim.connect("B", true);
/// sim.stall("B");
/// sim.publishBurst(6);               // past B's queue and past the ring
/// sim.resume("B");
/// const reset = sim.log("B").find((e) => e.kind === "reset");
/// console.assert(reset.reason === "lagged");
/// const again = Simulation.replay({ seed: 3, ringSize: 4, batchSize: 2 }, sim.script);
/// console.assert(JSON.stringify(again.log("B")) === JSON.stringify(sim.log("B")));
/// ```
#[wasm_bindgen]
#[derive(Debug)]
pub struct Simulation {
    pub(crate) sim: Sim,
}

#[wasm_bindgen]
impl Simulation {
    /// A simulation at time 0 with no clients. Missing config fields take
    /// their defaults; out-of-range values throw.
    ///
    /// ```js
    /// const sim = new Simulation({ seed: 255 });
    /// console.assert(sim.ring().epoch === "sff");
    /// let threw = false;
    /// try { new Simulation({ ringSize: 0 }); } catch (e) { threw = /ringSize/.test(e.message); }
    /// console.assert(threw);
    /// ```
    #[wasm_bindgen(constructor)]
    pub fn new(config: Option<SimulationConfig>) -> Result<Simulation, JsError> {
        Ok(Simulation {
            sim: Sim::new(sim_config(config)?).map_err(sim_error)?,
        })
    }

    /// A new simulation with `config` that has applied `script`: the way a
    /// shared URL restores a scenario.
    ///
    /// ```js
    /// const sim = Simulation.replay({ seed: 9 }, "connect:A,publish:3,advance:10");
    /// console.assert(sim.ring().head === 3 && sim.now === 10);
    /// let threw = false;
    /// try { Simulation.replay({}, "connect:A,fly:1"); } catch (e) { threw = /action 1/.test(e.message); }
    /// console.assert(threw);
    /// ```
    pub fn replay(config: Option<SimulationConfig>, script: &str) -> Result<Simulation, JsError> {
        let mut sim = Simulation::new(config)?;
        sim.sim.apply_script(script).map_err(sim_error)?;
        Ok(sim)
    }

    /// The configuration, every field filled in.
    ///
    /// ```js
    /// const sim = new Simulation({ seed: 5 });
    /// console.assert(sim.config().seed === 5 && sim.config().ringSize === 16);
    /// ```
    #[wasm_bindgen(unchecked_return_type = "Required<SimulationConfig>")]
    pub fn config(&self) -> Result<JsValue, JsError> {
        to_js(self.sim.config())
    }

    /// Virtual time, in milliseconds.
    ///
    /// ```js
    /// const sim = new Simulation();
    /// sim.advance(250);
    /// console.assert(sim.now === 250);
    /// ```
    #[wasm_bindgen(getter)]
    pub fn now(&self) -> f64 {
        self.sim.now() as f64
    }

    /// Every successful action so far, comma-separated: put it in a URL and
    /// `Simulation.replay` restores the scenario. Refused actions are left
    /// out.
    ///
    /// ```js
    /// const sim = new Simulation({ readOnly: true });
    /// sim.connect("A", false);
    /// let refused = false;
    /// try { sim.publishBurst(2); } catch (e) { refused = /read_only/.test(e.message); }
    /// console.assert(refused);
    /// console.assert(sim.script === "connect-live:A");
    /// ```
    #[wasm_bindgen(getter)]
    pub fn script(&self) -> String {
        self.sim.script()
    }

    /// Publishes one event, as `POST /api/publish` would, and returns its id
    /// once it is stored: at once with `commitLatencyMs` 0, else
    /// `undefined` while it waits for its write (see `committing`). Throws
    /// while the mode is `read_only`, when the publish queue is full (where
    /// the server would make the publisher wait), or for a bad type.
    ///
    /// ```js
    /// const sim = new Simulation({ seed: 1 });
    /// console.assert(sim.publish("note", "hi") === "s1-1");
    /// let threw = false;
    /// try { sim.publish("bad\ntype", "x"); } catch (e) { threw = true; }
    /// console.assert(threw);
    /// const slow = new Simulation({ commitLatencyMs: 10, publishQueue: 1 });
    /// console.assert(slow.publish("note", "a") === undefined);   // being written
    /// slow.publish("note", "b");                                 // queued
    /// let full = false;
    /// try { slow.publish("note", "c"); } catch (e) { full = /queue is full/.test(e.message); }
    /// console.assert(full);
    /// ```
    pub fn publish(
        &mut self,
        #[wasm_bindgen(js_name = "type")] event_type: &str,
        data: &str,
    ) -> Result<Option<String>, JsError> {
        self.sim.publish(event_type, data).map_err(sim_error)
    }

    /// Publishes `n` events of random item kinds (1 to 10000) at the current
    /// time; returns the head seq.
    ///
    /// ```js
    /// const sim = new Simulation({ ringSize: 4 });
    /// console.assert(sim.publishBurst(10) === 10);
    /// console.assert(sim.ring().tail === 7);     // only the last 4 are held
    /// ```
    #[wasm_bindgen(js_name = publishBurst)]
    pub fn publish_burst(&mut self, n: u32) -> Result<f64, JsError> {
        self.sim
            .publish_burst(u64::from(n))
            .map(|head| head as f64)
            .map_err(sim_error)
    }

    /// Publishes `n` events (1 to 10000) one virtual millisecond apart, a
    /// steady stream of writes: clients that read keep up, a stalled one
    /// falls behind. Returns the head seq.
    ///
    /// ```js
    /// const sim = new Simulation({ ringSize: 4 });
    /// sim.connect("A", true);
    /// sim.connect("B", true);
    /// sim.stall("B");
    /// sim.publishStream(10);
    /// sim.resume("B");
    /// const [a, b] = sim.clients();
    /// console.assert(sim.now === 9 && a.received === 10 && a.resets === 0);
    /// console.assert(b.resets === 1 && b.received === 4);
    /// ```
    #[wasm_bindgen(js_name = publishStream)]
    pub fn publish_stream(&mut self, n: u32) -> Result<f64, JsError> {
        self.sim
            .publish_stream(u64::from(n))
            .map(|head| head as f64)
            .map_err(sim_error)
    }

    /// Connects `name` (creating it on first use). With `withLastId` it sends
    /// the last id it received, like a reconnecting `EventSource`, and is
    /// replayed what it missed — or told `stream.reset` if the ring no
    /// longer holds it.
    ///
    /// ```js
    /// const sim = new Simulation({ ringSize: 8 });
    /// sim.connect("A", true);
    /// sim.publishBurst(2);
    /// sim.disconnect("A");
    /// sim.publishBurst(3);
    /// sim.connect("A", true);
    /// const replayed = sim.log("A").filter((e) => e.phase === "replay").map((e) => e.id);
    /// console.assert(replayed.join() === "s1-3,s1-4,s1-5");
    /// ```
    pub fn connect(
        &mut self,
        name: &str,
        #[wasm_bindgen(js_name = "withLastId")] with_last_id: bool,
    ) -> Result<(), JsError> {
        self.sim.connect(name, with_last_id).map_err(sim_error)
    }

    /// Connects `name` sending `lastEventId` as given: an id of another
    /// epoch, an evicted one or junk shows the core's `stream.reset` answers.
    ///
    /// ```js
    /// const sim = new Simulation();
    /// sim.connectFrom("D", "oldboot-3");
    /// console.assert(sim.log("D").find((e) => e.kind === "reset").reason === "unknown_epoch");
    /// sim.disconnect("D");
    /// sim.connectFrom("D", "junk");
    /// console.assert(sim.log("D").filter((e) => e.kind === "reset")[1].reason === "invalid_id");
    /// ```
    #[wasm_bindgen(js_name = connectFrom)]
    pub fn connect_from(
        &mut self,
        name: &str,
        #[wasm_bindgen(js_name = "lastEventId")] last_event_id: &str,
    ) -> Result<(), JsError> {
        self.sim
            .connect_from(name, last_event_id)
            .map_err(sim_error)
    }

    /// Drops `name`'s connection; it keeps its last id for reconnecting.
    ///
    /// ```js
    /// const sim = new Simulation();
    /// sim.connect("A", true);
    /// sim.disconnect("A");
    /// let threw = false;
    /// try { sim.disconnect("A"); } catch (e) { threw = /not connected/.test(e.message); }
    /// console.assert(threw && sim.stats().subscribers === 0);
    /// ```
    pub fn disconnect(&mut self, name: &str) -> Result<(), JsError> {
        self.sim.disconnect(name).map_err(sim_error)
    }

    /// Stops reading `name`'s stream: it is not polled, even when woken, and
    /// its backlog stays in the ring.
    ///
    /// ```js
    /// const sim = new Simulation();
    /// sim.connect("A", true);
    /// sim.stall("A");
    /// sim.publishBurst(5);
    /// const a = sim.clients()[0];
    /// console.assert(a.stalled && a.backlog === 5 && a.received === 0);
    /// ```
    pub fn stall(&mut self, name: &str) -> Result<(), JsError> {
        self.sim.stall(name).map_err(sim_error)
    }

    /// Reads `name`'s stream again: it catches up from the ring, in writes of
    /// at most `batchSize` events, or gets a lagged `stream.reset` if its next
    /// event was evicted.
    ///
    /// ```js
    /// const sim = new Simulation({ ringSize: 16, batchSize: 2 });
    /// sim.connect("A", true);
    /// sim.stall("A");
    /// sim.publishBurst(5);               // past its queue, within the ring
    /// sim.resume("A");
    /// const caught = sim.log("A").filter((e) => e.phase === "catch_up");
    /// console.assert(caught.length === 5 && new Set(caught.map((e) => e.write)).size === 3);
    /// ```
    pub fn resume(&mut self, name: &str) -> Result<(), JsError> {
        self.sim.resume(name).map_err(sim_error)
    }

    /// Lets `ms` of virtual time pass (at most one hour per call), running
    /// probes, heartbeats and flushes as they fall due; returns the time.
    ///
    /// ```js
    /// const sim = new Simulation({ heartbeatIntervalMs: 100 });
    /// sim.connect("A", true);
    /// console.assert(sim.advance(250) === 250);
    /// console.assert(sim.log("A").filter((e) => e.kind === "heartbeat").length === 2);
    /// ```
    pub fn advance(&mut self, ms: f64) -> Result<f64, JsError> {
        if !(ms >= 0.0 && ms.fract() == 0.0) {
            return Err(js_error("advance takes a whole number of milliseconds"));
        }
        self.sim
            .advance(ms as u64)
            .map(|now| now as f64)
            .map_err(sim_error)
    }

    /// Makes each write of the publish intake take `ms` of virtual time
    /// from now on (0 to 60000; a write under way keeps its end), as a
    /// slower or faster store would. Published events then wait, shown by
    /// `committing`, and reach the ring and the clients when their write
    /// ends; publishes made meanwhile are written together in the next.
    ///
    /// ```js
    /// const sim = new Simulation({ seed: 2 });
    /// sim.connect("A", true);
    /// sim.setCommitLatency(30);
    /// sim.publishBurst(3);                 // one write of 1, then one of 2
    /// console.assert(sim.clients()[0].received === 0 && sim.stats().commitDue === 30);
    /// sim.advance(60);
    /// console.assert(sim.clients()[0].received === 3 && sim.stats().commits === 2);
    /// console.assert(sim.script === "connect:A,latency:30,publish:3,advance:60");
    /// ```
    #[wasm_bindgen(js_name = setCommitLatency)]
    pub fn set_commit_latency(&mut self, ms: f64) -> Result<(), JsError> {
        if !(ms >= 0.0 && ms.fract() == 0.0) {
            return Err(js_error(
                "a commit latency is a whole number of milliseconds",
            ));
        }
        self.sim.set_commit_latency(ms as u64).map_err(sim_error)
    }

    /// The events published and not stored yet, in the order they will get
    /// their ids: those in the write under way (`phase` `"writing"`), then
    /// those queued for the next (`"queued"`), each with `commitAt`, when
    /// it enters the history. Empty with `commitLatencyMs` 0.
    ///
    /// ```js
    /// const sim = new Simulation({ commitLatencyMs: 100 });
    /// sim.publish("note", "first");
    /// sim.advance(40);
    /// sim.publish("note", "second");
    /// const [a, b] = sim.committing();
    /// console.assert(a.phase === "writing" && a.commitAt === 100 && a.queuedAt === 0);
    /// console.assert(b.phase === "queued" && b.commitAt === 200 && b.data === "second");
    /// sim.advance(60);
    /// console.assert(sim.committing().length === 1 && sim.ring().head === 1);
    /// ```
    #[wasm_bindgen(unchecked_return_type = "PendingEvent[]")]
    pub fn committing(&self) -> Result<JsValue, JsError> {
        to_js(&self.sim.committing())
    }

    /// Feeds one storage probe outcome now; returns the mode transition it
    /// caused, or `null` (hysteresis: `failThreshold` failures in a row).
    ///
    /// ```js
    /// const sim = new Simulation({ failThreshold: 2 });
    /// console.assert(sim.probe(false) === null);
    /// console.assert(sim.probe(false).to === "degraded");
    /// ```
    #[wasm_bindgen(unchecked_return_type = "Transition | null")]
    pub fn probe(&mut self, ok: bool) -> Result<JsValue, JsError> {
        let t = self.sim.probe(ok);
        to_js(&t)
    }

    /// Makes the simulated store answer (`true`) or fail (`false`) the
    /// periodic probes; the mode follows once the thresholds are reached.
    ///
    /// ```js
    /// const sim = new Simulation({ probeIntervalMs: 100, failThreshold: 3 });
    /// sim.setStorage(false);
    /// sim.advance(250);
    /// console.assert(sim.mode().mode === "normal");   // two failures so far
    /// sim.advance(50);
    /// console.assert(sim.mode().mode === "degraded");
    /// ```
    #[wasm_bindgen(js_name = setStorage)]
    pub fn set_storage(&mut self, up: bool) {
        self.sim.set_storage(up);
    }

    /// Sets or clears the operator's read-only flag; returns the transition,
    /// or `null` when the flag already had that value.
    ///
    /// ```js
    /// const sim = new Simulation();
    /// console.assert(sim.setReadOnly(true).to === "read_only");
    /// console.assert(sim.setReadOnly(true) === null);
    /// ```
    #[wasm_bindgen(js_name = setReadOnly, unchecked_return_type = "Transition | null")]
    pub fn set_read_only(&mut self, on: bool) -> Result<JsValue, JsError> {
        let input = if on {
            OperatorInput::Set
        } else {
            OperatorInput::Clear
        };
        to_js(&self.sim.operator(input))
    }

    /// Flips the operator's read-only flag (as `SIGUSR1` does on the server);
    /// the change reaches connected clients as a `server.state` event.
    ///
    /// ```js
    /// const sim = new Simulation();
    /// sim.connect("A", true);
    /// console.assert(sim.toggleReadOnly().to === "read_only");
    /// const last = sim.log("A").at(-1);
    /// console.assert(last.type === "server.state" && JSON.parse(last.data).to === "read_only");
    /// ```
    #[wasm_bindgen(js_name = toggleReadOnly, unchecked_return_type = "Transition")]
    pub fn toggle_read_only(&mut self) -> Result<JsValue, JsError> {
        to_js(&self.sim.operator(OperatorInput::Toggle))
    }

    /// Sends one heartbeat to every client now.
    ///
    /// ```js
    /// const sim = new Simulation();
    /// sim.connect("A", true);
    /// sim.heartbeat();
    /// console.assert(sim.log("A").at(-1).kind === "heartbeat");
    /// ```
    pub fn heartbeat(&mut self) {
        self.sim.heartbeat();
    }

    /// Takes `steps` random actions (fixed by the seed) on the existing
    /// clients: bursts, some past the ring, time passing, reconnects, stalls
    /// and probes.
    ///
    /// ```js
    /// const a = new Simulation({ seed: 11 });
    /// const b = new Simulation({ seed: 11 });
    /// for (const sim of [a, b]) { sim.connect("A", true); sim.connect("B", true); sim.chaos(50); }
    /// console.assert(JSON.stringify(a.stats()) === JSON.stringify(b.stats()));
    /// console.assert(a.script === "connect:A,connect:B,chaos:50");
    /// ```
    pub fn chaos(&mut self, steps: u32) -> Result<(), JsError> {
        self.sim.chaos(steps).map_err(sim_error)
    }

    /// Applies one action in script form, e.g. `publish:5`, `stall:B`,
    /// `advance:100`, `connect-id:D:s1-3`, `read-only:toggle`.
    ///
    /// ```js
    /// const sim = new Simulation();
    /// sim.apply("connect:A");
    /// sim.apply("publish:2");
    /// console.assert(sim.clients()[0].received === 2);
    /// let threw = false;
    /// try { sim.apply("publish:0"); } catch (e) { threw = true; }
    /// console.assert(threw);
    /// ```
    pub fn apply(&mut self, action: &str) -> Result<(), JsError> {
        self.sim.apply(action).map_err(sim_error)
    }

    /// Applies comma- or space-separated actions, stopping at the first that
    /// fails (the error names it).
    ///
    /// ```js
    /// const sim = new Simulation();
    /// sim.applyScript("connect:A, publish:2, disconnect:A");
    /// console.assert(sim.stats().published === 2 && !sim.clients()[0].connected);
    /// ```
    #[wasm_bindgen(js_name = applyScript)]
    pub fn apply_script(&mut self, script: &str) -> Result<(), JsError> {
        self.sim.apply_script(script).map_err(sim_error)
    }

    /// Every client, in the order they first connected.
    ///
    /// ```js
    /// const sim = new Simulation({ ringSize: 4 });
    /// sim.connect("A", true);
    /// sim.stall("A");
    /// sim.publishBurst(6);
    /// const [a] = sim.clients();
    /// console.assert(a.cursor === 1 && a.behindRing && a.backlog === 4);
    /// ```
    #[wasm_bindgen(unchecked_return_type = "ClientView[]")]
    pub fn clients(&self) -> Result<JsValue, JsError> {
        to_js(&self.sim.clients())
    }

    /// `name`'s log from entry `from` on (default 0), so a page can fetch
    /// only what is new.
    ///
    /// ```js
    /// const sim = new Simulation();
    /// sim.connect("A", true);
    /// const seen = sim.clients()[0].logLength;  // connect + server.state
    /// sim.publish("note", "x");
    /// const fresh = sim.log("A", seen);
    /// console.assert(fresh.length === 1 && fresh[0].data === "x" && fresh[0].phase === "live");
    /// let threw = false;
    /// try { sim.log("nobody"); } catch (e) { threw = true; }
    /// console.assert(threw);
    /// ```
    #[wasm_bindgen(unchecked_return_type = "LogEntry[]")]
    pub fn log(&self, name: &str, from: Option<u32>) -> Result<JsValue, JsError> {
        let entries = self
            .sim
            .log(name, from.unwrap_or(0) as usize)
            .map_err(sim_error)?;
        to_js(entries)
    }

    /// The history ring: epoch, capacity, tail and head seqs, and the events
    /// it holds, oldest first.
    ///
    /// ```js
    /// const sim = new Simulation({ ringSize: 3 });
    /// sim.publishBurst(5);
    /// const ring = sim.ring();
    /// console.assert(ring.tail === 3 && ring.head === 5);
    /// console.assert(ring.events.map((e) => e.id).join() === "s1-3,s1-4,s1-5");
    /// ```
    #[wasm_bindgen(unchecked_return_type = "RingView")]
    pub fn ring(&self) -> Result<JsValue, JsError> {
        to_js(&self.sim.ring())
    }

    /// The mode, the read-only flag, storage health and every transition
    /// (the start-up snapshot first).
    ///
    /// ```js
    /// const sim = new Simulation({ failThreshold: 1, recoverThreshold: 1 });
    /// sim.probe(false);
    /// sim.setReadOnly(true);
    /// sim.probe(true);                    // recovered, but read-only wins
    /// const m = sim.mode();
    /// console.assert(m.mode === "read_only" && m.storageHealthy);
    /// console.assert(m.transitions.map((t) => t.to).join() === "normal,degraded,read_only");
    /// ```
    #[wasm_bindgen(unchecked_return_type = "ModeView")]
    pub fn mode(&self) -> Result<JsValue, JsError> {
        to_js(&self.sim.mode())
    }

    /// The broker's counters (published, delivered, catch-ups, resets,
    /// lagged, wake-ups), routing's (routes, bells rung, idle wake-ups,
    /// matcher evaluations), connected clients, the clock, and the publish
    /// intake's: its latency, events queued and being written, when the
    /// write ends, writes finished, and events of bursts refused for a full
    /// queue.
    ///
    /// ```js
    /// const sim = new Simulation({ ringSize: 2 });
    /// sim.connect("A", true);
    /// sim.stall("A");
    /// sim.publishBurst(4);
    /// sim.resume("A");
    /// const s = sim.stats();
    /// console.assert(s.published === 4 && s.lagged === 1 && s.resets === 1);
    /// console.assert(s.routes === 1 && s.idleWakeups === 0);
    /// ```
    #[wasm_bindgen(unchecked_return_type = "SimulationStats")]
    pub fn stats(&self) -> Result<JsValue, JsError> {
        to_js(&self.sim.stats())
    }
}
