//! Finding and preparing block devices: partition tables, filesystem superblocks,
//! kernel modules, mounts, LVM volumes.

pub mod blockdev;
// Not yet called from the boot flow; the lead wires LVM activation in.
#[allow(dead_code)]
pub mod dm;
#[allow(dead_code)]
pub mod lvm;
pub mod modload;
pub mod modules;
pub mod mount;
pub mod partition;
pub mod probe;
pub mod spec;
