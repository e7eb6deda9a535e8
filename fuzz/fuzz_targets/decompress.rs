#![no_main]
//! Fuzz target: see `kboot::fuzzing::decompress`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| kboot::fuzzing::decompress(data));
