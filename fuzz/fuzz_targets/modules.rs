#![no_main]
//! Fuzz target: see `kboot::fuzzing::modules`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| kboot::fuzzing::modules(data));
