//! Finding and preparing block devices: partition tables, filesystem superblocks,
//! md arrays, LVM volumes, mounts. (Kernel modules live in `crate::modules`.)

pub(crate) mod blockdev;
pub(crate) mod bytes;
pub(crate) mod dm;
pub(crate) mod lvm;
pub(crate) mod md;
pub(crate) mod md_assemble;
pub(crate) mod mount;
pub(crate) mod partition;
pub(crate) mod probe;
pub(crate) mod spec;

#[cfg(test)]
pub(crate) mod test_samples;
