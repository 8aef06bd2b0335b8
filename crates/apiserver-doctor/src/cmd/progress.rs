//! The progress bar of a long read (`ingest`, and the first `diagnose` or `query --input` of
//! raw files): bytes read against the total, events per second and the time left, on standard
//! error. Callers draw it only when standard error is a terminal.

use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

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
    let ticker = (show && std::io::stderr().is_terminal()).then(|| Ticker::start(total(), bytes, events));
    let result = ingest(&opts);
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
