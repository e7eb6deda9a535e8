//! Finding and preparing block devices: partition tables, filesystem superblocks,
//! md arrays, LVM volumes, mounts. (Kernel modules live in `crate::modules`.)

pub(crate) mod blockdev;
pub(crate) mod bytes;
pub(crate) mod dm;
pub(crate) mod lvm;
pub(crate) mod md;
pub(crate) mod mount;
pub(crate) mod partition;
pub(crate) mod probe;
pub(crate) mod spec;

/// The md sysfs side under the name `init::storage` knows it by.
pub(crate) use md::assemble as md_assemble;

#[cfg(test)]
pub(crate) mod test_samples;
