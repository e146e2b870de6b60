//! `tidings-load`: opens many SSE streams against a hub (Tidings, nchan, or
//! anything speaking SSE over HTTP/1.1), publishes numbered, timestamped
//! events over HTTP at a set rate, optionally each on one of many topics
//! with each stream selecting its own, and reports what arrived per
//! stream against what it selected: deliveries, gaps (and which of them
//! no `stream.reset` announced), duplicates, strays, order,
//! publish-to-receive latency, the CPU time and memory of the server and
//! of the tool itself, and the growth of the server's counters.
//!
//! One run per invocation: a JSON object on stdout, progress and a summary
//! on stderr. See `--help` and `scripts/bench`.

// The report's `json!` (load/report.rs) has more fields than the default
// macro recursion limit allows.
#![recursion_limit = "256"]

#[path = "../load/mod.rs"]
mod load;

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::Parser as _;
use tokio::sync::{Semaphore, watch};

use load::args::{Args, check};
use load::client::client;
use load::h2::H2Pool;
use load::http::{Poster, Url};
use load::metrics;
use load::procfs;
use load::progress::report_progress;
use load::publisher::publisher;
use load::report::{Report, summary};
use load::shared::{Shared, histogram};
use load::tally::{Ledger, Tally};
use load::topics::Plan;

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    if let Err(e) = check(&args) {
        eprintln!("tidings-load: {e}");
        return std::process::ExitCode::from(2);
    }
    let mut rt = if args.threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
    } else {
        let mut b = tokio::runtime::Builder::new_multi_thread();
        b.worker_threads(args.threads);
        b
    };
    let rt = rt.enable_all().build().expect("tokio runtime");
    match rt.block_on(run(args)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tidings-load: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// One run, phase by phase: connect every client, let them settle, publish
/// (on a thread of its own), drain until everything arrived or nothing more
/// does, then stop the clients, add up their tallies and print the report.
async fn run(args: Args) -> Result<(), String> {
    let start = Instant::now();
    let nofile = procfs::raise_nofile((args.clients + 1024) as libc::rlim_t)
        .map_err(|e| format!("cannot raise the open-file limit: {e}"))?;
    if (nofile as usize) < args.clients + 64 {
        eprintln!(
            "tidings-load: warning: the open-file limit is {nofile}, too low for {} clients",
            args.clients
        );
    }
    let ca = match &args.ca {
        Some(path) => {
            let pem = std::fs::read(path).map_err(|e| format!("--ca {}: {e}", path.display()))?;
            load::conn::trust(&pem)?;
            Some(pem)
        }
        None => None,
    };
    let h2 = match (&ca, args.http2) {
        (Some(pem), true) => Some(H2Pool::new(pem, args.clients, args.streams_per_connection)?),
        _ => None,
    };
    let mut sub = Vec::new();
    for url in &args.sub_url {
        sub.push(Url::parse(url).await?);
    }
    let mut publish_urls = Vec::new();
    for url in &args.pub_url {
        publish_urls.push(Url::parse(url).await?);
    }
    let metrics_url = match &args.metrics_url {
        Some(url) => Some(Url::parse(url).await?),
        None => None,
    };
    let sh = Arc::new(Shared {
        sub,
        start,
        plan: Plan::new(&args)?,
        ledger: Ledger::new(args.events),
        up: (0..args.clients).map(|_| AtomicBool::new(false)).collect(),
        connect_gate: Semaphore::new(args.connect_concurrency),
        connected_now: AtomicU64::new(0),
        established: AtomicU64::new(0),
        connect_failures: AtomicU64::new(0),
        reconnects: AtomicU64::new(0),
        reconnect_failures: AtomicU64::new(0),
        disconnects: AtomicU64::new(0),
        delivered: AtomicU64::new(0),
        published: AtomicU64::new(0),
        publish_errors: AtomicU64::new(0),
        time_limited: AtomicBool::new(false),
        latency: Mutex::new(histogram()),
        publish_latency: Mutex::new(histogram()),
        errors: Mutex::new(BTreeMap::new()),
        server_rss_peak: AtomicU64::new(0),
        h2,
        args,
    });
    let args = &sh.args;
    let server = |sh: &Shared| {
        let u = procfs::usage_of(&sh.args.server_pids);
        if let Some(u) = u {
            sh.server_rss_peak.fetch_max(u.rss_kb, Relaxed);
        }
        u
    };
    let me = || procfs::usage("self").unwrap_or_default();
    // Read outside the CPU window, so the scrapes cost the row nothing.
    let counters = async |sh: &Shared| {
        let url = metrics_url.as_ref()?;
        metrics::scrape(url, Duration::from_secs(10))
            .await
            .map_err(|e| sh.error(e))
            .ok()
    };

    let phase = Arc::new(Mutex::new("connect"));
    let (stop_tx, stop_rx) = watch::channel(false);
    let reporter = tokio::spawn(report_progress(
        Arc::clone(&sh),
        Arc::clone(&phase),
        stop_rx.clone(),
    ));

    // Idle, then connect every client.
    let server_idle = server(&sh);
    let connect_start = Instant::now();
    let mut clients = Vec::with_capacity(args.clients);
    for index in 0..args.clients {
        clients.push(tokio::spawn(client(
            Arc::clone(&sh),
            stop_rx.clone(),
            index,
        )));
    }
    loop {
        let settled = sh.established.load(Relaxed) + sh.connect_failures.load(Relaxed);
        if settled >= args.clients as u64 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let connect_s = connect_start.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs_f64(args.settle)).await;
    let established = sh.established.load(Relaxed);
    let server_connected = server(&sh);
    if established == 0 {
        let _ = stop_tx.send(true);
        let _ = reporter.await;
        return Err(format!(
            "no client could connect to {}: {:?}",
            args.sub_url.join(","),
            sh.errors.lock().expect("errors lock")
        ));
    }

    // Publish, then wait for the deliveries to drain.
    *phase.lock().expect("phase lock") = "publish";
    let counters_before = counters(&sh).await;
    let server_before = server(&sh);
    let me_before = me();
    let machine_before = procfs::machine_busy_s();
    let publish_start = Instant::now();
    let next = Arc::new(AtomicU64::new(0));
    // The publishers get a thread of their own: sharing the readers' threads,
    // a publish would wait for a tool busy reading thousands of streams, and
    // the latency measured would be the tool's, not the server's.
    let posters: Vec<Poster> = (0..args.pub_conns)
        .map(|i| {
            let url = &publish_urls[i % publish_urls.len()];
            Poster::new(url, &args.pub_content_type, &args.pub_headers)
        })
        .collect();
    let publishing = {
        let sh = Arc::clone(&sh);
        std::thread::Builder::new()
            .name("publishers".into())
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| format!("publisher runtime: {e}"))?;
                rt.block_on(async move {
                    let tasks: Vec<_> = posters
                        .into_iter()
                        .map(|poster| {
                            tokio::spawn(publisher(
                                Arc::clone(&sh),
                                poster,
                                Arc::clone(&next),
                                publish_start,
                            ))
                        })
                        .collect();
                    for t in tasks {
                        t.await.map_err(|e| format!("publisher failed: {e}"))?;
                    }
                    Ok::<(), String>(())
                })
            })
            .map_err(|e| format!("publisher thread: {e}"))?
    };
    tokio::task::spawn_blocking(move || publishing.join())
        .await
        .map_err(|e| format!("publisher thread: {e}"))?
        .map_err(|_| "publisher thread panicked".to_string())??;
    let publish_s = publish_start.elapsed().as_secs_f64();

    *phase.lock().expect("phase lock") = "drain";
    // What the connected clients are due, each by its selection.
    let accepted = sh.plan.accepted_per_topic(&sh.ledger);
    let expected: u64 = (0..args.clients)
        .filter(|&i| sh.up[i].load(Relaxed))
        .map(|i| sh.plan.expected(&sh.plan.selection(i), &accepted))
        .sum();
    let drain_timeout = Duration::from_secs_f64(args.drain_timeout);
    let mut last = (sh.delivered.load(Relaxed), Instant::now());
    while last.0 < expected && last.1.elapsed() < drain_timeout {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let now = sh.delivered.load(Relaxed);
        if now != last.0 {
            last = (now, Instant::now());
        }
    }
    let run_s = publish_start.elapsed().as_secs_f64();
    let server_after = server(&sh);
    let me_after = me();
    let machine_after = procfs::machine_busy_s();
    let counters_after = counters(&sh).await;

    // Stop and add up.
    let _ = stop_tx.send(true);
    let _ = reporter.await;
    let mut total = Tally::default();
    let (mut missing, mut silent, mut reset_streams) = (0, 0, 0);
    for c in clients {
        let (selection, tally, ok) = c.await.map_err(|e| format!("client task failed: {e}"))?;
        if ok {
            let lost = tally.missing(sh.plan.expected(&selection, &accepted), &sh.ledger);
            missing += lost;
            // A stream told to resynchronise was not left with a silent
            // gap: what it missed, it was told of.
            if tally.resets > 0 {
                reset_streams += 1;
            } else {
                silent += lost;
            }
            total.resets += tally.resets;
            total.unique += tally.unique;
            total.duplicates += tally.duplicates;
            total.out_of_order += tally.out_of_order;
            total.foreign += tally.foreign;
            total.strays += tally.strays;
            total.other += tally.other;
        }
    }

    let result = Report {
        sh: &sh,
        established,
        connect_s,
        publish_s,
        run_s,
        expected,
        delivered: total.unique,
        missing,
        silent,
        reset_streams,
        tally: &total,
        server: [server_idle, server_connected, server_before, server_after],
        me: [me_before, me_after],
        machine_busy_s: machine_before.zip(machine_after).map(|(b, a)| a - b),
        counters: counters_before
            .zip(counters_after)
            .map(|(b, a)| metrics::growth(&b, &a)),
    }
    .json();
    println!("{result}");
    std::io::stdout().flush().ok();
    eprint!("{}", summary(&result));
    Ok(())
}
