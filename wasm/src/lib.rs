//! `tidings-wasm` runs the Tidings core in JavaScript: thin `wasm-bindgen`
//! wrappers over `tidings-core` (which itself has no wasm code), a seeded
//! replay [`Simulation`] on a virtual clock, and the SSE encoder and parser.
//!
//! Build it with `scripts/build-web`, which writes an npm-consumable package
//! (`package.json`, ES module, TypeScript types) to `web-demo/pkg`.
//!
//! ```js
//! import init, { Simulation, SseParser, encodeEvent } from "tidings-wasm";
//! await init();
//! const sim = new Simulation({ seed: 7, ringSize: 8 });
//! sim.connect("A", true);
//! sim.publishBurst(3);
//! console.assert(sim.log("A").filter((e) => e.kind === "event").length === 3);
//! ```
//!
//! The pure-Rust simulator is [`sim::Sim`]; errors cross the boundary as
//! `Error` objects (`JsError`) whose message is the Rust error's.
//!
//! # Layout
//!
//! `sim` is the simulator in plain Rust and knows nothing of JavaScript.
//! Each binding lives in a file named for what it binds: `simulation`
//! (the `Simulation` class over [`sim::Sim`]), `topics` (its methods for
//! selectors, grants and updates to topics) and `wire` (`encodeEvent`,
//! `parseEventId`, `SseParser`). `typescript` declares the plain objects
//! they take and return; `convert` turns values and errors into
//! JavaScript ones and plain objects into Rust values.
#![deny(unsafe_code)]
#![warn(missing_docs, missing_debug_implementations)]

mod convert;
pub mod sim;
mod simulation;
mod topics;
mod typescript;
mod wire;

pub use crate::simulation::{Simulation, SimulationConfig};
pub use crate::topics::{ClientFilterObject, UpdateObject};
pub use crate::wire::{SseParser, encode_event, parse_event_id};
