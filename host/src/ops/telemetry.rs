//! Log set-up: `tracing` to stderr, human-readable or JSON lines, filtered
//! by `RUST_LOG` (default `info`).

use tracing_subscriber::EnvFilter;

use crate::ops::config::LogFormat;

/// Installs the global subscriber.
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Human => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}
