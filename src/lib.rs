//! kboot: a minimal initramfs `/init` that finds kernels on the machine's disks, lets
//! the user pick one and boots it with kexec. The same binary is also a tool on a
//! running system (`kboot devices`, `kboot entries`, `kboot kexec`, `kboot mkinitramfs`,
//! and in a Xen dom0 `kboot xen-soft-reset`).
//!
//! Where to start reading: `init::run` is PID 1's whole flow; the dependency arrows
//! point one way, from `init` into the three stages it drives:
//! - `devices`: find and prepare block devices (probe, partitions, md, LVM, mounts).
//! - `select`: turn a mounted filesystem into boot entries (BLS, grub.cfg, plain
//!   `/boot` scan) and pick one (the menu lives in `init::menu`).
//! - `kexec`: turn an entry into a running kernel. A new kernel *format* is a new
//!   loader in `kexec/loader/` (it returns a layout); a new *boot protocol* (how the
//!   next kernel is told about its memory, command line and modules) is a new module
//!   in `kexec/protocol/`; the one module that makes syscalls is `kexec/syscall.rs`.
//!
//! `modules` is kernel-module handling (depmod's tables, dependency order, loading):
//! `init` uses it to load the drivers the devices and filesystems need.
//!
//! `bytes` is what every binary parser and builder shares: little/big-endian fields
//! that cannot panic, their writers, and bounded device reads with the one
//! `RegionReadError`.
//!
//! `untrusted` is how every file from a disk is opened and read (kernels, ramdisks,
//! boot loader configs, disk images): regular files only (a FIFO must not hang PID
//! 1), a size limit checked before and while reading, paths kept inside their
//! filesystem.
//!
//! `printable` escapes control characters in text read from disks before it reaches
//! a terminal (menu, log, `kboot devices` and `entries`).
//!
//! `cli` is the host-side tool over the same code; `mkinitramfs` writes initramfs lists
//! and archives; `xenhost` is the dom0 side of kboot in Xen guests (`kboot
//! xen-soft-reset`), never used by /init.

mod bytes;
mod cli;
mod compression;
mod devices;
mod fnmatch;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
mod init;
mod kexec;
mod mkinitramfs;
mod modules;
mod printable;
mod report;
mod select;
mod untrusted;
mod xenhost;

pub use cli::main as cli_main;
pub use init::{is_init, run as run_init};
