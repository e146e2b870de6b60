//! The pieces of the `tidings-load` binary: a minimal HTTP/1.1 client for
//! thousands of SSE streams and a keep-alive publisher, `/proc` readers,
//! and the per-client bookkeeping of what arrived.

pub mod http;
pub mod procfs;
pub mod tally;
