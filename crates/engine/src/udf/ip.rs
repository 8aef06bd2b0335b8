//! IPv4 and IPv6 functions: `parse_ipv4`, `ipv4_is_in_range` and `ipv4_is_in_any_range`,
//! `ipv4_is_private`, `ipv4_compare`, `ipv4_is_match`, `format_ipv4`, `format_ipv4_mask`,
//! `ipv4_netmask_suffix`, and their IPv6 kin, over one [`Address`] trait.
//!
//! An address is written `a.b.c.d` (four decimal numbers from 0 to 255), optionally followed by
//! `/n`, a prefix of `n` bits from 0 to 32 (the address is then the network's first one, as
//! Kusto reads `10.1.2.3/8` as `10.0.0.0/8`). Anything else is not an IPv4 address: the
//! functions give null for it, as Kusto does.

use std::sync::Arc;

use arrow::array::{Array, AsArray, BooleanBuilder, Int64Builder, StringBuilder};
use arrow::datatypes::Int64Type;
use datafusion::common::Result;
use datafusion::logical_expr::ColumnarValue;

use super::{StrCol, arg_array, finish, rows_for};

/// An IPv4 address with its prefix length (32 without one), masked to the prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Net {
    /// The address as a number (`a << 24 | b << 16 | c << 8 | d`), masked.
    pub addr: u32,
    /// Bits of the prefix, 0 to 32.
    pub bits: u32,
}

impl Net {
    /// `text` read as `a.b.c.d` or `a.b.c.d/n` (spaces around it allowed), or `None`.
    pub fn parse(text: &str) -> Option<Net> {
        let text = text.trim();
        let (ip, bits) = match text.split_once('/') {
            Some((ip, bits)) => (ip, bits.trim().parse::<u32>().ok().filter(|b| *b <= 32)?),
            None => (text, 32),
        };
        let mut addr = 0u32;
        let mut parts = 0;
        for part in ip.trim().split('.') {
            if part.is_empty() || part.len() > 3 || !part.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let octet = part.parse::<u8>().ok()?;
            addr = (addr << 8) | u32::from(octet);
            parts += 1;
        }
        (parts == 4).then(|| Net { addr: addr & mask(bits), bits })
    }

    /// Whether `other` lies inside this network (compared on this network's prefix).
    pub fn contains(&self, other: &Net) -> bool {
        other.addr & mask(self.bits) == self.addr
    }
}

/// The netmask of a prefix of `bits` bits.
fn mask(bits: u32) -> u32 {
    u32::MAX.checked_shl(32 - bits).unwrap_or(0)
}

/// The private ranges of RFC 1918.
const PRIVATE: [Net; 3] = [
    Net { addr: 10 << 24, bits: 8 },
    Net { addr: (172 << 24) | (16 << 16), bits: 12 },
    Net { addr: (192 << 24) | (168 << 16), bits: 16 },
];

/// `parse_ipv4(text)`: the address as a long, masked to its prefix; null when not IPv4.
pub fn parse_ipv4(args: &[ColumnarValue], rows: usize) -> Result<ColumnarValue> {
    let n = rows_for(args, rows);
    let a = arg_array(&args[0], n)?;
    let a = StrCol::new(&a);
    let mut out = Int64Builder::with_capacity(n);
    for i in 0..n {
        out.append_option(a.get(i).and_then(Net::parse).map(|net| i64::from(net.addr)));
    }
    finish(Arc::new(out.finish()), args)
}

/// An address with its prefix, IPv4 ([`Net`]) or IPv6 ([`Net6`]): what comparing and range
/// checks need of either.
trait Address: Sized {
    /// The widest prefix: 32 or 128.
    const WIDTH: u32;
    /// Reads `a.b.c.d[/n]` (or an IPv6 address).
    fn parse(text: &str) -> Option<Self>;
    /// The prefix length.
    fn bits(&self) -> u32;
    /// The address masked to its first `bits` bits.
    fn masked(&self, bits: u32) -> u128;
    /// The address masked to its first `bits` bits, as text (`a.b.c.d`, or eight groups of four
    /// hex digits).
    fn text(&self, bits: u32) -> String;
    /// Row `i` of an address argument (text; IPv4 also takes a long, as `parse_ipv4` gives it).
    fn read(_: &dyn Array, strings: &StrCol, i: usize) -> Option<Self> {
        strings.get(i).and_then(Self::parse)
    }
}

impl Address for Net {
    const WIDTH: u32 = 32;
    fn parse(text: &str) -> Option<Self> {
        Net::parse(text)
    }
    fn bits(&self) -> u32 {
        self.bits
    }
    fn masked(&self, bits: u32) -> u128 {
        u128::from(self.addr & mask(bits))
    }
    fn text(&self, bits: u32) -> String {
        let [w, x, y, z] = (self.addr & mask(bits)).to_be_bytes();
        format!("{w}.{x}.{y}.{z}")
    }
    fn read(a: &dyn Array, strings: &StrCol, i: usize) -> Option<Self> {
        match a.as_primitive_opt::<Int64Type>() {
            Some(longs) => (longs.is_valid(i))
                .then(|| longs.value(i))
                .and_then(|v| u32::try_from(v).ok())
                .map(|addr| Net { addr, bits: 32 }),
            None => strings.get(i).and_then(Net::parse),
        }
    }
}

/// -1, 0 or 1 comparing two addresses on the shortest of their prefixes and `prefix`.
fn compare<A: Address>(x: &A, y: &A, prefix: u32) -> i64 {
    let bits = x.bits().min(y.bits()).min(prefix);
    x.masked(bits).cmp(&y.masked(bits)) as i64
}

/// Whether `ip` lies in `range` (compared on the range's prefix).
fn in_range<A: Address>(ip: &A, range: &A) -> bool {
    ip.masked(range.bits()) == range.masked(range.bits())
}

/// The ranges one `…_is_in_any_range` argument holds: one range, or a JSON array of them (a
/// `dynamic` argument); `None` when any of them is not an address.
fn ranges_of<A: Address>(text: &str) -> Option<Vec<A>> {
    if text.trim_start().starts_with('[') {
        let items: Vec<serde_json::Value> = serde_json::from_str(text).ok()?;
        items.iter().map(|v| v.as_str().and_then(A::parse)).collect()
    } else {
        A::parse(text).map(|n| vec![n])
    }
}

/// `…_is_in_any_range(ip, range, …)` or `(ip, dynamic([range, …]))`: whether the address lies
/// in any of the ranges; null when the address or one of the ranges is not an address.
fn in_any_range<A: Address>(args: &[ColumnarValue], rows: usize) -> Result<ColumnarValue> {
    let n = rows_for(args, rows);
    let ip = arg_array(&args[0], n)?;
    let ip = StrCol::new(&ip);
    let ranges = args[1..].iter().map(|a| arg_array(a, n)).collect::<Result<Vec<_>>>()?;
    let ranges: Vec<StrCol> = ranges.iter().map(|a| StrCol::new(a)).collect();
    let mut out = BooleanBuilder::with_capacity(n);
    for i in 0..n {
        let answer = ip.get(i).and_then(A::parse).and_then(|ip| {
            let mut any = false;
            for r in &ranges {
                any |= ranges_of::<A>(r.get(i)?)?.iter().any(|net| in_range(&ip, net));
            }
            Some(any)
        });
        out.append_option(answer);
    }
    finish(Arc::new(out.finish()), args)
}

/// `ipv4_is_in_any_range(ip, range, …)`.
pub fn ipv4_is_in_any_range(args: &[ColumnarValue], rows: usize) -> Result<ColumnarValue> {
    in_any_range::<Net>(args, rows)
}

/// `ipv4_is_private(ip)`: whether the address (or the whole of a `/n` range) lies in one of
/// RFC 1918's private ranges (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16); null when not IPv4.
pub fn ipv4_is_private(args: &[ColumnarValue], rows: usize) -> Result<ColumnarValue> {
    let n = rows_for(args, rows);
    let a = arg_array(&args[0], n)?;
    let a = StrCol::new(&a);
    let mut out = BooleanBuilder::with_capacity(n);
    for i in 0..n {
        let net = a.get(i).and_then(Net::parse);
        out.append_option(net.map(|net| PRIVATE.iter().any(|p| net.bits >= p.bits && p.contains(&net))));
    }
    finish(Arc::new(out.finish()), args)
}

/// A prefix argument at row `i`: 0 to `width` (`width` without one); `None` when out of range.
fn prefix_at(a: &dyn Array, i: usize, width: u32) -> Option<u32> {
    let p = a.as_primitive_opt::<Int64Type>()?;
    if p.is_null(i) {
        return Some(width);
    }
    u32::try_from(p.value(i)).ok().filter(|b| *b <= width)
}

/// `kql_ipv4_compare(a, b, prefix)` / `kql_ipv6_compare`: -1, 0 or 1 comparing the two
/// addresses on the shortest of their prefixes and `prefix`; null when either is not an
/// address or the prefix is out of range.
fn compare_rows<A: Address>(args: &[ColumnarValue], rows: usize) -> Result<ColumnarValue> {
    let n = rows_for(args, rows);
    let a = arg_array(&args[0], n)?;
    let b = arg_array(&args[1], n)?;
    let m = arg_array(&args[2], n)?;
    let (sa, sb) = (StrCol::new(&a), StrCol::new(&b));
    let mut out = Int64Builder::with_capacity(n);
    for i in 0..n {
        let cmp = A::read(&a, &sa, i)
            .zip(A::read(&b, &sb, i))
            .zip(prefix_at(&m, i, A::WIDTH))
            .map(|((x, y), p)| compare(&x, &y, p));
        out.append_option(cmp);
    }
    finish(Arc::new(out.finish()), args)
}

/// `kql_ipv4_compare(a, b, prefix)`.
pub fn ipv4_compare(args: &[ColumnarValue], rows: usize) -> Result<ColumnarValue> {
    compare_rows::<Net>(args, rows)
}

/// `kql_format_ipv4(ip, prefix, with_suffix)` / `kql_parse_ipv6`: the address masked to the
/// shorter of its prefix and `prefix`, as text (and `/bits` after it with `with_suffix`,
/// `format_ipv4_mask`); `""` when not an address.
fn format_rows<A: Address>(args: &[ColumnarValue], rows: usize) -> Result<ColumnarValue> {
    let suffix = matches!(
        args.get(2),
        Some(ColumnarValue::Scalar(datafusion::common::ScalarValue::Boolean(Some(true))))
    );
    let n = rows_for(&args[..2], rows);
    let a = arg_array(&args[0], n)?;
    let m = arg_array(&args[1], n)?;
    let sa = StrCol::new(&a);
    let mut out = StringBuilder::with_capacity(n, n * 16);
    for i in 0..n {
        let text = A::read(&a, &sa, i).zip(prefix_at(&m, i, A::WIDTH)).map(|(net, p)| {
            let bits = net.bits().min(p);
            if suffix { format!("{}/{bits}", net.text(bits)) } else { net.text(bits) }
        });
        out.append_value(text.unwrap_or_default());
    }
    finish(Arc::new(out.finish()), &args[..2])
}

/// `kql_format_ipv4(ip, prefix, with_suffix)`.
pub fn format_ipv4(args: &[ColumnarValue], rows: usize) -> Result<ColumnarValue> {
    format_rows::<Net>(args, rows)
}

/// `ipv4_netmask_suffix(ip)`: the prefix length of `a.b.c.d/n` (32 without one); null when
/// not IPv4.
pub fn ipv4_netmask_suffix(args: &[ColumnarValue], rows: usize) -> Result<ColumnarValue> {
    let n = rows_for(args, rows);
    let a = arg_array(&args[0], n)?;
    let a = StrCol::new(&a);
    let mut out = Int64Builder::with_capacity(n);
    for i in 0..n {
        out.append_option(a.get(i).and_then(Net::parse).map(|net| i64::from(net.bits)));
    }
    finish(Arc::new(out.finish()), args)
}

/// An IPv6 address (or an IPv4 one, mapped to `::ffff:a.b.c.d`) with its prefix length (128
/// without one; an IPv4 prefix counts 96 more), masked to the prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Net6 {
    /// The address as a number, masked.
    pub addr: u128,
    /// Bits of the prefix, 0 to 128.
    pub bits: u32,
}

impl Net6 {
    /// `text` read as an IPv6 or IPv4 address with an optional `/n` (by the standard library's
    /// address parsers), or `None`.
    pub fn parse(text: &str) -> Option<Net6> {
        let text = text.trim();
        let (ip, prefix) = match text.split_once('/') {
            Some((ip, bits)) => (ip.trim(), Some(bits.trim().parse::<u32>().ok()?)),
            None => (text, None),
        };
        let (addr, bits) = if let Ok(v6) = ip.parse::<std::net::Ipv6Addr>() {
            (u128::from(v6), prefix.unwrap_or(128))
        } else {
            let v4 = ip.parse::<std::net::Ipv4Addr>().ok()?;
            (u128::from(v4.to_ipv6_mapped()), prefix.map_or(128, |b| b.saturating_add(96)))
        };
        (bits <= 128).then(|| Net6 { addr: addr & mask6(bits), bits })
    }
}

/// The netmask of a 128-bit prefix of `bits` bits.
fn mask6(bits: u32) -> u128 {
    u128::MAX.checked_shl(128 - bits.min(128)).unwrap_or(0)
}

impl Address for Net6 {
    const WIDTH: u32 = 128;
    fn parse(text: &str) -> Option<Self> {
        Net6::parse(text)
    }
    fn bits(&self) -> u32 {
        self.bits
    }
    fn masked(&self, bits: u32) -> u128 {
        self.addr & mask6(bits)
    }
    fn text(&self, bits: u32) -> String {
        let bytes = self.masked(bits).to_be_bytes();
        let groups: Vec<String> = bytes.chunks(2).map(|g| format!("{:02x}{:02x}", g[0], g[1])).collect();
        groups.join(":")
    }
}

/// `kql_ipv6_compare(a, b, prefix)`.
pub fn ipv6_compare(args: &[ColumnarValue], rows: usize) -> Result<ColumnarValue> {
    compare_rows::<Net6>(args, rows)
}

/// `kql_parse_ipv6(ip, prefix)`: `parse_ipv6` and `parse_ipv6_mask`, the canonical text.
pub fn parse_ipv6(args: &[ColumnarValue], rows: usize) -> Result<ColumnarValue> {
    format_rows::<Net6>(args, rows)
}

/// `ipv6_is_in_range(ip, range)` and `ipv6_is_in_any_range(ip, range, …)`.
pub fn ipv6_is_in_any_range(args: &[ColumnarValue], rows: usize) -> Result<ColumnarValue> {
    in_any_range::<Net6>(args, rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_and_ranges_parse_and_others_do_not() {
        assert_eq!(Net::parse("10.1.2.3"), Some(Net { addr: 0x0a01_0203, bits: 32 }));
        assert_eq!(Net::parse(" 10.1.2.3/8 "), Some(Net { addr: 0x0a00_0000, bits: 8 }));
        assert_eq!(Net::parse("0.0.0.0/0"), Some(Net { addr: 0, bits: 0 }));
        for bad in [
            "",
            "10.1.2",
            "10.1.2.3.4",
            "256.1.1.1",
            "10.1.2.3/33",
            "a.b.c.d",
            "10..2.3",
            "1.2.3.4/",
            "+1.2.3.4",
        ] {
            assert_eq!(Net::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn a_range_contains_the_addresses_of_its_prefix_only() {
        let range = Net::parse("172.16.0.0/12").expect("parses");
        assert!(range.contains(&Net::parse("172.31.255.255").expect("parses")));
        assert!(!range.contains(&Net::parse("172.32.0.0").expect("parses")));
        let all = Net::parse("0.0.0.0/0").expect("parses");
        assert!(all.contains(&Net::parse("8.8.8.8").expect("parses")));
    }
}
