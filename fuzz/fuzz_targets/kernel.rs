#![no_main]
//! Fuzz target: see `kboot::fuzzing::kernel`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| kboot::fuzzing::kernel(data));
