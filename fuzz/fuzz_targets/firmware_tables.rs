#![no_main]
//! Fuzz target: see `kboot::fuzzing::firmware_tables`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| kboot::fuzzing::firmware_tables(data));
