//! Manifest reading and every webhook and APF check on arbitrary bytes: never panics, every
//! object counted is kept, every finding points at the file.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    manifests::fuzz_check(data);
});
