//! Phase timings for profiling a large audit: with `HVAUDIT_TIMINGS=1` in the environment,
//! each [`phase`] prints `hvaudit: timing: <phase> <milliseconds> ms (<milliseconds> ms CPU;
//! peak RSS <MiB> MB)` to stderr (wall time since the previous mark on any thread, the whole
//! process's CPU time over it: CPU near wall means one core was busy; and the peak resident
//! memory so far). Off by default; costs one atomic
//! load when off.

use std::sync::Mutex;
use std::sync::OnceLock;
use std::time::Instant;

fn enabled() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| std::env::var_os("HVAUDIT_TIMINGS").is_some_and(|v| v == "1"))
}

/// The previous mark: its instant and the process's CPU milliseconds then.
static LAST: Mutex<Option<(Instant, u64)>> = Mutex::new(None);

/// Marks the end of `name`: prints the wall time since the previous mark (or since the first
/// call) when timings are on.
pub fn phase(name: &str) {
    if !enabled() {
        return;
    }
    let now = Instant::now();
    let cpu = cpu_ms("/proc/self/stat");
    let mut last = LAST.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((prev, prev_cpu)) = *last {
        eprintln!(
            "hvaudit: timing: {name} {:.0} ms ({} ms CPU; peak RSS {} MB)",
            now.duration_since(prev).as_secs_f64() * 1000.0,
            cpu.saturating_sub(prev_cpu),
            peak_rss_mb()
        );
    }
    *last = Some((now, cpu));
}

/// Runs `f` and prints its own duration as `name` (for work on another thread).
pub fn span<T>(name: &str, f: impl FnOnce() -> T) -> T {
    if !enabled() {
        return f();
    }
    let t = Instant::now();
    let cpu = cpu_ms("/proc/thread-self/stat");
    let r = f();
    eprintln!(
        "hvaudit: timing: {name} {:.0} ms (own thread; {} ms CPU)",
        t.elapsed().as_secs_f64() * 1000.0,
        cpu_ms("/proc/thread-self/stat").saturating_sub(cpu)
    );
    r
}

/// The process's peak resident set so far in MiB (`VmHWM` in `/proc/self/status`); 0 where
/// it cannot be read.
fn peak_rss_mb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map_or(0, |kb| kb / 1024)
}

/// User + system CPU time in milliseconds of the process (`/proc/self/stat`) or this thread
/// (`/proc/thread-self/stat`): fields 14 and 15, in clock ticks of 10 ms on Linux; 0 where
/// it cannot be read.
fn cpu_ms(stat_file: &str) -> u64 {
    let Ok(stat) = std::fs::read_to_string(stat_file) else {
        return 0;
    };
    // The command name (field 2) is in parentheses and may hold spaces: count after it.
    let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
        return 0;
    };
    let f: Vec<&str> = rest.split_whitespace().collect();
    let tick = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    // After ")" field 3 (state) is index 0: utime (14) is index 11, stime (15) index 12.
    (tick(11) + tick(12)) * 10
}
