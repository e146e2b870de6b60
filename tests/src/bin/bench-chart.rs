//! `bench-chart`: reads the JSON lines `tidings-load` wrote during
//! `scripts/bench`, draws p99 latency and server CPU per delivery against
//! the number of clients for every server and rate (SVG), and prints the
//! results as a Markdown table.
//!
//! Usage: `bench-chart [--out bench/chart.svg] [--title TEXT] RESULTS.jsonl...`

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::error::Error;
use std::path::{Path, PathBuf};

use clap::Parser as _;
use plotters::prelude::*;
use serde_json::Value;

/// Chart and table from benchmark results.
#[derive(Debug, clap::Parser)]
#[command(
    name = "bench-chart",
    version,
    about = "Chart (SVG) and Markdown table of tidings-load results."
)]
struct Args {
    /// Where to write the SVG chart.
    #[arg(long, default_value = "bench/chart.svg")]
    out: PathBuf,

    /// Chart title (default: the date of the first run).
    #[arg(long)]
    title: Option<String>,

    /// JSON-lines files written by `tidings-load`.
    #[arg(required = true)]
    results: Vec<PathBuf>,
}

/// One run, as far as the chart and table need it.
#[derive(Debug, Clone)]
struct Row {
    server: String,
    clients: u64,
    rate: f64,
    achieved: Option<f64>,
    published: Option<u64>,
    events: Option<u64>,
    reconnect: Option<u64>,
    delivered: u64,
    expected: u64,
    gaps: u64,
    dups: u64,
    p50_us: Option<f64>,
    p99_us: Option<f64>,
    cpu_us: Option<f64>,
    rss_kb: Option<f64>,
    unix_time: Option<u64>,
    /// Cores' worth of CPU other processes used during the run.
    other_cores: Option<f64>,
}

impl Row {
    fn from(v: &Value) -> Option<Row> {
        let u = |k: &str| v[k].as_u64();
        let f = |k: &str| v[k].as_f64();
        Some(Row {
            server: v["label"].as_str().unwrap_or("?").to_owned(),
            clients: u("clients")?,
            rate: f("rate")?,
            achieved: f("publish_rate"),
            published: u("published"),
            events: u("events"),
            reconnect: u("reconnect_after"),
            delivered: u("delivered").unwrap_or(0),
            expected: u("expected").unwrap_or(0),
            gaps: u("gaps").unwrap_or(0),
            dups: u("duplicates").unwrap_or(0),
            p50_us: f("latency_p50_us"),
            p99_us: f("latency_p99_us"),
            cpu_us: f("server_cpu_us_per_delivery"),
            rss_kb: f("server_rss_kb_per_connection"),
            unix_time: u("unix_time"),
            other_cores: f("other_cpu_s")
                .zip(f("run_s"))
                .filter(|(_, run)| *run > 0.0)
                .map(|(o, run)| o / run),
        })
    }
}

/// Paced rates ascending, then "as fast as possible" (0).
fn rate_order(a: f64, b: f64) -> Ordering {
    let key = |r: f64| if r > 0.0 { r } else { f64::INFINITY };
    key(a).total_cmp(&key(b))
}

fn rate_name(rate: f64) -> String {
    if rate > 0.0 {
        format!("{rate}/s")
    } else {
        "max".into()
    }
}

fn main() -> Result<(), Box<dyn Error>> {
    let args = Args::parse();
    let mut rows = Vec::new();
    for path in &args.results {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let v: Value = serde_json::from_str(line)
                .map_err(|e| format!("{}:{}: {e}", path.display(), i + 1))?;
            match Row::from(&v) {
                Some(r) => rows.push(r),
                None => eprintln!("{}:{}: not a tidings-load result", path.display(), i + 1),
            }
        }
    }
    if rows.is_empty() {
        return Err("no results".into());
    }
    rows.sort_by(|a, b| {
        a.reconnect
            .is_some()
            .cmp(&b.reconnect.is_some())
            .then(a.clients.cmp(&b.clients))
            .then(rate_order(a.rate, b.rate))
            .then(a.reconnect.cmp(&b.reconnect))
            .then(b.server.cmp(&a.server))
    });
    print!("{}", table(&rows));
    let title = args.title.clone().unwrap_or_else(|| {
        let date = rows
            .iter()
            .filter_map(|r| r.unix_time)
            .min()
            .map(date_of)
            .unwrap_or_default();
        format!("SSE fan-out, {date}, 2 cores: server and load tool on one machine")
    });
    if let Some(dir) = args.out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    chart(&rows, &args.out, &title)?;
    eprintln!("chart written to {}", args.out.display());
    Ok(())
}

/// `YYYY-MM-DD` (UTC) of a Unix time.
fn date_of(secs: u64) -> String {
    // Civil-from-days, after Howard Hinnant's algorithm.
    let z = (secs / 86_400) as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

fn ms(us: Option<f64>) -> String {
    us.map_or("–".into(), |us| {
        let ms = us / 1000.0;
        if ms < 10.0 {
            format!("{ms:.2}")
        } else if ms < 100.0 {
            format!("{ms:.1}")
        } else {
            format!("{ms:.0}")
        }
    })
}

/// The Markdown table of every run.
fn table(rows: &[Row]) -> String {
    let mut out = String::from(
        "| server | clients | rate (achieved) | reconnect | delivered / expected | gaps | dups | p50 ms | p99 ms | server µs CPU / delivery | server KB RSS / conn | other load (cores) |\n\
         |---|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for r in rows {
        let sent = match (r.published, r.events) {
            (Some(p), Some(e)) if p < e => format!(", {p} of {e} sent"),
            _ => String::new(),
        };
        let achieved = r
            .achieved
            .map_or(String::new(), |a| format!(" ({a:.0}/s{sent})"));
        let share = if r.expected > 0 {
            format!(" ({:.1}%)", 100.0 * r.delivered as f64 / r.expected as f64)
        } else {
            String::new()
        };
        out.push_str(&format!(
            "| {} | {} | {}{} | {} | {} / {}{} | {} | {} | {} | {} | {} | {} | {} |\n",
            r.server,
            r.clients,
            rate_name(r.rate),
            achieved,
            r.reconnect.map_or("–".into(), |k| format!("every {k}")),
            r.delivered,
            r.expected,
            share,
            r.gaps,
            r.dups,
            ms(r.p50_us),
            ms(r.p99_us),
            r.cpu_us.map_or("–".into(), |c| format!("{c:.2}")),
            r.rss_kb.map_or("–".into(), |k| format!("{k:.1}")),
            r.other_cores.map_or("–".into(), |c| format!("{c:.2}")),
        ));
    }
    out
}

/// Line colour of a server at the `i`-th rate.
fn colour(server: &str, i: usize) -> RGBColor {
    const BLUES: [RGBColor; 3] = [
        RGBColor(107, 174, 214),
        RGBColor(33, 113, 181),
        RGBColor(8, 48, 107),
    ];
    const REDS: [RGBColor; 3] = [
        RGBColor(251, 106, 74),
        RGBColor(203, 24, 29),
        RGBColor(103, 0, 13),
    ];
    const GREENS: [RGBColor; 3] = [
        RGBColor(116, 196, 118),
        RGBColor(35, 139, 69),
        RGBColor(0, 68, 27),
    ];
    let palette = match server {
        "tidings" => &BLUES,
        "nchan" => &REDS,
        _ => &GREENS,
    };
    palette[i % 3]
}

type Series = BTreeMap<(String, usize), (String, Vec<(f64, f64)>)>;

/// Per (server, rate) the points `(clients, value)` of the runs without
/// reconnects.
fn series(rows: &[Row], value: impl Fn(&Row) -> Option<f64>) -> Series {
    let mut rates: Vec<f64> = rows
        .iter()
        .filter(|r| r.reconnect.is_none())
        .map(|r| r.rate)
        .collect();
    rates.sort_by(|a, b| rate_order(*a, *b));
    rates.dedup();
    let mut out = Series::new();
    for r in rows.iter().filter(|r| r.reconnect.is_none()) {
        let Some(v) = value(r).filter(|v| v.is_finite()) else {
            continue;
        };
        let i = rates.iter().position(|&x| x == r.rate).unwrap_or(0);
        out.entry((r.server.clone(), i))
            .or_insert_with(|| (format!("{} {}", r.server, rate_name(r.rate)), Vec::new()))
            .1
            .push((r.clients as f64, v));
    }
    for (_, points) in out.values_mut() {
        points.sort_by(|a, b| a.0.total_cmp(&b.0));
    }
    out
}

fn span(values: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    values.fold(None, |acc, v| match acc {
        None => Some((v, v)),
        Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
    })
}

/// Axis ticks 1, 2, 5 × 10^k within `lo..hi`.
fn ticks_125(lo: f64, hi: f64) -> Vec<f64> {
    let mut out = Vec::new();
    let mut decade = 10f64.powf(lo.log10().floor());
    while decade <= hi {
        for m in [1.0, 2.0, 5.0] {
            let v = decade * m;
            if v >= lo && v <= hi {
                out.push(v);
            }
        }
        decade *= 10.0;
    }
    out
}

fn chart(rows: &[Row], out: &Path, title: &str) -> Result<(), Box<dyn Error>> {
    let root = SVGBackend::new(out, (1280, 600)).into_drawing_area();
    root.fill(&WHITE)?;
    let root = root.titled(title, ("sans-serif", 22))?;
    let height = root.dim_in_pixel().1;
    let (plots, legend) = root.split_vertically(height - 64);
    let (left, right) = plots.split_horizontally(640);
    let mut counts: Vec<f64> = rows.iter().map(|r| r.clients as f64).collect();
    counts.sort_by(f64::total_cmp);
    counts.dedup();
    let (cmin, cmax) = (counts[0], counts[counts.len() - 1]);
    let clients = || {
        ((cmin / 1.5)..(cmax * 1.5))
            .log_scale()
            .with_key_points(counts.clone())
    };

    let p99 = series(rows, |r| r.p99_us.map(|us| us / 1000.0));
    let (lo, hi) =
        span(p99.values().flat_map(|(_, p)| p.iter().map(|&(_, v)| v))).unwrap_or((1.0, 10.0));
    let (lo, hi) = ((lo / 1.5).max(0.01), hi * 1.5);
    let mut c = ChartBuilder::on(&left)
        .caption("p99 publish→receive latency", ("sans-serif", 18))
        .margin(14)
        .x_label_area_size(42)
        .y_label_area_size(64)
        .build_cartesian_2d(
            clients(),
            (lo..hi).log_scale().with_key_points(ticks_125(lo, hi)),
        )?;
    c.configure_mesh()
        .x_desc("clients")
        .y_desc("ms (log scale)")
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_label_formatter(&|y| format!("{y}"))
        .draw()?;
    draw(&mut c, &p99)?;

    let cpu = series(rows, |r| r.cpu_us);
    let (_, hi) =
        span(cpu.values().flat_map(|(_, p)| p.iter().map(|&(_, v)| v))).unwrap_or((0.0, 1.0));
    let mut c = ChartBuilder::on(&right)
        .caption("server CPU per delivery", ("sans-serif", 18))
        .margin(14)
        .x_label_area_size(42)
        .y_label_area_size(64)
        .build_cartesian_2d(clients(), 0.0..(hi * 1.1).max(0.1))?;
    c.configure_mesh()
        .x_desc("clients")
        .y_desc("µs CPU")
        .y_labels(8)
        .light_line_style(TRANSPARENT)
        .x_label_formatter(&|x| format!("{x:.0}"))
        .draw()?;
    draw(&mut c, &cpu)?;

    // One legend for both plots, below them.
    let entries = series(rows, |_| Some(0.0));
    for (k, ((server, i), (name, _))) in entries.iter().enumerate() {
        let (x, y) = (60 + (k % 6) as i32 * 200, 16 + (k / 6) as i32 * 24);
        let col = colour(server, *i);
        legend.draw(&PathElement::new(
            vec![(x, y), (x + 28, y)],
            col.stroke_width(2),
        ))?;
        marker(&legend, (x + 14, y), *i, col)?;
        legend.draw(&Text::new(
            name.clone(),
            (x + 36, y - 7),
            ("sans-serif", 14).into_font(),
        ))?;
    }
    root.present()?;
    Ok(())
}

/// The point marker of the `i`-th rate.
fn marker<DB: DrawingBackend, CT: CoordTranslate>(
    area: &DrawingArea<DB, CT>,
    at: CT::From,
    i: usize,
    col: RGBColor,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    match i % 3 {
        0 => area.draw(&Circle::new(at, 4, col.filled())),
        1 => area.draw(&TriangleMarker::new(at, 6, col.filled())),
        _ => area.draw(&Cross::new(at, 5, col.stroke_width(2))),
    }
}

fn draw<'a, X, Y>(
    c: &mut ChartContext<'a, SVGBackend<'a>, Cartesian2d<X, Y>>,
    series: &Series,
) -> Result<(), DrawingAreaErrorKind<std::io::Error>>
where
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
{
    for ((server, i), (_, points)) in series {
        let col = colour(server, *i);
        c.draw_series(LineSeries::new(points.iter().copied(), col.stroke_width(2)))?;
        let area = c.plotting_area();
        for &p in points {
            marker(area, p, *i, col)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(date_of(0), "1970-01-01");
        assert_eq!(date_of(951_782_400), "2000-02-29");
        assert_eq!(date_of(1_795_796_726), "2026-11-27");
    }
}
