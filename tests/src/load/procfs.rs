//! CPU time and resident memory of processes, from `/proc`, and the
//! open-file limit.

use std::io;

/// CPU time and resident set of one process, or the sum over several.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Usage {
    /// User plus system CPU time, in seconds.
    pub cpu_s: f64,
    /// Resident set size, in KiB.
    pub rss_kb: u64,
}

impl std::ops::Add for Usage {
    type Output = Usage;
    fn add(self, other: Usage) -> Usage {
        Usage {
            cpu_s: self.cpu_s + other.cpu_s,
            rss_kb: self.rss_kb + other.rss_kb,
        }
    }
}

/// Clock ticks per second, the unit of CPU times in `/proc/<pid>/stat`.
fn ticks_per_second() -> f64 {
    // SAFETY: sysconf only reads a system constant.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 { ticks as f64 } else { 100.0 }
}

/// The usage of process `pid` (`"self"` for this process).
pub fn usage(pid: &str) -> io::Result<Usage> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // The command name may hold spaces and parentheses: fields start after
    // the last ')'. utime and stime are fields 14 and 15.
    let after = stat
        .rfind(')')
        .map(|i| &stat[i + 1..])
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "odd /proc stat"))?;
    let fields: Vec<&str> = after.split_whitespace().collect();
    let tick = |i: usize| -> io::Result<u64> {
        fields
            .get(i)
            .and_then(|f| f.parse().ok())
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "odd /proc stat"))
    };
    let ticks = tick(11)? + tick(12)?;
    Ok(Usage {
        cpu_s: ticks as f64 / ticks_per_second(),
        rss_kb: status_kb(pid, "VmRSS:")?.unwrap_or(0),
    })
}

/// A `kB` field of `/proc/<pid>/status`, such as `VmRSS:` or `VmHWM:`.
pub fn status_kb(pid: &str, field: &str) -> io::Result<Option<u64>> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    Ok(status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok()))
}

/// CPU seconds all processes of the machine spent busy since boot
/// (user, nice, system, irq, softirq and steal of `/proc/stat`).
pub fn machine_busy_s() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().find(|l| l.starts_with("cpu "))?;
    let f: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal
    let busy = f.first()? + f.get(1)? + f.get(2)? + f.get(5)? + f.get(6)? + f.get(7)?;
    Some(busy as f64 / ticks_per_second())
}

/// The summed usage of `pids`; `None` when there are none or one is gone.
pub fn usage_of(pids: &[u32]) -> Option<Usage> {
    if pids.is_empty() {
        return None;
    }
    pids.iter()
        .map(|p| usage(&p.to_string()).ok())
        .try_fold(Usage::default(), |sum, u| u.map(|u| sum + u))
}

/// Raises the soft limit on open files towards `want`, up to the hard
/// limit; returns the soft limit in force afterwards.
pub fn raise_nofile(want: libc::rlim_t) -> io::Result<libc::rlim_t> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit only read and write the struct given.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return Err(io::Error::last_os_error());
        }
        let target = want.min(lim.rlim_max);
        if target > lim.rlim_cur {
            lim.rlim_cur = target;
            if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) != 0 {
                return Err(io::Error::last_os_error());
            }
        }
    }
    Ok(lim.rlim_cur)
}
