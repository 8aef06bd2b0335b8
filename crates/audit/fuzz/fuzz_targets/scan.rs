//! The one-pass event scan on arbitrary bytes: never panics, and whatever it reads, serde_json
//! reads to the same event.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    audit::scan_fuzz_check(data);
});
