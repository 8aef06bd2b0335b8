//! Format detection and every record parser on arbitrary bytes: never panics, and the rows
//! handed to the sink are exactly the events the summary counts.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    audit::read::fuzz_check(data);
});
