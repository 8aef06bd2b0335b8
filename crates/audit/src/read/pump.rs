//! A stream that may go quiet (`tail -F audit.log | apiserver-doctor ingest -`, a named pipe)
//! read on a thread of its own, so that the reading side is never stuck in a `read` call:
//! while [`Pump::ticks`] is on, a read that finds nothing for [`TICK`] answers
//! [`io::ErrorKind::WouldBlock`] instead of waiting. The line reader then hands on the whole
//! lines it holds, lets the sink commit, and sees an interrupt (Ctrl-C, SIGTERM), as it does
//! between chunks of a busy stream. Before, a stream that stopped sending kept its last lines
//! unread and uncommitted, and ignored SIGTERM until it closed (ingest review s38, item 1).
//!
//! Ticks are on only while the reader can take them: during format detection, and then for
//! uncompressed JSON lines. Every other reader (decompressors, the JSON array, YAML and CSV
//! readers, tar) waits as it always did.

use std::io::{self, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, sync_channel};
use std::time::Duration;

/// How long a read waits for more of a quiet stream before it says so.
pub(super) const TICK: Duration = Duration::from_millis(200);

/// Bytes read from the stream at a time, and buffers held between the two threads.
const PIECE: usize = 64 * 1024;
const PIECES_HELD: usize = 4;

/// The reading side of a stream read on its own thread.
pub(super) struct Pump {
    pieces: Receiver<io::Result<Vec<u8>>>,
    /// The piece being read out, and how far.
    piece: Vec<u8>,
    at: usize,
    ended: bool,
    /// Whether a read that finds nothing for [`TICK`] answers `WouldBlock` (else it waits).
    pub(super) ticks: Arc<AtomicBool>,
}

impl Pump {
    /// Starts reading `r` on a thread of its own (an error when no thread can be started).
    pub(super) fn start(mut r: Box<dyn Read + Send>) -> io::Result<Pump> {
        let (tx, rx) = sync_channel::<io::Result<Vec<u8>>>(PIECES_HELD);
        std::thread::Builder::new().name("stream-reader".to_owned()).spawn(move || {
            let mut buf = vec![0u8; PIECE];
            loop {
                let sent = match r.read(&mut buf) {
                    Ok(0) => {
                        let _ = tx.send(Ok(Vec::new()));
                        break;
                    }
                    Ok(n) => tx.send(Ok(buf[..n].to_vec())),
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => {
                        let _ = tx.send(Err(e));
                        break;
                    }
                };
                // The reading side is gone (the run stopped): so is this thread.
                if sent.is_err() {
                    break;
                }
            }
        })?;
        Ok(Pump {
            pieces: rx,
            piece: Vec::new(),
            at: 0,
            ended: false,
            ticks: Arc::new(AtomicBool::new(false)),
        })
    }
}

impl Read for Pump {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        while self.at == self.piece.len() {
            if self.ended {
                return Ok(0);
            }
            let next = if self.ticks.load(Ordering::Relaxed) {
                match self.pieces.recv_timeout(TICK) {
                    Ok(p) => Some(p),
                    Err(RecvTimeoutError::Timeout) => {
                        return Err(io::Error::new(io::ErrorKind::WouldBlock, "nothing more yet"));
                    }
                    Err(RecvTimeoutError::Disconnected) => None,
                }
            } else {
                self.pieces.recv().ok()
            };
            match next {
                Some(Ok(p)) if p.is_empty() => self.ended = true,
                Some(Ok(p)) => {
                    self.piece = p;
                    self.at = 0;
                }
                Some(Err(e)) => {
                    self.ended = true;
                    return Err(e);
                }
                None => self.ended = true,
            }
        }
        let n = out.len().min(self.piece.len() - self.at);
        out[..n].copy_from_slice(&self.piece[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stream that gives its lines, then waits `pause` before giving the rest.
    struct Pausing {
        parts: Vec<(Vec<u8>, Duration)>,
    }

    impl Read for Pausing {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            let Some((bytes, pause)) = self.parts.first_mut() else { return Ok(0) };
            std::thread::sleep(*pause);
            *pause = Duration::ZERO;
            let n = out.len().min(bytes.len());
            out[..n].copy_from_slice(&bytes[..n]);
            bytes.drain(..n);
            if bytes.is_empty() {
                self.parts.remove(0);
            }
            Ok(n)
        }
    }

    #[test]
    fn a_quiet_stream_says_so_while_ticks_are_on_and_waits_while_they_are_off() {
        let parts = vec![(b"a\n".to_vec(), Duration::ZERO), (b"b\n".to_vec(), Duration::from_millis(700))];
        let mut pump = Pump::start(Box::new(Pausing { parts })).expect("a thread");
        let mut buf = [0u8; 16];
        pump.ticks.store(true, Ordering::Relaxed);
        assert_eq!(pump.read(&mut buf).expect("first"), 2);
        let quiet = pump.read(&mut buf).expect_err("nothing yet");
        assert_eq!(quiet.kind(), io::ErrorKind::WouldBlock);
        // Ticks off: the read waits for the rest, then the end.
        pump.ticks.store(false, Ordering::Relaxed);
        assert_eq!(pump.read(&mut buf).expect("second"), 2);
        assert_eq!(&buf[..2], b"b\n");
        assert_eq!(pump.read(&mut buf).expect("end"), 0);
        assert_eq!(pump.read(&mut buf).expect("still the end"), 0);
    }

    #[test]
    fn a_read_error_is_handed_on_after_the_bytes_before_it() {
        struct Cut(bool);
        impl Read for Cut {
            fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
                if std::mem::replace(&mut self.0, true) {
                    return Err(io::Error::other("cut"));
                }
                out[..3].copy_from_slice(b"ab\n");
                Ok(3)
            }
        }
        let mut pump = Pump::start(Box::new(Cut(false))).expect("a thread");
        let mut all = Vec::new();
        let err = pump.read_to_end(&mut all).expect_err("cut");
        assert_eq!((all.as_slice(), err.to_string().as_str()), (&b"ab\n"[..], "cut"));
    }
}
