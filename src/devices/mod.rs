//! Finding and preparing block devices: partition tables, filesystem superblocks,
//! md arrays, LVM volumes, mounts. Kernel modules are not devices: they live in
//! `crate::modules`.
//!
//! - `blockdev`: the devices sysfs lists (or an image file's partitions), each
//!   identified by reading the parsers below through a byte `Window`.
//! - `partition` (`mbr`, `gpt`) and `probe` (one module per filesystem family): pure
//!   parsers of partition tables and superblocks; `spec` parses `root=` values.
//! - `md` (`superblock`, `plan`, `assemble`) and `lvm` (`label`, `metadata`,
//!   `table`) plan arrays and volumes; `md::assemble` (sysfs) and `dm` (ioctls)
//!   carry the plans out.
//! - `mount`: the mount(2) edge.

pub(crate) mod blockdev;
pub(crate) mod dm;
pub(crate) mod lvm;
pub(crate) mod md;
pub(crate) mod mount;
pub(crate) mod partition;
pub(crate) mod probe;
pub(crate) mod spec;

#[cfg(test)]
pub(crate) mod test_samples;
