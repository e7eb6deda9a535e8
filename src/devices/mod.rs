//! Finding and preparing block devices: partition tables, filesystem superblocks,
//! md arrays, LVM volumes, kernel modules, mounts.

pub mod blockdev;
pub mod bytes;
pub mod dm;
pub mod lvm;
pub mod md;
pub mod md_assemble;
pub mod modload;
pub mod modules;
pub mod mount;
pub mod partition;
pub mod probe;
pub mod spec;

#[cfg(test)]
pub(crate) mod test_samples;
