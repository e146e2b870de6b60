//! Running the server: configuration (`config.rs`), the mode driver that
//! feeds probe outcomes and operator input into the core's mode machine
//! (`mode_driver.rs`), metrics (`metrics/`), readiness and graceful
//! shutdown (`lifecycle.rs`) and logging (`telemetry.rs`).
//!
//! It may use the log (to publish mode changes) but never HTTP: the routes
//! read it, it does not answer requests.

pub mod config;
pub mod lifecycle;
pub mod metrics;
pub mod mode_driver;
pub mod telemetry;
