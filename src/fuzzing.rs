//! Entry points for the fuzz targets in `fuzz/` (built only with the `fuzzing`
//! feature): each feeds untrusted bytes to one family of parsers the way kboot meets
//! them, and ignores the result. A target has found a bug when it panics, aborts,
//! hangs or allocates without bound; errors are the expected answer to garbage.

use std::io::Cursor;

use crate::devices::{lvm, md, partition, probe};
use crate::kexec::memmap::{MemRange, E820_RAM, E820_RESERVED};

/// Bytes as text the way kboot reads its text files (lossy UTF-8).
fn text(data: &[u8]) -> String {
    String::from_utf8_lossy(data).into_owned()
}

/// The kernel command line (`/proc/cmdline`) and the menu mode word.
pub fn cmdline(data: &[u8]) {
    let text = text(data);
    let _ = text.parse::<crate::init::cmdline::Cmdline>();
    let _ = text.parse::<crate::init::menu::MenuMode>();
}

/// A disk or partition image: every probe kboot runs on a block device (filesystem
/// superblocks, partition tables, md superblocks, the LVM label and its metadata).
pub fn disk(data: &[u8]) {
    let size_bytes = data.len() as u64;
    let _ = probe::probe(&mut Cursor::new(data), size_bytes);
    let _ = partition::read_table(&mut Cursor::new(data), size_bytes);
    let _ = md::read_superblock(&mut Cursor::new(data), size_bytes);
    let _ = lvm::label::read_pv(&mut Cursor::new(data), size_bytes);
}

/// LVM metadata text (the VG description in a metadata area).
pub fn lvm_metadata(data: &[u8]) {
    let text = text(data);
    let _ = text.parse::<lvm::metadata::VolumeGroup>();
}

/// A kernel image: recognised, described (`kexec --info`) and laid out with its boot
/// protocol and purgatory for a 1 GiB QEMU guest (`kexec --dry-run`).
pub fn kernel(data: &[u8]) {
    let _ = crate::kexec::loader::describe(data);
    let memmap = vec![
        MemRange {
            start: 0,
            end: 0x9_fc00,
            e820_type: E820_RAM,
        },
        MemRange {
            start: 0xf_0000,
            end: 0x10_0000,
            e820_type: E820_RESERVED,
        },
        MemRange {
            start: 0x10_0000,
            end: 0x4000_0000,
            e820_type: E820_RAM,
        },
    ];
    let mut image = crate::kexec::image::DomImage::new(
        data.to_vec(),
        b"070701".to_vec(),
        "console=ttyS0".to_string(),
        memmap,
    );
    let _ = crate::kexec::build::build(&mut image);
}

/// Boot configuration text: BLS entries, loader.conf, grubenv and grub.cfg (parsed and
/// evaluated, as kboot turns it into menu entries).
pub fn boot_config(data: &[u8]) {
    let text = text(data);
    let _ = text.parse::<crate::select::bls::BlsEntry>();
    let _ = text.parse::<crate::select::bls::LoaderConf>();
    let _ = text.parse::<crate::select::grub::GrubEnv>();
    let _ = crate::select::grub::read_menu(&text, Default::default());
}

/// Kernel-module metadata: depmod's tables and a module's `.modinfo` section.
pub fn modules(data: &[u8]) {
    use crate::modules::tables;
    let text = text(data);
    let _ = tables::parse_modules_dep(&text);
    let _ = tables::parse_modules_alias(&text);
    let _ = tables::parse_modules_softdep(&text);
    let _ = tables::parse_modules_builtin(&text);
    let _ = tables::parse_builtin_modinfo_aliases(data);
    let _ = crate::modules::modinfo::parse_modinfo_section(data);
}

/// The decompressors (kernels, bzImage payloads, modules), bounded as kboot bounds
/// them, at 64 MiB here so a bomb shows as an error and not an out-of-memory.
pub fn decompress(data: &[u8]) {
    let _ = crate::compression::decompress_if_compressed(data.to_vec(), 64 << 20);
}

/// The small text formats read from /proc and /sys: `/proc/iomem`, the EFI systab.
pub fn firmware_tables(data: &[u8]) {
    let text = text(data);
    let _ = crate::kexec::memmap::parse_iomem(&text);
    let _ = crate::kexec::firmware::parse_systab_rsdp(&text);
}
