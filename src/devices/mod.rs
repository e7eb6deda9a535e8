//! Finding and preparing block devices: partition tables, filesystem superblocks,
//! kernel modules, mounts.

pub mod modload;
pub mod modules;
pub mod partition;
pub mod probe;
