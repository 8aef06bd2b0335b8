//! The read fuzz target's property ([`audit::read::fuzz_check`]: no panic, the rows handed on
//! are the events counted, the borrowed and SIMD paths read what serde_json reads) on mutants
//! of seed files, with the stable toolchain: for when `cargo fuzz` (nightly) is not at hand.
//! Each mutant is one to four edits of a seed (a structural byte replaced or inserted, a cut,
//! a range deleted or copied elsewhere, a random byte); the first that breaks the property is
//! written to `OUT/crash-N` and the run stops with status 1.
//!
//! usage: mutate_read SEED_DIR [MUTANTS] [RANDOM_SEED] [OUT]
//!
//! Session 36 ran it on the document and batch seeds of `fuzz/corpus/read/`; it found that the
//! borrowed records skipped what serde_json refuses (`regress-records-stray-byte-in-skipped-key.json`).

use std::panic;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = args.next().ok_or("usage: mutate_read SEED_DIR [MUTANTS] [RANDOM_SEED] [OUT]")?;
    let iters: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(10_000);
    let mut x: u64 = args.next().map(|s| s.parse()).transpose()?.unwrap_or(0x2545_F491_4F6C_DD1D);
    let out = args.next().unwrap_or_else(|| ".".to_owned());
    let mut seeds = Vec::new();
    for e in std::fs::read_dir(&dir)? {
        seeds.push(std::fs::read(e?.path())?);
    }
    if seeds.is_empty() || x == 0 {
        return Err("no seed files, or a random seed of 0".into());
    }
    let mut rnd = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let special = b"{}[],:\"\\ \n0ax";
    for i in 0..iters {
        let mut d = seeds[(rnd() % seeds.len() as u64) as usize].clone();
        let n = 1 + rnd() % 4;
        for _ in 0..n {
            if d.is_empty() {
                break;
            }
            let at = (rnd() % d.len() as u64) as usize;
            match rnd() % 6 {
                0 => d[at] = special[(rnd() % special.len() as u64) as usize],
                1 => d.truncate(at),
                2 => {
                    let end = (at + (rnd() % 200) as usize).min(d.len());
                    d.drain(at..end);
                }
                3 => d.insert(at, special[(rnd() % special.len() as u64) as usize]),
                4 => {
                    let end = (at + (rnd() % 300) as usize).min(d.len());
                    let piece = d[at..end].to_vec();
                    let to = (rnd() % d.len() as u64) as usize;
                    d.splice(to..to, piece);
                }
                _ => d[at] = (rnd() & 0xff) as u8,
            }
        }
        let data = d.clone();
        if panic::catch_unwind(|| audit::read::fuzz_check(&data)).is_err() {
            let p = std::path::Path::new(&out).join(format!("crash-{i}"));
            std::fs::write(&p, &d)?;
            eprintln!("mutant {i} breaks the property: written to {}", p.display());
            std::process::exit(1);
        }
    }
    eprintln!("{iters} mutants hold the property");
    Ok(())
}
