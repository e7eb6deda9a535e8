//! Finding and preparing block devices: partition tables, filesystem superblocks,
//! kernel modules, mounts.

pub mod blockdev;
pub mod md;
pub mod md_assemble;
pub mod modload;
pub mod modules;
pub mod mount;
pub mod partition;
pub mod probe;
pub mod spec;
