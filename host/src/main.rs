//! The `tidings` binary: parses configuration, sets up logs, serves.

use clap::Parser;
use tidings_host::{Config, serve, telemetry};

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
