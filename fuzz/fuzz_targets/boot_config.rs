#![no_main]
//! Fuzz target: see `kboot::fuzzing::boot_config`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| kboot::fuzzing::boot_config(data));
