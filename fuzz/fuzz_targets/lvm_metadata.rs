#![no_main]
//! Fuzz target: see `kboot::fuzzing::lvm_metadata`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| kboot::fuzzing::lvm_metadata(data));
