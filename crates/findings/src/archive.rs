//! Reading tar archives, as the audit and metrics readers both do (support bundles,
//! must-gathers, bundles of scrapes): what an entry that is not a file is, in words, and
//! whether an archive ended with its end-of-archive marker.

use std::io::{self, Read};

/// A tar block, and the size of the end-of-archive marker's blocks.
const BLOCK: u64 = 512;

/// Why a tar entry of type `kind` (not a regular file) is not read, with where a link points;
/// `None` for the entries that are the archive's own structure (directories, long-name and
/// attribute headers), which are not files of the bundle. The audit and metrics readers both
/// read archives, and name what they leave out in these words.
pub fn not_a_file(kind: tar::EntryType, link: Option<&[u8]>) -> Option<String> {
    let target = || link.map(|l| String::from_utf8_lossy(l).replace('\n', "\\x0a")).unwrap_or_default();
    match kind {
        tar::EntryType::Symlink => Some(format!(
            "a symbolic link inside the archive (to {}): not followed; the file it names is read where the \
             archive holds it",
            target()
        )),
        tar::EntryType::Link => Some(format!(
            "a hard link inside the archive (to {}): it holds no bytes of its own; the file it names is read \
             where the archive holds it",
            target()
        )),
        tar::EntryType::Char | tar::EntryType::Block => {
            Some("a device inside the archive: not a file".to_owned())
        }
        tar::EntryType::Fifo => Some("a named pipe inside the archive: not a file".to_owned()),
        tar::EntryType::Directory
        | tar::EntryType::XGlobalHeader
        | tar::EntryType::XHeader
        | tar::EntryType::GNULongName
        | tar::EntryType::GNULongLink => None,
        other => Some(format!("a tar entry of type {other:?}, not a regular file: not read")),
    }
}

/// The bytes read from a tar archive, watched for its end: whether what was read last is a
/// whole block of zeros, as the end-of-archive marker is (an archive whose entries simply stop
/// was cut short at an entry's end).
pub struct EndWatch<R> {
    inner: R,
    /// Zero bytes at the end of what was read so far.
    zeros: u64,
}

impl<R> EndWatch<R> {
    /// Watches `inner`.
    pub fn new(inner: R) -> Self {
        EndWatch { inner, zeros: 0 }
    }

    /// Whether what was read so far ends with a whole block of zeros.
    pub fn ended_with_marker(&self) -> bool {
        self.zeros >= BLOCK
    }

    /// The reader watched, to read what follows the marker (a compressed layer's checksum).
    pub fn inner_mut(&mut self) -> &mut R {
        &mut self.inner
    }
}

impl<R: Read> Read for EndWatch<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let read = &buf[..n];
        match read.iter().rposition(|&b| b != 0) {
            Some(last) => self.zeros = (n - 1 - last) as u64,
            None => self.zeros += n as u64,
        }
        Ok(n)
    }
}
