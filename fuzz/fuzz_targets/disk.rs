#![no_main]
//! Fuzz target: see `kboot::fuzzing::disk`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| kboot::fuzzing::disk(data));
