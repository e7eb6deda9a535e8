#![no_main]
//! Fuzz target: see `kboot::fuzzing::cmdline`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| kboot::fuzzing::cmdline(data));
