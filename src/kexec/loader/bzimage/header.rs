//! The x86 boot protocol's setup header (Documentation/arch/x86/boot.rst), read from
//! the first two sectors of a bzImage into one typed [`SetupHeader`]: enough to know
//! that a file is a kernel, which protocol it speaks, how long it must be, and where
//! it wants to go. `kboot` reads it twice, through the same [`SetupHeader::parse`]:
//! before booting (`kexec::check_kernel`, from the file's first `HEADER_BYTES`) and
//! when the bzImage loader lays the kernel out.

use serde::Serialize;

use crate::bytes::{le16, le32, le64};

/// The header lies in the first two sectors; reading this much always covers it.
pub(crate) const HEADER_BYTES: usize = 1024;

pub(crate) const SETUP_SECTS: usize = 0x1f1;
pub(crate) const SYSSIZE: usize = 0x1f4;
pub(crate) const BOOT_FLAG: usize = 0x1fe;
pub(crate) const HEADER_MAGIC: usize = 0x202;
pub(crate) const VERSION: usize = 0x206;
pub(crate) const LOADFLAGS: usize = 0x211;
pub(crate) const INITRD_ADDR_MAX: usize = 0x22c;
pub(crate) const KERNEL_ALIGNMENT: usize = 0x230;
pub(crate) const RELOCATABLE_KERNEL: usize = 0x234;
pub(crate) const XLOADFLAGS: usize = 0x236;
pub(crate) const CMDLINE_SIZE: usize = 0x238;
pub(crate) const PAYLOAD_OFFSET: usize = 0x248;
pub(crate) const PAYLOAD_LENGTH: usize = 0x24c;
pub(crate) const PREF_ADDRESS: usize = 0x258;
pub(crate) const INIT_SIZE: usize = 0x260;
const SECTOR_BYTES: u64 = 512;
/// The boot header's fields run at least this far (to the end of `xloadflags`).
pub(crate) const MIN_HEADER_BYTES: usize = XLOADFLAGS + 2;
/// Protocol 2.06 is the oldest that `kexec_file_load` and our loaders handle.
const MIN_VERSION: u16 = 0x0206;
/// Protocol 2.10 added `pref_address` and `init_size`; before it they read as zero.
const VERSION_WITH_INIT_SIZE: u16 = 0x020a;
const XLF_KERNEL_64: u16 = 1;
const XLF_CAN_BE_LOADED_ABOVE_4G: u16 = 1 << 1;

/// The setup header's fields kboot uses. Serialised (in this order) as the bzImage
/// part of `kboot kexec --info` and `--dry-run`; the payload's place and the file's
/// length checks stay out of the JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub(crate) struct SetupHeader {
    pub protocol_version: u16,
    pub setup_sects: u8,
    pub loadflags: u8,
    pub xloadflags: u16,
    /// File offset where the protected-mode kernel begins.
    pub kernel_offset_bytes: u64,
    pub initrd_addr_max: u32,
    pub kernel_alignment: u32,
    pub relocatable: bool,
    pub cmdline_size: u32,
    pub pref_address: u64,
    pub init_size: u32,
    /// Size of the protected-mode part, in bytes (`syssize` * 16).
    #[serde(skip)]
    pub payload_bytes: u64,
    /// Where the compressed vmlinux lies, from the protected-mode kernel's start.
    #[serde(skip)]
    pub payload_offset: u32,
    #[serde(skip)]
    pub payload_length: u32,
}

impl SetupHeader {
    pub(crate) fn has_64bit_entry(&self) -> bool {
        self.xloadflags & XLF_KERNEL_64 != 0
    }

    /// Whether the kernel takes a ramdisk above 4 GiB (`XLF_CAN_BE_LOADED_ABOVE_4G`).
    pub(crate) fn ramdisk_may_be_above_4g(&self) -> bool {
        self.xloadflags & XLF_CAN_BE_LOADED_ABOVE_4G != 0
    }

    /// Parses the header from the first bytes of the file (`head`, at least
    /// `HEADER_BYTES` unless the file is shorter) and checks it against the file
    /// length: magic, protocol 2.06 or later, whole file, 64-bit entry.
    pub(crate) fn parse(head: &[u8], file_len: u64) -> Result<SetupHeader, BzImageError> {
        if head.len() < MIN_HEADER_BYTES {
            return Err(BzImageError::TooShort { len: file_len });
        }
        if le16(head, BOOT_FLAG) != 0xaa55 || &head[HEADER_MAGIC..HEADER_MAGIC + 4] != b"HdrS" {
            return Err(BzImageError::BadMagic);
        }
        let protocol_version = le16(head, VERSION);
        if protocol_version < MIN_VERSION {
            let [minor, major] = protocol_version.to_le_bytes();
            return Err(BzImageError::OldProtocol { major, minor });
        }
        // setup_sects 0 means 4, for the oldest kernels' sake.
        let setup_sects = match head[SETUP_SECTS] {
            0 => 4,
            n => n,
        };
        let kernel_offset_bytes = (u64::from(setup_sects) + 1) * SECTOR_BYTES;
        let payload_bytes = u64::from(le32(head, SYSSIZE)) * 16;
        let expected = kernel_offset_bytes + payload_bytes;
        if file_len < expected {
            return Err(BzImageError::Truncated {
                expected,
                len: file_len,
            });
        }
        // A file that long has all of its first HEADER_BYTES in `head`.
        if head.len() < INIT_SIZE + 4 {
            return Err(BzImageError::TooShort { len: file_len });
        }
        let newer = protocol_version >= VERSION_WITH_INIT_SIZE;
        let header = SetupHeader {
            protocol_version,
            setup_sects,
            loadflags: head[LOADFLAGS],
            xloadflags: le16(head, XLOADFLAGS),
            kernel_offset_bytes,
            initrd_addr_max: le32(head, INITRD_ADDR_MAX),
            kernel_alignment: le32(head, KERNEL_ALIGNMENT),
            relocatable: head[RELOCATABLE_KERNEL] != 0,
            cmdline_size: le32(head, CMDLINE_SIZE),
            pref_address: if newer { le64(head, PREF_ADDRESS) } else { 0 },
            init_size: if newer { le32(head, INIT_SIZE) } else { 0 },
            payload_bytes,
            payload_offset: le32(head, PAYLOAD_OFFSET),
            payload_length: le32(head, PAYLOAD_LENGTH),
        };
        if !header.has_64bit_entry() {
            return Err(BzImageError::No64BitEntry);
        }
        Ok(header)
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum BzImageError {
    #[error(
        "truncated: the file is only {len} bytes, but a bzImage's boot header alone takes {} bytes \
         ({:#x})",
        MIN_HEADER_BYTES,
        MIN_HEADER_BYTES
    )]
    TooShort { len: u64 },
    #[error("no x86 boot header (expected 0xAA55 at 0x1fe and \"HdrS\" at 0x202): not a bzImage")]
    BadMagic,
    #[error("boot protocol {major}.{minor:02} is older than 2.06")]
    OldProtocol { major: u8, minor: u8 },
    #[error("truncated: the header says {expected} bytes, the file has {len}")]
    Truncated { expected: u64, len: u64 },
    #[error("no 64-bit entry point (xloadflags bit 0 clear): a 32-bit kernel")]
    No64BitEntry,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
