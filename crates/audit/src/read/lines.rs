//! JSON lines, in parallel: newline-aligned chunks parsed on the rayon pool while the next
//! chunks are read, results handed on in input order.

use std::io::{self, Read};

use rayon::prelude::*;

use super::input::{Peeked, read_failed};
use super::records::Collector;
use super::summary::{FileSummary, Location, SkipKind};
use super::{BatchSink, ReadError, ReadOptions, flush};

/// A run of whole lines.
struct Chunk {
    data: Vec<u8>,
    /// Line number of the first line in `data`.
    first_line: u64,
    /// A line dropped for being longer than the limit (its number), reported with this chunk.
    too_long: Option<u64>,
}

/// Cuts a stream into newline-aligned chunks.
struct Chunker<R> {
    r: R,
    carry: Vec<u8>,
    eof: bool,
    next_line: u64,
    chunk_bytes: usize,
    max_line: usize,
}

fn read_some(r: &mut impl Read, buf: &mut Vec<u8>, want: usize) -> io::Result<usize> {
    let start = buf.len();
    buf.resize(start + want, 0);
    loop {
        match r.read(&mut buf[start..]) {
            Ok(n) => {
                buf.truncate(start + n);
                return Ok(n);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                buf.truncate(start);
                return Err(e);
            }
        }
    }
}

impl<R: Read> Chunker<R> {
    fn chunk(&mut self, data: Vec<u8>) -> Chunk {
        let first_line = self.next_line;
        self.next_line += memchr::memchr_iter(b'\n', &data).count() as u64;
        Chunk { data, first_line, too_long: None }
    }

    fn next_chunk(&mut self) -> io::Result<Option<Chunk>> {
        let mut target = self.chunk_bytes.max(1);
        loop {
            while !self.eof && self.carry.len() < target {
                let want = (target - self.carry.len()).max(64 * 1024);
                if read_some(&mut self.r, &mut self.carry, want)? == 0 {
                    self.eof = true;
                }
            }
            if self.eof {
                if self.carry.is_empty() {
                    return Ok(None);
                }
                let data = std::mem::take(&mut self.carry);
                return Ok(Some(self.chunk(data)));
            }
            match memchr::memrchr(b'\n', &self.carry) {
                Some(pos) => {
                    let rest = self.carry.split_off(pos + 1);
                    let data = std::mem::replace(&mut self.carry, rest);
                    return Ok(Some(self.chunk(data)));
                }
                None if self.carry.len() >= self.max_line => {
                    let line = self.next_line;
                    self.skip_rest_of_line()?;
                    self.next_line += 1;
                    return Ok(Some(Chunk {
                        data: Vec::new(),
                        first_line: self.next_line,
                        too_long: Some(line),
                    }));
                }
                None => target = (self.carry.len() * 2).min(self.max_line.max(1)),
            }
        }
    }

    /// Drops bytes up to and including the next newline; what follows stays in `carry`.
    fn skip_rest_of_line(&mut self) -> io::Result<()> {
        self.carry.clear();
        loop {
            if read_some(&mut self.r, &mut self.carry, 1 << 20)? == 0 {
                self.eof = true;
                self.carry.clear();
                return Ok(());
            }
            if let Some(pos) = memchr::memchr(b'\n', &self.carry) {
                self.carry.drain(..=pos);
                return Ok(());
            }
            self.carry.clear();
        }
    }
}

fn is_blank(line: &[u8]) -> bool {
    line.iter().all(u8::is_ascii_whitespace)
}

fn parse_chunk(chunk: &Chunk, opts: &ReadOptions) -> Collector {
    let mut c = Collector::new(opts.keep_bodies, opts.max_examples);
    if let Some(line) = chunk.too_long {
        c.skip(
            Location::Line(line),
            SkipKind::TooLong,
            format!("line longer than {} bytes, skipped", opts.max_line_bytes),
        );
    }
    for (line_no, line) in (chunk.first_line..).zip(chunk.data.split(|&b| b == b'\n')) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.len() > opts.max_line_bytes {
            c.skip(
                Location::Line(line_no),
                SkipKind::TooLong,
                format!("line longer than {} bytes, skipped", opts.max_line_bytes),
            );
        } else if !is_blank(line) {
            c.json_record(line, Location::Line(line_no));
        }
    }
    c
}

pub(super) fn read_lines(
    stream: Peeked<'_>,
    opts: &ReadOptions,
    sink: &mut dyn BatchSink,
    file: &mut FileSummary,
) -> Result<(), ReadError> {
    let mut chunker = Chunker {
        r: stream,
        carry: Vec::new(),
        eof: false,
        next_line: 1,
        chunk_bytes: opts.chunk_bytes,
        max_line: opts.max_line_bytes,
    };
    // Enough chunks in flight to keep every thread busy, few enough to bound memory.
    let group_size = rayon::current_num_threads().max(1) * 2;
    let mut read_error: Option<(u64, io::Error)> = None;
    let read_group = |chunker: &mut Chunker<Peeked<'_>>, err: &mut Option<(u64, io::Error)>| -> Vec<Chunk> {
        let mut group = Vec::with_capacity(group_size);
        while group.len() < group_size && err.is_none() {
            match chunker.next_chunk() {
                Ok(Some(c)) => group.push(c),
                Ok(None) => break,
                Err(e) => *err = Some((chunker.next_line, e)),
            }
        }
        group
    };
    let mut group = read_group(&mut chunker, &mut read_error);
    while !group.is_empty() {
        let (parsed, next) = rayon::join(
            || group.par_iter().map(|c| parse_chunk(c, opts)).collect::<Vec<_>>(),
            || {
                if read_error.is_some() {
                    Vec::new()
                } else {
                    let mut err = None;
                    let g = read_group(&mut chunker, &mut err);
                    if let Some(e) = err {
                        read_error = Some(e);
                    }
                    g
                }
            },
        );
        for mut c in parsed {
            flush(&mut c, file, opts, sink)?;
        }
        group = next;
    }
    if let Some((line, e)) = read_error {
        read_failed(file, opts, Location::Line(line), &e);
        if opts.strict
            && let Some(first) = file.examples.first()
        {
            return Err(ReadError::Strict(first.clone()));
        }
    }
    Ok(())
}
