//! The `tidings` binary: parses configuration, sets up logs, builds the
//! runtime that answers requests, serves.

use clap::Parser;
use tidings_host::{Config, serve, telemetry};

/// mimalloc: publishes allocate on the request runtime and free on the
/// streams' runtime, where glibc's allocator spent a tenth of the CPU of
/// a publish (benchmarks in docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let config = Config::parse();
    telemetry::init(config.log_format);
    let requests = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(config.workers().requests)
        .enable_all()
        .build();
    let served = match requests {
        Ok(runtime) => runtime.block_on(serve(config)),
        Err(e) => {
            tracing::error!(error = %e, "no runtime");
            return std::process::ExitCode::FAILURE;
        }
    };
    match served {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "tidings stopped");
            std::process::ExitCode::FAILURE
        }
    }
}
