//! The zero page (`struct boot_params`, arch/x86/include/uapi/asm/bootparam.h) a
//! 64-bit kernel finds through `rsi`. Offsets live here, one constant each; `build`
//! is a pure function from the bzImage's first bytes and the layout to the page.
//! The rules are those of Documentation/arch/x86/boot.rst.

#[cfg(test)]
use crate::bytes::{le32, le64};
use crate::bytes::{put_le32, put_le64};
/// `loadflags` (u8): at the same offset in the zero page's copy of the setup header
/// as in the bzImage file.
pub(crate) use crate::kexec::loader::bzimage::header::LOADFLAGS;
use crate::kexec::memmap::MemRange;

pub(crate) const ZERO_PAGE_BYTES: usize = 4096;

/// `acpi_rsdp_addr` (u64): where the ACPI RSDP is; 0 = let the kernel look.
pub(crate) const ACPI_RSDP_ADDR: usize = 0x070;
/// `ext_ramdisk_image`: bits 32..63 of `ramdisk_image`.
const EXT_RAMDISK_IMAGE: usize = 0x0c0;
/// `ext_ramdisk_size`: bits 32..63 of `ramdisk_size`.
const EXT_RAMDISK_SIZE: usize = 0x0c4;
/// `ext_cmd_line_ptr`: bits 32..63 of `cmd_line_ptr`.
const EXT_CMD_LINE_PTR: usize = 0x0c8;
/// `e820_entries` (u8): how many `e820_table` entries are valid.
const E820_ENTRIES: usize = 0x1e8;
/// `sentinel` (u8): a loader that copies the setup header wholesale may leave garbage
/// here; nonzero makes the kernel clear fields it did not expect. We zero-fill.
#[cfg(test)]
pub(crate) const SENTINEL: usize = 0x1ef;
/// Start of the setup header copy (`hdr`), same offset as in the bzImage file.
pub(crate) const SETUP_HEADER: usize = 0x1f1;
/// The 2-byte `jump` at 0x200: its second byte is the header's length past 0x202.
const SETUP_JUMP_OFFSET_BYTE: usize = 0x201;
const SETUP_HEADER_BASE: usize = 0x202;
/// `hdr` may not run into `edd_mbr_sig_buffer` at 0x290.
const SETUP_HEADER_LIMIT: usize = 0x290;
/// `type_of_loader` (u8).
pub(crate) const TYPE_OF_LOADER: usize = 0x210;
/// `ramdisk_image`, `ramdisk_size` (u32 each).
pub(crate) const RAMDISK_IMAGE: usize = 0x218;
pub(crate) const RAMDISK_SIZE: usize = 0x21c;
/// `cmd_line_ptr` (u32).
pub(crate) const CMD_LINE_PTR: usize = 0x228;
/// `hardware_subarch` (u32): 0 = default PC.
pub(crate) const HARDWARE_SUBARCH: usize = 0x23c;
/// `e820_table`: 128 entries of {u64 addr, u64 size, u32 type}.
const E820_TABLE: usize = 0x2d0;
pub(crate) const E820_MAX_ENTRIES: usize = 128;
const E820_ENTRY_BYTES: usize = 20;

/// "Undefined" in boot.rst's loader table: kboot has no assigned ID, and borrowing
/// kexec-tools' 0xD would tell the next kernel (and /proc/sys/kernel/bootloader_type)
/// a loader that did not run.
pub(crate) const LOADER_TYPE_UNDEFINED: u8 = 0xff;

/// `loadflags` bit 0: protected-mode code loaded at 0x100000 or above.
pub(crate) const LOADED_HIGH: u8 = 1 << 0;

/// What the zero page says about the layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ZeroPageFields<'a> {
    pub ramdisk_addr: u64,
    pub ramdisk_bytes: u64,
    pub cmdline_addr: u64,
    pub memmap: &'a [MemRange],
    pub acpi_rsdp_addr: u64,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum ZeroPageError {
    #[error("the kernel file is too short ({len} bytes) for its setup header")]
    ShortHeader { len: usize },
    #[error("the memory map has {count} entries; the zero page holds {E820_MAX_ENTRIES}")]
    TooManyE820 { count: usize },
}

fn low32(value: u64) -> u32 {
    (value & 0xffff_ffff) as u32
}

fn high32(value: u64) -> u32 {
    (value >> 32) as u32
}

/// Builds the zero page: the setup header bytes copied from the bzImage (0x1f1 up to
/// 0x202 + the byte at 0x201, as the protocol says, nothing past it), then what a
/// boot loader must fill: loader type, ramdisk, command line, e820 table.
pub(crate) fn build(
    kernel_head: &[u8],
    fields: &ZeroPageFields<'_>,
) -> Result<Vec<u8>, ZeroPageError> {
    let header_end = kernel_head
        .get(SETUP_JUMP_OFFSET_BYTE)
        .map(|&len| (SETUP_HEADER_BASE + usize::from(len)).min(SETUP_HEADER_LIMIT))
        .filter(|&end| end <= kernel_head.len())
        .ok_or(ZeroPageError::ShortHeader {
            len: kernel_head.len(),
        })?;
    if fields.memmap.len() > E820_MAX_ENTRIES {
        return Err(ZeroPageError::TooManyE820 {
            count: fields.memmap.len(),
        });
    }
    let mut page = vec![0u8; ZERO_PAGE_BYTES];
    page[SETUP_HEADER..header_end].copy_from_slice(&kernel_head[SETUP_HEADER..header_end]);

    page[TYPE_OF_LOADER] = LOADER_TYPE_UNDEFINED;
    // CAN_USE_HEAP and heap_end_ptr only matter to the 16-bit setup code, which the
    // 64-bit entry skips; LOADED_HIGH is the one flag that describes our layout.
    page[LOADFLAGS] |= LOADED_HIGH;

    put_le32(&mut page, RAMDISK_IMAGE, low32(fields.ramdisk_addr));
    put_le32(&mut page, RAMDISK_SIZE, low32(fields.ramdisk_bytes));
    put_le32(&mut page, EXT_RAMDISK_IMAGE, high32(fields.ramdisk_addr));
    put_le32(&mut page, EXT_RAMDISK_SIZE, high32(fields.ramdisk_bytes));
    put_le32(&mut page, CMD_LINE_PTR, low32(fields.cmdline_addr));
    put_le32(&mut page, EXT_CMD_LINE_PTR, high32(fields.cmdline_addr));
    put_le32(&mut page, HARDWARE_SUBARCH, 0);
    put_le64(&mut page, ACPI_RSDP_ADDR, fields.acpi_rsdp_addr);

    // Bounded above by E820_MAX_ENTRIES (128), so it fits the u8.
    page[E820_ENTRIES] = fields.memmap.len() as u8;
    for (index, range) in fields.memmap.iter().enumerate() {
        let at = E820_TABLE + index * E820_ENTRY_BYTES;
        put_le64(&mut page, at, range.start);
        put_le64(&mut page, at + 8, range.size_bytes());
        put_le32(&mut page, at + 16, range.e820_type);
    }
    Ok(page)
}

/// Reads back one e820 entry (for tests and `--dump`).
#[cfg(test)]
pub(crate) fn e820_entry(page: &[u8], index: usize) -> Option<(u64, u64, u32)> {
    let at = E820_TABLE + index * E820_ENTRY_BYTES;
    let entry = page.get(at..at + E820_ENTRY_BYTES)?;
    Some((le64(entry, 0), le64(entry, 8), le32(entry, 16)))
}

#[cfg(test)]
pub(crate) fn e820_count(page: &[u8]) -> usize {
    page.get(E820_ENTRIES).map_or(0, |&n| usize::from(n))
}
