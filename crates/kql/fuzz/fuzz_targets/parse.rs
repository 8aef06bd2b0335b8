//! Fuzz target: any input, parsed as a KQL query; see `tests/common/property.rs`.
#![no_main]

#[path = "../../tests/common/property.rs"]
mod property;

libfuzzer_sys::fuzz_target!(|data: &[u8]| property::check(data));
