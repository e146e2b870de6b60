//! The `tidings` binary: parses configuration, sets up logs, serves.

use clap::Parser;
use tidings_host::{Config, serve, telemetry};

/// mimalloc: publishes allocate on the request runtime and free on the
/// streams' runtime, where glibc's allocator spent a tenth of the CPU of
/// a publish (benchmarks in docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let config = Config::parse();
    telemetry::init(config.log_format);
    match serve(config).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "tidings stopped");
            std::process::ExitCode::FAILURE
        }
    }
}
