//! The progress bar of a long read (`ingest`, and the first `diagnose` or `query --input` of
//! raw files): bytes read against the total, events per second and the time left, on standard
//! error. Callers draw it only when standard error is a terminal.
//!
//! Also how such a read stops on Ctrl-C (SIGINT), SIGTERM or SIGHUP ([`watch_signals`]): the
//! read stops between two chunks, the store writer's abort path removes what the run wrote
//! since its last commit, the bar is cleared, and `main` says what happened and exits with
//! 128 + the signal's number (130 for Ctrl-C, 143 for SIGTERM).

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant};

/// Set while [`ingest_with_bar`] reads: a signal then stops the read instead of the process.
static READING: AtomicBool = AtomicBool::new(false);

/// The first signal received while reading (0: none).
static SIGNAL: AtomicI32 = AtomicI32::new(0);

/// The flag the reader checks between chunks ([`audit::read::ReadOptions::interrupt`]).
static STOP: LazyLock<Arc<AtomicBool>> = LazyLock::new(|| Arc::new(AtomicBool::new(false)));

/// Watches for SIGINT (Ctrl-C), SIGTERM and SIGHUP on a thread of its own. While a read runs
/// ([`ingest_with_bar`]), the first one stops it at its next chunk (the command then fails with
/// the ingest's `Interrupted` error, and [`interrupted`] gives the signal); at any other time,
/// or at a second signal, the process ends at once, as it would without a handler, after
/// removing the private temporary stores of `diagnose` (which nothing else would remove).
#[cfg(unix)]
pub fn watch_signals() {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    // A signal this process was started ignoring stays ignored: `nohup` ignores SIGHUP, and a
    // script's background job SIGINT, so that they outlive the terminal or its Ctrl-C.
    let ignored = ignored_signals();
    let watched: Vec<i32> = [SIGINT, SIGTERM, SIGHUP]
        .into_iter()
        .filter(|&s| ignored.map_or(s != SIGHUP, |mask| mask & (1u64 << (s - 1)) == 0))
        .collect();
    let Ok(mut signals) = signal_hook::iterator::Signals::new(watched) else { return };
    std::thread::spawn(move || {
        for signal in signals.forever() {
            if READING.load(Ordering::SeqCst)
                && SIGNAL.compare_exchange(0, signal, Ordering::SeqCst, Ordering::SeqCst).is_ok()
            {
                STOP.store(true, Ordering::SeqCst);
                continue;
            }
            if READING.load(Ordering::SeqCst) {
                // A second signal while the read stops: the user wants out now. What the run
                // wrote since its last commit is left behind; the next ingest into the store (or
                // the next diagnose, for the cache) removes it.
                eprintln!(
                    "\n{} again: stopped at once, without cleaning up (the next run into the same store removes \
                     what this one left uncommitted)",
                    signal_name(signal)
                );
            }
            super::ingest_cache::remove_temporary_stores();
            std::process::exit(128 + signal);
        }
    });
}

#[cfg(not(unix))]
pub fn watch_signals() {}

/// The signals this process ignores (bit `n - 1` for signal `n`), from `/proc/self/status`;
/// `None` where it cannot be read (SIGHUP is then left alone, as `nohup` may ignore it).
#[cfg(unix)]
fn ignored_signals() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let mask = status.lines().find_map(|l| l.strip_prefix("SigIgn:"))?;
    u64::from_str_radix(mask.trim(), 16).ok()
}

/// The signal that stopped a read, if one did.
pub fn interrupted() -> Option<i32> {
    match SIGNAL.load(Ordering::SeqCst) {
        0 => None,
        signal => Some(signal),
    }
}

/// The signal, as a person sent it.
pub fn signal_name(signal: i32) -> &'static str {
    match signal {
        2 => "interrupted (Ctrl-C, SIGINT)",
        15 => "stopped by SIGTERM",
        1 => "stopped by SIGHUP (the terminal was closed)",
        _ => "stopped by a signal",
    }
}

/// The progress bar, redrawn from the shared counters by its own thread.
pub struct Ticker {
    stop: Arc<AtomicBool>,
    handle: std::thread::JoinHandle<()>,
}

impl Ticker {
    pub fn start(total: Option<u64>, bytes: Arc<AtomicU64>, events: Arc<AtomicU64>) -> Ticker {
        let bar = indicatif::ProgressBar::with_draw_target(total, indicatif::ProgressDrawTarget::stderr());
        let template = if total.is_some() {
            // The bar takes what the numbers leave of the terminal's width: one line at 80 columns.
            "{wide_bar} {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec} {msg} ETA {eta}"
        } else {
            "{spinner} {binary_bytes} {binary_bytes_per_sec} {msg}"
        };
        let style = indicatif::ProgressStyle::with_template(template)
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
        bar.set_style(style);
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = stop.clone();
        let handle = std::thread::spawn(move || {
            let start = Instant::now();
            // Drawn at least once, however quick the read.
            loop {
                let e = events.load(Ordering::Relaxed);
                bar.set_position(bytes.load(Ordering::Relaxed));
                let rate = e as f64 / start.elapsed().as_secs_f64().max(1e-3);
                bar.set_message(format!("{} events {}/s", short(e as f64), short(rate)));
                if stop2.load(Ordering::Relaxed) {
                    break;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            bar.finish_and_clear();
        });
        Ticker { stop, handle }
    }

    pub fn finish(self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.handle.join();
    }
}

/// Runs `ingest` with `opts` counting bytes read and events into fresh counters, and, when
/// `show` and standard error is a terminal, draws the bar from them meanwhile (`total` gives
/// the bytes to read, `None` where unknown).
pub fn ingest_with_bar<T>(
    show: bool,
    total: impl FnOnce() -> Option<u64>,
    mut opts: audit::ingest::IngestOptions,
    ingest: impl FnOnce(&audit::ingest::IngestOptions) -> T,
) -> T {
    let bytes = Arc::new(AtomicU64::new(0));
    let events = Arc::new(AtomicU64::new(0));
    opts.read.progress = Some(bytes.clone());
    opts.events = Some(events.clone());
    opts.read.interrupt = Some(STOP.clone());
    let ticker = (show && std::io::stderr().is_terminal()).then(|| Ticker::start(total(), bytes, events));
    READING.store(true, Ordering::SeqCst);
    let result = ingest(&opts);
    READING.store(false, Ordering::SeqCst);
    // The bar's line is cleared before anything else is said (an interruption's message).
    if let Some(t) = ticker {
        t.finish();
    }
    result
}

/// The size on disk of `files` (those that can be read).
pub fn bytes_of(files: &[std::path::PathBuf]) -> u64 {
    files.iter().filter_map(|p| std::fs::metadata(p).ok()).map(|m| m.len()).sum()
}

/// `n` in at most five characters: `950`, `12.3k`, `8.76M`.
fn short(n: f64) -> String {
    let n = n.max(0.0);
    let (v, unit) = if n >= 1e9 {
        (n / 1e9, "G")
    } else if n >= 1e6 {
        (n / 1e6, "M")
    } else if n >= 1e3 {
        (n / 1e3, "k")
    } else {
        return format!("{n:.0}");
    };
    if v >= 100.0 {
        format!("{v:.0}{unit}")
    } else if v >= 10.0 {
        format!("{v:.1}{unit}")
    } else {
        format!("{v:.2}{unit}")
    }
}

#[cfg(test)]
mod tests {
    use super::short;

    #[test]
    fn short_numbers_keep_three_figures() {
        let cases = [
            (0.0, "0"),
            (950.0, "950"),
            (999.4, "999"),
            (1_000.0, "1.00k"),
            (12_345.0, "12.3k"),
            (767_391.0, "767k"),
            (8_762_548.0, "8.76M"),
            (1.5e9, "1.50G"),
            (-3.0, "0"),
        ];
        for (n, want) in cases {
            assert_eq!(short(n), want, "{n}");
        }
    }
}
