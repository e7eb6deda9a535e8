//! Writing the initramfs: gen_init_cpio file lists and newc archives.

pub mod cpio;
pub mod list;
