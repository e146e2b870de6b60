//! The progress line on stderr while a run goes on, and the sampling of
//! the server's resident set for its peak (every 200 ms, whether a line is
//! printed or not).

use std::io::IsTerminal;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::watch;

use super::procfs;
use super::shared::Shared;

/// Samples the server's RSS for its peak, and prints a progress line.
pub async fn report_progress(
    sh: Arc<Shared>,
    phase: Arc<Mutex<&'static str>>,
    mut stop: watch::Receiver<bool>,
) {
    let tty = std::io::stderr().is_terminal();
    let every = sh.args.progress;
    let mut tick = tokio::time::interval(Duration::from_millis(200));
    let mut last_print = Instant::now();
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => break,
        }
        let rss = procfs::usage_of(&sh.args.server_pids).map(|u| u.rss_kb);
        if let Some(rss) = rss {
            sh.server_rss_peak.fetch_max(rss, Relaxed);
        }
        if every <= 0.0 || last_print.elapsed().as_secs_f64() < every {
            continue;
        }
        last_print = Instant::now();
        let a = &sh.args;
        let line = format!(
            "[{}] {:5.1}s {:7} conn {}/{} pub {}/{} deliv {} rss {}",
            if a.label.is_empty() { "load" } else { &a.label },
            sh.start.elapsed().as_secs_f64(),
            *phase.lock().expect("phase lock"),
            sh.connected_now.load(Relaxed),
            a.clients,
            sh.published.load(Relaxed) + sh.publish_errors.load(Relaxed),
            a.events,
            sh.delivered.load(Relaxed),
            rss.map_or("-".to_owned(), |kb| format!("{:.1}MB", kb as f64 / 1024.0)),
        );
        if tty {
            eprint!("\r\x1b[2K{line}");
        } else {
            eprintln!("{line}");
        }
    }
    if tty && every > 0.0 {
        eprint!("\r\x1b[2K");
    }
}
