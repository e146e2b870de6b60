//! One publishing connection of a run: it takes the next seq, waits for
//! its slot in the schedule when the rate is set, posts the event (on the
//! topic the plan gives its seq, or to its channel's path) and records the answer in the ledger and
//! the counters.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use super::http::Poster;
use super::shared::Shared;

/// One publishing connection: takes the next seq, waits for its slot in
/// the schedule (if paced), sends it, records the outcome.
pub async fn publisher(sh: Arc<Shared>, mut poster: Poster, next: Arc<AtomicU64>, start: Instant) {
    let args = &sh.args;
    let timeout = Duration::from_secs_f64(args.publish_timeout);
    let deadline =
        (args.time_limit > 0.0).then(|| start + Duration::from_secs_f64(args.time_limit));
    loop {
        let seq = next.fetch_add(1, Relaxed);
        if seq >= args.events {
            return;
        }
        if args.rate > 0.0 {
            let at = start + Duration::from_secs_f64(seq as f64 / args.rate);
            tokio::time::sleep_until(at.into()).await;
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            sh.time_limited.store(true, Relaxed);
            next.store(args.events, Relaxed);
            return;
        }
        sh.ledger.sending(seq);
        let ts = sh.now_us();
        let mut body = args
            .body_template()
            .replace("{seq}", &seq.to_string())
            .replace("{ts}", &ts.to_string());
        if let Some(topic) = sh.plan.topic_of(seq) {
            body = body.replace("{topic}", &sh.plan.name(topic));
        }
        let sent = Instant::now();
        let channel = sh.plan.event_channel(seq);
        let post = poster.post(channel.as_deref(), body.as_bytes());
        let outcome = tokio::time::timeout(timeout, post).await;
        let took = sent.elapsed().as_micros() as u64;
        let ok = match outcome {
            Ok(Ok(status)) if (200..300).contains(&status) => true,
            Ok(Ok(status)) => {
                sh.error(format!("publish: status {status}"));
                false
            }
            Ok(Err(e)) => {
                sh.error(format!("publish: {e}"));
                false
            }
            Err(_) => {
                sh.error("publish: timed out".into());
                poster.reset();
                false
            }
        };
        if ok {
            sh.published.fetch_add(1, Relaxed);
            sh.publish_latency
                .lock()
                .expect("latency lock")
                .saturating_record(took.max(1));
        } else {
            sh.publish_errors.fetch_add(1, Relaxed);
        }
        sh.ledger.answered(seq, ok);
    }
}
