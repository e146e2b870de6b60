//! The pieces of the `tidings-load` binary, by concern: the command line
//! (`args`), the state a run shares (`shared`), which topic each event goes
//! to and what each client selects (`topics`), the SSE clients (`client`)
//! over a minimal HTTP/1.1 client for thousands of streams (`http`), the
//! publishing connections (`publisher`), the per-client bookkeeping of what
//! arrived (`tally`), `/proc` readers (`procfs`), the server's counters
//! (`metrics`), the progress line (`progress`) and the result (`report`).
//! The binary itself only runs the phases in order: connect, publish,
//! drain, report.

pub mod args;
pub mod client;
pub mod conn;
pub mod h2;
pub mod http;
pub mod metrics;
pub mod procfs;
pub mod progress;
pub mod publisher;
pub mod report;
pub mod shared;
pub mod tally;
pub mod topics;
