//! The hottest path: one audit `Event` object read in a single pass over its bytes, without a
//! tape. simd-json's tape indexes every token of the line and copies its strings out before
//! anything is read from it; an event is read once here, field by field, its strings borrowed
//! from the line and found sixteen bytes at a time (SSE2 on x86_64, eight with plain integer
//! arithmetic elsewhere).
//!
//! It accepts only what the tape walk ([`super::tape`]) accepts, and reads it to the same
//! [`RawEvent`]: one object, each known field once and of the apiserver's shape, every value
//! it skips checked to be valid JSON. Anything else (an escaped key, a number out of `i32`, a
//! value nested too deep, any doubt) gives `None`, and the caller goes on to the tape, then to
//! serde_json, which keep or name the line as before. Tests and a fuzz target
//! (`fuzz/fuzz_targets/scan.rs`) compare its events with serde_json's on every input, and its
//! decoding of escapes with serde_json's.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::de::IgnoredAny;

use super::tape::Spare;
use super::{RawEvent, RawObjectRef, RawStatus, RawUser, Str, once, put, sorted_last_wins};

/// Deeper values than this are left to the tape (serde_json refuses 128 levels).
const MAX_DEPTH: usize = 64;

/// Reads `line` as one audit `Event` object (with nothing but white space around it) and
/// hands it to `f`; `None` for anything else (an object that is not an event, say), or
/// anything it does not expect. The event is read in place and its lists and decoded strings
/// go back to `spare` afterwards: nothing of it is moved or allocated per line once `spare`
/// holds enough.
pub(super) fn event<'a, R>(
    line: &'a str,
    spare: &mut Spare,
    f: impl FnOnce(&RawEvent<'a, IgnoredAny>) -> R,
) -> Option<R> {
    scan(line, spare, |e| e.looks_like_event().then(|| f(e))).flatten()
}

/// Reads `line` as [`event`] does and hands what it read to `f`, whether an event or not.
fn scan<'a, R>(
    line: &'a str,
    spare: &mut Spare,
    f: impl FnOnce(&RawEvent<'a, IgnoredAny>) -> R,
) -> Option<R> {
    let mut e = RawEvent::empty();
    let mut c = Cursor::new(line, line.as_bytes(), std::mem::take(&mut spare.texts));
    let read = c.event(&mut e, spare);
    spare.texts = std::mem::take(&mut c.texts);
    let out = read.map(|()| f(&e));
    // Most lines have no escape: then every string borrows from the line, and only the lists
    // are taken back.
    if c.decoded {
        spare.recycle(&mut e);
    } else {
        spare.recycle_lists(&mut e);
    }
    out
}

impl<'a> Cursor<'a> {
    /// The event's members into `e`, and nothing but white space after it.
    fn event(&mut self, e: &mut RawEvent<'a, IgnoredAny>, spare: &mut Spare) -> Option<()> {
        let c = self;
        let mut seen = 0u32;
        c.ws();
        c.known_fields(&EVENT_KEYS, |c, i, key| {
            match i {
                0 => c.set(&mut seen, 0, &mut e.kind)?,
                1 => c.set(&mut seen, 1, &mut e.api_version)?,
                3 => c.set(&mut seen, 2, &mut e.level)?,
                4 => c.set(&mut seen, 18, &mut e.timestamp)?,
                5 => c.set(&mut seen, 3, &mut e.audit_id)?,
                6 => c.set(&mut seen, 4, &mut e.stage)?,
                7 => c.set(&mut seen, 5, &mut e.request_uri)?,
                8 => c.set(&mut seen, 6, &mut e.verb)?,
                9 => put(&mut seen, 10, &mut e.user, c.user(spare))?,
                10 => put(&mut seen, 11, &mut e.impersonated_user, c.user(spare))?,
                11 => put(&mut seen, 12, &mut e.source_ips, c.strings(spare))?,
                12 => c.set(&mut seen, 7, &mut e.user_agent)?,
                13 => put(&mut seen, 13, &mut e.object_ref, c.object_ref())?,
                14 => put(&mut seen, 14, &mut e.response_status, c.status())?,
                15 => put(&mut seen, 15, &mut e.request_object, c.body())?,
                16 => put(&mut seen, 16, &mut e.response_object, c.body())?,
                17 => c.set(&mut seen, 8, &mut e.request_received_timestamp)?,
                18 => c.set(&mut seen, 9, &mut e.stage_timestamp)?,
                19 => put(&mut seen, 17, &mut e.annotations, c.annotations(spare))?,
                _ if other_record(key) => return None,
                // `metadata` (v1beta1's) and any other key.
                _ => c.skip(1)?,
            }
            Some(())
        })?;
        c.ws();
        (c.at == c.bytes.len()).then_some(())
    }
}

/// An event's keys, quoted, in the order the apiserver writes them (v1's, with v1beta1's
/// `metadata` and `timestamp` where it wrote them): [`Cursor::known_fields`] expects each
/// key to be the one after the last, and finds it with one comparison.
const EVENT_KEYS: [Key; 20] = [
    Key::new(br#""kind""#),
    Key::new(br#""apiVersion""#),
    Key::new(br#""metadata""#),
    Key::new(br#""level""#),
    Key::new(br#""timestamp""#),
    Key::new(br#""auditID""#),
    Key::new(br#""stage""#),
    Key::new(br#""requestURI""#),
    Key::new(br#""verb""#),
    Key::new(br#""user""#),
    Key::new(br#""impersonatedUser""#),
    Key::new(br#""sourceIPs""#),
    Key::new(br#""userAgent""#),
    Key::new(br#""objectRef""#),
    Key::new(br#""responseStatus""#),
    Key::new(br#""requestObject""#),
    Key::new(br#""responseObject""#),
    Key::new(br#""requestReceivedTimestamp""#),
    Key::new(br#""stageTimestamp""#),
    Key::new(br#""annotations""#),
];

/// A key as [`Cursor::known_fields`] looks for it: its quoted bytes, and the same in four
/// little-endian words with a mask of the bytes each holds, so that the 32 bytes at the cursor,
/// read once, are compared with a key in a few instructions, without a branch or a call (a
/// call to `memcmp` for each key tried cost more than finding the key's end).
struct Key {
    quoted: &'static [u8],
    words: [u64; 4],
    masks: [u64; 4],
}

impl Key {
    /// `quoted`, a key with its quotes, of at most 32 bytes (checked when compiled).
    const fn new(quoted: &'static [u8]) -> Key {
        assert!(quoted.len() <= 32, "a key of at most 30 bytes");
        let (mut words, mut masks) = ([0u64; 4], [0u64; 4]);
        let mut i = 0;
        while i < quoted.len() {
            words[i / 8] |= (quoted[i] as u64) << (8 * (i % 8));
            masks[i / 8] |= 0xff << (8 * (i % 8));
            i += 1;
        }
        Key { quoted, words, masks }
    }

    /// Whether `head`, the 32 bytes at the cursor, starts with this key.
    #[inline(always)]
    fn starts(&self, head: &[u64; 4]) -> bool {
        let differ = |j: usize| (head[j] ^ self.words[j]) & self.masks[j];
        differ(0) | differ(1) | differ(2) | differ(3) == 0
    }

    /// The key without its quotes.
    fn name(&self) -> &'static [u8] {
        self.quoted.get(1..self.quoted.len().saturating_sub(1)).unwrap_or_default()
    }
}

/// A user's keys, quoted, in the apiserver's order (see [`EVENT_KEYS`]).
const USER_KEYS: [Key; 4] =
    [Key::new(br#""username""#), Key::new(br#""uid""#), Key::new(br#""groups""#), Key::new(br#""extra""#)];

/// An object reference's keys, quoted, in the apiserver's order (see [`EVENT_KEYS`]).
const OBJECT_REF_KEYS: [Key; 8] = [
    Key::new(br#""resource""#),
    Key::new(br#""namespace""#),
    Key::new(br#""name""#),
    Key::new(br#""uid""#),
    Key::new(br#""apiGroup""#),
    Key::new(br#""apiVersion""#),
    Key::new(br#""resourceVersion""#),
    Key::new(br#""subresource""#),
];

/// A response status's keys, quoted, in the apiserver's order (see [`EVENT_KEYS`]); `metadata`
/// and `details` are skipped.
const STATUS_KEYS: [Key; 6] = [
    Key::new(br#""metadata""#),
    Key::new(br#""status""#),
    Key::new(br#""message""#),
    Key::new(br#""reason""#),
    Key::new(br#""details""#),
    Key::new(br#""code""#),
];

/// Keys of the other records an input holds (`EventList`, Azure rows and envelopes), never of
/// an event's: those records are the tape's, so the scan stops at the first of them.
fn other_record(key: &[u8]) -> bool {
    matches!(
        key,
        b"items"
            | b"records"
            | b"properties"
            | b"log_s"
            | b"AuditId"
            | b"Category"
            | b"Type"
            | b"TenantId"
            | b"TimeGenerated"
    )
}

/// A cursor just inside the object `line` starts with (past `{` and whitespace), reading the
/// bytes before the line's UTF-8 is checked; `None` when `line` does not start an object.
fn inside_object(line: &[u8]) -> Option<Cursor<'_>> {
    let mut c = Cursor::new("", line, Vec::new());
    c.ws();
    c.eat(b'{')?;
    c.ws();
    Some(c)
}

/// The first key of the object `line` starts with, when it is plain text (no escapes).
pub(crate) fn first_key(line: &[u8]) -> Option<&[u8]> {
    inside_object(line).and_then(|mut c| c.plain_key())
}

/// Whether a line's first key starts a CloudWatch Logs record that holds events as text (a
/// subscription payload, as AWS writes it `{"messageType"…` or `{"owner"…`; a Lambda's
/// `{"awslogs"…`): neither the scan nor the tape reads those, and the serde path is taken at once.
pub(crate) fn is_cloudwatch_payload_key(key: &[u8]) -> bool {
    matches!(key, b"messageType" | b"owner" | b"logGroup" | b"logEvents" | b"awslogs")
}

/// Whether `line` starts as a CloudWatch Logs payload (see [`is_cloudwatch_payload_key`]).
pub(super) fn is_cloudwatch_payload(line: &[u8]) -> bool {
    first_key(line).is_some_and(is_cloudwatch_payload_key)
}

/// Whether a line's first key starts a Cloud Logging entry (GKE's audit logs: `{"insertId"…`,
/// `{"logName"…`, `{"protoPayload"…`, `{"receiveTimestamp"…`, the keys the exports begin with).
pub(crate) fn is_gke_key(key: &[u8]) -> bool {
    matches!(key, b"insertId" | b"logName" | b"protoPayload" | b"receiveTimestamp")
}

/// Whether a line's first key starts a record that a log shipper or store wraps (`{"log"…`
/// from Docker and Fluent Bit, `{"labels"…`/`{"line"…` from Loki's `logcli`,
/// `{"preview"…`/`{"result"…`/`{"_raw"…` from Splunk).
pub(crate) fn is_wrapper_key(key: &[u8]) -> bool {
    matches!(key, b"log" | b"labels" | b"line" | b"preview" | b"result" | b"_raw")
}

/// Whether a line's first key starts an Elasticsearch hit (`{"_index"…` as `elasticdump`
/// writes it) or a document a Beat or Elastic Agent indexed (`{"@timestamp"…`, `{"event"…`).
pub(crate) fn is_elastic_key(key: &[u8]) -> bool {
    matches!(key, b"_index" | b"_id" | b"_type" | b"_score" | b"_source" | b"@timestamp" | b"event")
}

/// Whether `line` may be an event for the scan: false when its first key is one of another
/// record, as in every Azure row.
pub(super) fn may_be_event(line: &[u8]) -> bool {
    // The apiserver's line, at once.
    if line.starts_with(br#"{"kind":"Event","#) {
        return true;
    }
    inside_object(line).is_some_and(|mut c| !c.plain_key().is_some_and(other_record))
}

struct Cursor<'a> {
    text: &'a str,
    bytes: &'a [u8],
    at: usize,
    /// Emptied strings to decode escaped ones into (the spare's, while a line is read).
    texts: Vec<String>,
    /// Whether a string was decoded (is owned, not borrowed from the line).
    decoded: bool,
}

impl<'a> Cursor<'a> {
    fn new(text: &'a str, bytes: &'a [u8], texts: Vec<String>) -> Self {
        Cursor { text, bytes, at: 0, texts, decoded: false }
    }
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// A mask with the high bit of each byte of `w` that ends or interrupts a plain run of string
/// text (a quote, a backslash, a control character) set, and perhaps of bytes after the first
/// such: only its lowest bit is exact (the classic "has zero byte" test, borrows included).
fn specials(w: u64) -> u64 {
    let zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGHS;
    zero(w ^ (ONES * u64::from(b'"')))
        | zero(w ^ (ONES * u64::from(b'\\')))
        | (w.wrapping_sub(ONES * 0x20) & !w & HIGHS)
}

/// The index of the next quote, backslash or control character of `bytes` at or after `from`:
/// sixteen bytes at a time with SSE2, then eight at a time, then one.
#[inline(always)]
fn special_at(bytes: &[u8], mut from: usize) -> Option<usize> {
    #[cfg(target_arch = "x86_64")]
    while from + 16 <= bytes.len() {
        let mask = sse2::specials(bytes, from);
        if mask != 0 {
            return Some(from + mask.trailing_zeros() as usize);
        }
        from += 16;
    }
    while let Some(chunk) = bytes.get(from..from + 8) {
        let w = u64::from_le_bytes(chunk.try_into().ok()?);
        let m = specials(w);
        if m != 0 {
            return Some(from + (m.trailing_zeros() / 8) as usize);
        }
        from += 8;
    }
    let rest = bytes.get(from..)?;
    rest.iter().position(|&b| b == b'"' || b == b'\\' || b < 0x20).map(|i| from + i)
}

#[cfg(target_arch = "x86_64")]
mod sse2 {
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_max_epu8, _mm_movemask_epi8, _mm_or_si128,
        _mm_set1_epi8,
    };

    /// A bit for each of the sixteen bytes of `bytes[at..at + 16]` that is a quote, a
    /// backslash or a control character (below 0x20); none when fewer than sixteen bytes are
    /// left (callers check first).
    #[inline(always)]
    pub(super) fn specials(bytes: &[u8], at: usize) -> u32 {
        let Some(chunk) = bytes.get(at..at + 16).and_then(|c| <&[u8; 16]>::try_from(c).ok()) else {
            return 0;
        };
        // SAFETY: the intrinsics are unsafe only because they need SSE2, which is part of the
        // x86_64 baseline: every CPU this module is compiled for (it exists only on x86_64) has
        // it. The one memory access, `_mm_loadu_si128`, reads the sixteen initialised bytes
        // `chunk` refers to, exactly the size of an `__m128i`, with no alignment requirement.
        #[allow(unsafe_code)]
        let mask = unsafe {
            let v = _mm_loadu_si128(chunk.as_ptr().cast::<__m128i>());
            let quote = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'"' as i8));
            let backslash = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\\' as i8));
            // Unsigned: max(v, 0x1f) == 0x1f exactly for the bytes 0x00..=0x1f.
            let control = _mm_cmpeq_epi8(_mm_max_epu8(v, _mm_set1_epi8(0x1f)), _mm_set1_epi8(0x1f));
            _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(quote, backslash), control))
        };
        mask as u32
    }
}

/// The escape at `text[at..]` (its backslash first): the character it stands for (a surrogate
/// pair's one character) and how many bytes it takes; `None` for a bad escape or a surrogate
/// without its pair, which serde_json refuses too.
fn escape(text: &str, at: usize) -> Option<(char, usize)> {
    Some(match *text.as_bytes().get(at + 1)? {
        b'"' => ('"', 2),
        b'\\' => ('\\', 2),
        b'/' => ('/', 2),
        b'b' => ('\u{8}', 2),
        b'f' => ('\u{c}', 2),
        b'n' => ('\n', 2),
        b'r' => ('\r', 2),
        b't' => ('\t', 2),
        b'u' => {
            let unit = hex4(text.get(at + 2..at + 6)?)?;
            match unit {
                0xD800..=0xDBFF => {
                    if text.get(at + 6..at + 8)? != "\\u" {
                        return None;
                    }
                    let low = hex4(text.get(at + 8..at + 12)?)?;
                    if !(0xDC00..=0xDFFF).contains(&low) {
                        return None;
                    }
                    let c = 0x10000 + ((u32::from(unit) - 0xD800) << 10) + (u32::from(low) - 0xDC00);
                    (char::from_u32(c)?, 12)
                }
                0xDC00..=0xDFFF => return None,
                _ => (char::from_u32(u32::from(unit))?, 6),
            }
        }
        _ => return None,
    })
}

/// Four hexadecimal digits.
fn hex4(digits: &str) -> Option<u16> {
    if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u16::from_str_radix(digits, 16).ok()
}

impl<'a> Cursor<'a> {
    #[inline(always)]
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    #[inline(always)]
    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.at += 1;
        }
    }

    #[inline(always)]
    fn eat(&mut self, b: u8) -> Option<()> {
        (self.peek()? == b).then(|| self.at += 1)
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        let end = self.at + word.len();
        (self.bytes.get(self.at..end)? == word).then(|| self.at = end)
    }

    /// True (and past it) when the next value is `null`.
    #[inline(always)]
    fn null(&mut self) -> bool {
        self.peek() == Some(b'n') && self.literal(b"null").is_some()
    }

    /// Past a skipped string whose opening quote is at `self.at`, its escapes checked but not
    /// decoded. `None` for a control character, a bad escape, no end, or a `\u` escape of a
    /// surrogate (valid in pairs, but left to the tape and serde_json).
    #[cold]
    fn skip_escaped(&mut self) -> Option<()> {
        let mut i = self.at + 1;
        loop {
            i = special_at(self.bytes, i)?;
            match self.bytes[i] {
                b'"' => {
                    self.at = i + 1;
                    return Some(());
                }
                b'\\' => {
                    let (_, used) = escape(self.text, i)?;
                    // Only a surrogate pair takes more than six bytes; a lone one is refused.
                    if used > 6 {
                        return None;
                    }
                    i += used;
                }
                _ => return None,
            }
        }
    }

    /// A string, borrowed from the line unless it holds escapes (then decoded).
    #[inline(always)]
    fn string(&mut self) -> Option<Cow<'a, str>> {
        if self.peek()? != b'"' {
            return None;
        }
        let start = self.at + 1;
        let end = special_at(self.bytes, start)?;
        if self.bytes[end] == b'"' {
            self.at = end + 1;
            // Both ends are quotes (ASCII), so both are character boundaries.
            return self.text.get(start..end).map(Cow::Borrowed);
        }
        self.escaped_string()
    }

    /// A string that holds an escape (or a control character, which ends the scan), decoded
    /// in one pass.
    #[cold]
    fn escaped_string(&mut self) -> Option<Cow<'a, str>> {
        self.decoded = true;
        let mut out = self.texts.pop().unwrap_or_default();
        let mut from = self.at + 1;
        loop {
            let i = special_at(self.bytes, from)?;
            // `from` follows a quote or an escape, `i` is at a quote, a backslash or a control
            // character: all ASCII, so both are character boundaries.
            out.push_str(self.text.get(from..i)?);
            match self.bytes[i] {
                b'"' => {
                    self.at = i + 1;
                    return Some(Cow::Owned(out));
                }
                b'\\' => {
                    let (c, used) = escape(self.text, i)?;
                    out.push(c);
                    from = i + used;
                }
                _ => return None,
            }
        }
    }

    /// Past a string that is skipped (its escapes checked, not decoded; a surrogate escape
    /// gives up).
    #[inline]
    fn skip_string(&mut self) -> Option<()> {
        if self.peek()? != b'"' {
            return None;
        }
        let end = special_at(self.bytes, self.at + 1)?;
        if self.bytes[end] == b'"' {
            self.at = end + 1;
            return Some(());
        }
        self.skip_escaped()
    }

    /// A key without escapes, as bytes; `None` for any other.
    #[inline]
    fn plain_key(&mut self) -> Option<&'a [u8]> {
        if self.peek()? != b'"' {
            return None;
        }
        let start = self.at + 1;
        let end = special_at(self.bytes, start)?;
        if self.bytes[end] != b'"' {
            return None;
        }
        self.at = end + 1;
        self.bytes.get(start..end)
    }

    /// `Option<Str>`: null or a string.
    #[inline(always)]
    fn str_or_null(&mut self) -> Option<Option<Str<'a>>> {
        if self.null() {
            return Some(None);
        }
        self.string().map(|s| Some(Str(s)))
    }

    /// A string field, once.
    #[inline(always)]
    fn set(&mut self, seen: &mut u32, bit: u32, slot: &mut Option<Str<'a>>) -> Option<()> {
        once(seen, bit)?;
        *slot = self.str_or_null()?;
        Some(())
    }

    /// Past `open` and the white space after it: `false` when `close` follows at once (passed
    /// too), `true` when a first member or item does.
    #[inline(always)]
    fn open(&mut self, open: u8, close: u8) -> Option<bool> {
        self.eat(open)?;
        self.ws();
        Some(self.eat(close).is_none())
    }

    /// Past what follows a member or an item: a comma and white space (`true`: another one
    /// follows) or `close` (`false`); `None` for anything else.
    #[inline(always)]
    fn next(&mut self, close: u8) -> Option<bool> {
        self.ws();
        let b = self.peek()?;
        self.at += 1;
        if b == b',' {
            self.ws();
            Some(true)
        } else {
            (b == close).then_some(false)
        }
    }

    /// The members of an object, each key read by `key` and handed to `f` with the cursor at
    /// its value, which `f` reads; past the closing brace.
    #[inline(always)]
    fn members<K>(
        &mut self,
        key: impl Fn(&mut Self) -> Option<K>,
        mut f: impl FnMut(&mut Self, K) -> Option<()>,
    ) -> Option<()> {
        let mut more = self.open(b'{', b'}')?;
        while more {
            let k = key(self)?;
            self.ws();
            self.eat(b':')?;
            self.ws();
            f(self, k)?;
            more = self.next(b'}')?;
        }
        Some(())
    }

    /// The members of an object whose keys are expected among `keys` (each quoted, in the
    /// order they are usually written), `f` handed each key's index in `keys` (`keys.len()`
    /// for another key) and the key; a key with an escape gives up. The key after the last
    /// one found is tried first, then the ones after it (a field left out), each with one
    /// comparison of the bytes at the cursor: reading a key to its closing quote and then
    /// matching it took a seventh of ingest's instructions.
    #[inline(always)]
    fn known_fields(
        &mut self,
        keys: &[Key],
        mut f: impl FnMut(&mut Self, usize, &'a [u8]) -> Option<()>,
    ) -> Option<()> {
        let mut next = 0;
        let mut more = self.open(b'{', b'}')?;
        while more {
            let found = self.head().and_then(|head| keys.iter().skip(next).position(|k| k.starts(&head)));
            let (i, key) = match found {
                Some(p) => {
                    let k = &keys[next + p];
                    self.at += k.quoted.len();
                    (next + p, k.name())
                }
                None => {
                    let key = self.plain_key()?;
                    (keys.iter().position(|k| k.name() == key).unwrap_or(keys.len()), key)
                }
            };
            if i < keys.len() {
                next = i + 1;
            }
            self.ws();
            self.eat(b':')?;
            self.ws();
            f(self, i, key)?;
            more = self.next(b'}')?;
        }
        Some(())
    }

    /// The 32 bytes at the cursor as four little-endian words, when there are 32.
    #[inline(always)]
    fn head(&self) -> Option<[u64; 4]> {
        let b: &[u8; 32] = self.bytes.get(self.at..self.at + 32)?.try_into().ok()?;
        let word = |j: usize| {
            let mut w = [0u8; 8];
            w.copy_from_slice(&b[8 * j..8 * j + 8]);
            u64::from_le_bytes(w)
        };
        Some([word(0), word(1), word(2), word(3)])
    }

    /// The members of a map, each key decoded.
    fn entries(&mut self, f: impl FnMut(&mut Self, Cow<'a, str>) -> Option<()>) -> Option<()> {
        self.members(Self::string, f)
    }

    /// The items of an array, `f` reading each; past the closing bracket.
    fn items(&mut self, mut f: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        let mut more = self.open(b'[', b']')?;
        while more {
            f(self)?;
            more = self.next(b']')?;
        }
        Some(())
    }

    /// `Option<Vec<Str>>`: null or an array of strings.
    fn strings(&mut self, spare: &mut Spare) -> Option<Option<Vec<Str<'a>>>> {
        if self.null() {
            return Some(None);
        }
        let mut out = spare.strs();
        self.items(|c| {
            out.push(Str(c.string()?));
            Some(())
        })?;
        Some(Some(out))
    }

    fn user(&mut self, spare: &mut Spare) -> Option<Option<RawUser<'a>>> {
        if self.null() {
            return Some(None);
        }
        let mut u = RawUser::default();
        let mut seen = 0;
        self.known_fields(&USER_KEYS, |c, i, _| {
            match i {
                0 => c.set(&mut seen, 0, &mut u.username)?,
                1 => c.set(&mut seen, 1, &mut u.uid)?,
                2 => put(&mut seen, 2, &mut u.groups, c.strings(spare))?,
                3 => put(&mut seen, 3, &mut u.extra, c.extra(spare))?,
                _ => c.skip(1)?,
            }
            Some(())
        })?;
        Some(Some(u))
    }

    /// `Option<BTreeMap<Str, Vec<Str>>>`: the last of duplicate keys wins, as in serde's map.
    #[allow(clippy::type_complexity)]
    fn extra(&mut self, spare: &mut Spare) -> Option<Option<BTreeMap<Str<'a>, Vec<Str<'a>>>>> {
        if self.null() {
            return Some(None);
        }
        let mut out = BTreeMap::new();
        self.entries(|c, k| {
            out.insert(Str(k), c.strings(spare)??);
            Some(())
        })?;
        Some(Some(out))
    }

    fn object_ref(&mut self) -> Option<Option<RawObjectRef<'a>>> {
        if self.null() {
            return Some(None);
        }
        let mut o = RawObjectRef::default();
        let mut seen = 0;
        self.known_fields(&OBJECT_REF_KEYS, |c, i, _| {
            let slot = match i {
                0 => &mut o.resource,
                1 => &mut o.namespace,
                2 => &mut o.name,
                3 => &mut o.uid,
                4 => &mut o.api_group,
                5 => &mut o.api_version,
                6 => &mut o.resource_version,
                7 => &mut o.subresource,
                _ => return c.skip(1),
            };
            // The bit of each field is its index (at most 7).
            c.set(&mut seen, i as u32, slot)
        })?;
        Some(Some(o))
    }

    fn status(&mut self) -> Option<Option<RawStatus<'a>>> {
        if self.null() {
            return Some(None);
        }
        let mut s = RawStatus::default();
        let mut seen = 0;
        self.known_fields(&STATUS_KEYS, |c, i, _| {
            let (bit, slot) = match i {
                5 => {
                    once(&mut seen, 0)?;
                    s.code = c.code()?;
                    return Some(());
                }
                1 => (1, &mut s.status),
                3 => (2, &mut s.reason),
                2 => (3, &mut s.message),
                _ => return c.skip(1),
            };
            c.set(&mut seen, bit, slot)
        })?;
        Some(Some(s))
    }

    /// `responseStatus.code`: null, or an integer other than 0 that fits an `i32`, written
    /// plainly (no fraction, no exponent); anything else is left to the tape and serde.
    fn code(&mut self) -> Option<Option<i32>> {
        if self.null() {
            return Some(None);
        }
        let start = self.at;
        self.eat(b'-');
        let digits = self.at;
        if !matches!(self.peek()?, b'1'..=b'9') {
            return None;
        }
        while let Some(b'0'..=b'9') = self.peek() {
            self.at += 1;
        }
        if self.at - digits > 10 || matches!(self.peek(), Some(b'.' | b'e' | b'E')) {
            return None;
        }
        self.text.get(start..self.at)?.parse::<i32>().ok().map(Some)
    }

    #[allow(clippy::type_complexity)]
    fn annotations(&mut self, spare: &mut Spare) -> Option<Option<Vec<(Str<'a>, Str<'a>)>>> {
        if self.null() {
            return Some(None);
        }
        let mut out = spare.pairs();
        self.entries(|c, k| {
            let v = c.string()?;
            out.push((Str(k), Str(v)));
            Some(())
        })?;
        Some(Some(sorted_last_wins(out)))
    }

    /// A body: present (and skipped) unless null.
    fn body(&mut self) -> Option<Option<IgnoredAny>> {
        if self.null() {
            return Some(None);
        }
        self.skip(1)?;
        Some(Some(IgnoredAny))
    }

    /// Past one JSON value of any kind, checked as serde_json would check it; `depth` is the
    /// nesting of the value itself.
    fn skip(&mut self, depth: usize) -> Option<()> {
        match self.peek()? {
            b'"' => self.skip_string(),
            b'{' if depth < MAX_DEPTH => self.fields_skipping(depth),
            b'[' if depth < MAX_DEPTH => self.items(|c| c.skip(depth + 1)),
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            b'-' | b'0'..=b'9' => self.number(),
            _ => None,
        }
    }

    /// Past an object whose keys and values are skipped.
    fn fields_skipping(&mut self, depth: usize) -> Option<()> {
        self.members(Self::skip_string, |c, ()| c.skip(depth + 1))
    }

    /// Past a number in JSON's grammar (`-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`),
    /// at most 30 characters long, so that no reader disagrees on whether it is one.
    fn number(&mut self) -> Option<()> {
        let start = self.at;
        let digits = |c: &mut Self| {
            let from = c.at;
            while let Some(b'0'..=b'9') = c.peek() {
                c.at += 1;
            }
            (c.at > from).then_some(())
        };
        self.eat(b'-');
        if self.peek()? == b'0' {
            self.at += 1;
        } else {
            digits(self)?;
        }
        if self.eat(b'.').is_some() {
            digits(self)?;
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.at += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.at += 1;
            }
            digits(self)?;
        }
        (self.at - start <= 30).then_some(())
    }
}

/// The fuzz property (`fuzz/fuzz_targets/scan.rs`, and its corpus replayed by the tests):
/// whatever the scan reads from `data`, serde_json reads from it too, to the same event.
pub(crate) fn check(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let mut spare = Spare::default();
    // Twice, so that the second read builds its lists in the first one's.
    for _ in 0..2 {
        if let Some(e) = scan(text, &mut spare, |e| format!("{e:?}")) {
            let serde: RawEvent<'_, IgnoredAny> = match serde_json::from_str(text) {
                Ok(e) => e,
                Err(err) => panic!("the scan read an event serde_json refuses ({err}): {text:?}"),
            };
            assert_eq!(e, format!("{serde:?}"), "{text:?}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan_of(line: &str) -> Option<String> {
        let mut spare = Spare::default();
        scan(line, &mut spare, |e| format!("{e:?}"))
    }

    fn serde_of(line: &str) -> Option<String> {
        let e: RawEvent<'_, IgnoredAny> = serde_json::from_str(line).ok()?;
        Some(format!("{e:?}"))
    }

    #[test]
    fn decoded_strings_are_kept_for_the_next_line_and_read_right_in_it() {
        let first = r#"{"kind":"Event","requestURI":"/a?x=1\u0026y=2","annotations":{"r":"to \"u\""}}"#;
        let second = r#"{"kind":"Event","requestURI":"/b\u0026","verb":"get","annotations":{"q":"\"v\""}}"#;
        let mut spare = Spare::default();
        let uri = |e: &RawEvent<'_, IgnoredAny>| e.request_uri.as_ref().map(|s| s.as_str().to_owned());
        assert_eq!(event(first, &mut spare, uri), Some(Some("/a?x=1&y=2".to_owned())));
        // The URI's and the annotation value's strings, emptied, with their capacity.
        assert_eq!(spare.texts.len(), 2);
        assert!(spare.texts.iter().all(|t| t.is_empty() && t.capacity() >= 3));
        // Read into those strings, the second line is still read as serde_json reads it.
        assert_eq!(event(second, &mut spare, |e| format!("{e:?}")), serde_of(second));
        assert_eq!(spare.texts.len(), 2);
    }

    #[test]
    fn the_scan_reads_an_event_as_serde_does() {
        let more = [
            r#"{"kind":"Event","responseStatus":{"code":-404},"x":[-0.5e+3,0,1E2,"\u00e9",true,false,null,{}],"userAgent":"\ud83d\ude00"}"#,
            "{ \"verb\" :\t\"get\" ,\r\n \"annotations\" : { \"k\\u00e9\" : \"v\\n\" , \"a\" : \"\" } }",
            r#"{"userAgent":"12345678\"12345678\\12345678\/\b\f\n\r\t\u00411234567"}"#,
            r#"{"kind":"Event","user":{"username":"é日本語🙂","extra":null,"other":{"a":[[]]}}}"#,
            r#"{}"#,
        ];
        for &line in crate::raw::READ_AS_SERDE.iter().chain(&more) {
            let scanned = scan_of(line);
            assert!(scanned.is_some(), "{line}");
            assert_eq!(scanned, serde_of(line), "{line}");
        }
    }

    /// Session 56 finds each key by expecting the one after the last, in the apiserver's
    /// order: keys in any other order (sorted, as `jq -S` writes them; reversed; a field left
    /// out), keys that start like an expected one (`"verbose"`, `"user2"`), keys of 30 bytes
    /// and a line too short to hold 32 bytes after a key are read as serde_json reads them.
    #[test]
    fn keys_in_any_order_or_like_an_expected_one_are_read_as_serde_does() {
        let apiserver = r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"a1","stage":"ResponseComplete","requestURI":"/api/v1/pods","verb":"list","user":{"username":"u","uid":"9","groups":["g"]},"sourceIPs":["10.0.0.1"],"userAgent":"kubectl","objectRef":{"resource":"pods","namespace":"n","name":"p","apiVersion":"v1"},"responseStatus":{"metadata":{},"code":200},"requestReceivedTimestamp":"2024-01-01T00:00:00.000001Z","stageTimestamp":"2024-01-01T00:00:01Z","annotations":{"a":"b"}}"#;
        let value: serde_json::Value = serde_json::from_str(apiserver).expect("json");
        let serde_json::Value::Object(members) = value else { panic!("an object") };
        let mut sorted: Vec<_> = members.iter().collect();
        sorted.sort_by(|a, b| a.0.cmp(b.0));
        let object = |m: &[(&String, &serde_json::Value)]| {
            let body: Vec<String> = m.iter().map(|(k, v)| format!("{}:{v}", serde_json::json!(k))).collect();
            format!("{{{}}}", body.join(","))
        };
        let reversed: Vec<_> = sorted.iter().rev().copied().collect();
        let lines = [
            apiserver.to_owned(),
            object(&sorted),
            object(&reversed),
            r#"{"verbose":"x","verb":"get","user2":{"a":1},"user":{"uid":"1","username":"u"},"kindred":"k"}"#
                .to_owned(),
            r#"{"requestReceivedTimestampX":"1","requestReceivedTimestamp":"2024-01-01T00:00:00Z"}"#
                .to_owned(),
            r#"{"objectRef":{"name":"p","resource":"pods","resourceVersion":"5","resourceVersionX":"6"}}"#
                .to_owned(),
            r#"{"stage":"a"}"#.to_owned(),
            r#"{"verb":"get","kind":"Event"}"#.to_owned(),
        ];
        for line in &lines {
            let scanned = scan_of(line);
            assert!(scanned.is_some(), "{line}");
            assert_eq!(scanned, serde_of(line), "{line}");
        }
        // A key met twice is still refused, in either order.
        for line in
            [r#"{"verb":"get","stage":"a","verb":"list"}"#, r#"{"stage":"a","verb":"get","stage":"b"}"#]
        {
            assert_eq!(scan_of(line), None, "{line}");
        }
    }

    #[test]
    fn the_scan_gives_up_where_serde_would_judge() {
        let more = [
            r#"{"verb":"get","user":{"extra":{"a":null}}}"#,
            r#"{"verb":"get","responseStatus":{"code":0}}"#,
            r#"{"verb":"get","responseStatus":{"code":-0}}"#,
            r#"{"verb":"get","responseStatus":{"code":2e2}}"#,
            r#"{"verb":"get","#,
            r#"{"verb":"get",}"#,
            r#"{"verb":"get","x":[1,]}"#,
            r#"{"verb":"get","x":01}"#,
            r#"{"verb":"get","x":1.}"#,
            r#"{"verb":"get","x":-}"#,
            r#"{"verb":"get","x":tru}"#,
            r#"{"verb":"get","x":"\x"}"#,
            r#"{"verb":"get","x":"\u12"}"#,
            r#"{"verb":"get","x":"\ud800"}"#,
            // A surrogate escaped in a skipped string: valid, but left to the tape and serde.
            r#"{"verb":"get","x":"\ud83d\ude00"}"#,
            r#"{"verb":"\ud800"}"#,
            r#"{"verb":"get","x":{"a" 1}}"#,
            r#"{"verb":"get","x":{1:1}}"#,
            r#"{"kind":"EventList","items":[]}"#,
            r#"{"Category":"kube-audit","log_s":"{}"}"#,
            "{\"verb\":\"get\",\"x\":\"a\tb\"}",
            "\u{feff}{\"verb\":\"get\"}",
        ];
        for &line in crate::raw::LEFT_TO_SERDE.iter().chain(&more) {
            assert_eq!(scan_of(line), None, "{line}");
        }
        // Deep nesting is left to the tape and serde, which judge it.
        let deep = format!(r#"{{"verb":"get","x":{}{}}}"#, "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert_eq!(scan_of(&deep), None);
        let shallow =
            format!(r#"{{"verb":"get","x":{}{}}}"#, "[".repeat(MAX_DEPTH - 2), "]".repeat(MAX_DEPTH - 2));
        assert_eq!(scan_of(&shallow), serde_of(&shallow));
        assert!(scan_of(&shallow).is_some());
    }

    #[test]
    fn rows_of_other_records_are_not_scanned() {
        for line in [
            r#"{"TenantId":"t","TimeGenerated":"2025-03-11T09:00:01Z","Category":"kube-audit","log_s":"{}"}"#,
            r#" { "AuditId":"a","Verb":"get"}"#,
            r#"{"records":[]}"#,
            "[{}]",
            "",
        ] {
            assert!(!may_be_event(line.as_bytes()), "{line}");
        }
        for line in [
            &br#"{"kind":"Event"}"#[..],
            br#"{"kind":"Event","verb":"get"}"#,
            br#"{"x\u0041":1}"#,
            b"{}",
            br#"{"verb"#,
            b"{\"\xff\":1}",
        ] {
            assert!(may_be_event(line), "{line:?}");
        }
    }

    #[test]
    fn cloudwatch_payloads_are_told_by_their_first_key() {
        for line in [
            &br#"{"messageType":"DATA_MESSAGE","owner":"1","logEvents":[]}"#[..],
            br#" { "owner": "1"}"#,
            br#"{"awslogs":{"data":""}}"#,
            br#"{"logGroup":"/aws/eks/x/cluster"}"#,
            br#"{"logEvents":[]}"#,
        ] {
            assert!(is_cloudwatch_payload(line), "{line:?}");
        }
        for line in [
            &br#"{"kind":"Event","message":"x"}"#[..],
            br#"{"timestamp":1,"message":"{}"}"#,
            br#"{"messageTyp"#,
            br#"["messageType"]"#,
            b"",
            b"{\"\xff\":1}",
        ] {
            assert!(!is_cloudwatch_payload(line), "{line:?}");
        }
    }

    /// Strings of every length up to 40, a quote or backslash or control character at every
    /// place, so that each lane of the sixteen-byte and eight-byte steps, and the tail, find
    /// what ends or breaks them.
    #[test]
    fn strings_end_at_the_right_byte_in_every_lane() {
        for len in 0..40 {
            for at in 0..=len {
                for special in ["\\\"", "\\\\", "\\u0041", "\u{1}", "\""] {
                    let mut s: String = (0..len).map(|i| char::from(b'a' + (i % 26) as u8)).collect();
                    s.insert_str(at, special);
                    let line = format!(r#"{{"verb":"{s}","level":"x"}}"#);
                    assert_eq!(scan_of(&line), serde_of(&line), "{line}");
                }
            }
        }
    }

    /// Every escape JSON has, and the broken ones, decoded as serde_json decodes them (or
    /// refused where it refuses them), alone and between other text.
    #[test]
    fn escapes_decode_as_serde_json_decodes_them() {
        let escapes = [
            r#"\""#,
            r"\\",
            r"\/",
            r"\b",
            r"\f",
            r"\n",
            r"\r",
            r"\t",
            r"\u0041",
            r"\u00e9",
            r"\u20AC",
            r"\uffff",
            r"\u0000",
            r"\ud83d\ude00",
            r"\uD83D\uDE00",
            r"\ud800",
            r"\udc00",
            r"\ud800\u0041",
            r"\ud800x",
            r"\ud800\n",
            r"\ud800\ud800",
            r"\u12",
            r"\u12g4",
            r"\x",
            r"\",
            r"\U0041",
            r"\u+041",
        ];
        for e in escapes {
            for text in [e.to_owned(), format!("ab{e}"), format!("{e}cd"), format!("é{e}{e}ü")] {
                let line = format!("\"{text}\"");
                let mut c = Cursor::new(&line, line.as_bytes(), Vec::new());
                let ours = c.string().map(Cow::into_owned).filter(|_| c.at == line.len());
                let serde = serde_json::from_str::<String>(&format!("\"{text}\"")).ok();
                assert_eq!(ours, serde, "{text}");
            }
        }
    }

    #[test]
    fn specials_finds_the_first_quote_backslash_or_control_byte() {
        for lane in 0..8 {
            for b in [b'"', b'\\', 0u8, 0x1f] {
                let mut bytes = *b"abcdefgh";
                bytes[lane] = b;
                let m = specials(u64::from_le_bytes(bytes));
                assert_eq!((m.trailing_zeros() / 8) as usize, lane, "{bytes:?}");
            }
        }
        assert_eq!(specials(u64::from_le_bytes(*b" ~\x7f\xff!#[]")), 0);
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn sse2_specials_finds_the_first_quote_backslash_or_control_byte() {
        for lane in 0..16 {
            for b in [b'"', b'\\', 0u8, 0x1f] {
                let mut bytes = *b"abcdefghijklmnop";
                bytes[lane] = b;
                assert_eq!(sse2::specials(&bytes, 0).trailing_zeros() as usize, lane, "{bytes:?}");
            }
        }
        assert_eq!(sse2::specials(b" ~\x7f\x80\xff!#[]0123456789", 0), 0);
        assert_eq!(sse2::specials(b"\"\"\"", 0), 0, "fewer than sixteen bytes");
    }

    /// Every line of the real fixtures: what the scan reads, serde_json reads alike; and every
    /// event that stands on a line of its own (the log backend's), the scan reads.
    #[test]
    fn the_scan_reads_every_fixture_line_as_serde_does() {
        let root = std::path::Path::new(
            &std::env::var("CARGO_MANIFEST_DIR").unwrap_or(env!("CARGO_MANIFEST_DIR").into()),
        )
        .join("tests/fixtures");
        let (mut lines, mut scanned, mut events) = (0, 0, 0);
        let mut dirs = vec![root];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).expect("fixtures dir") {
                let path = entry.expect("entry").path();
                if path.is_dir() {
                    dirs.push(path);
                    continue;
                }
                let Ok(text) = std::fs::read_to_string(&path) else { continue };
                for line in text.lines() {
                    lines += 1;
                    check(line.as_bytes());
                    let mut spare = Spare::default();
                    if event(line, &mut spare, |_| ()).is_some() {
                        scanned += 1;
                    }
                    if serde_json::from_str::<RawEvent<'_, IgnoredAny>>(line)
                        .is_ok_and(|e| e.looks_like_event())
                    {
                        events += 1;
                    }
                }
            }
        }
        assert!(lines > 500, "{lines} fixture lines");
        assert!(events > 50, "{events} events on lines of their own");
        assert_eq!(scanned, events, "the scan read {scanned} of the {events} events serde_json reads");
    }

    /// Lines of the real fixtures with bytes changed, cut short, or doubled: the scan reads
    /// each as serde_json does, or leaves it.
    #[test]
    fn the_scan_reads_mutated_lines_as_serde_does_or_leaves_them() {
        let path = std::path::Path::new(
            &std::env::var("CARGO_MANIFEST_DIR").unwrap_or(env!("CARGO_MANIFEST_DIR").into()),
        )
        .join("tests/fixtures/audit");
        let mut samples = Vec::new();
        for entry in std::fs::read_dir(&path).expect("fixtures dir") {
            let Ok(text) = std::fs::read_to_string(entry.expect("entry").path()) else { continue };
            samples.extend(text.lines().filter(|l| l.starts_with('{')).take(5).map(str::to_owned));
        }
        assert!(samples.len() >= 10, "{} sample lines", samples.len());
        let mut state: u64 = 12_345;
        let mut next = |n: usize| {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            ((state >> 33) as usize) % n.max(1)
        };
        let bytes =
            [b'"', b'\\', b'{', b'}', b'[', b']', b',', b':', b'0', b'-', b'e', b'n', b' ', 0x01, b'u'];
        for line in &samples {
            for _ in 0..300 {
                let mut m = line.clone().into_bytes();
                match next(3) {
                    0 => {
                        let at = next(m.len());
                        m[at] = bytes[next(bytes.len())];
                    }
                    1 => m.truncate(next(m.len())),
                    _ => {
                        let at = next(m.len());
                        let b = m[at];
                        m.insert(at, b);
                    }
                }
                check(&m);
            }
        }
    }
}
