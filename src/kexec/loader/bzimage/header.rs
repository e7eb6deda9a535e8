//! The x86 boot protocol's setup header (Documentation/arch/x86/boot.rst), read from
//! the first two sectors of a bzImage: enough to know that a file is a kernel, which
//! protocol it speaks, and how long it must be.

/// The header lies in the first two sectors; reading this much always covers it.
pub(crate) const HEADER_BYTES: usize = 1024;

const SETUP_SECTS: usize = 0x1f1;
const SYSSIZE: usize = 0x1f4;
const BOOT_FLAG: usize = 0x1fe;
const HEADER_MAGIC: usize = 0x202;
const VERSION: usize = 0x206;
const LOADFLAGS: usize = 0x211;
const XLOADFLAGS: usize = 0x236;
const SECTOR_BYTES: u64 = 512;
/// Protocol 2.06 is the oldest that `kexec_file_load` and our loaders handle.
const MIN_VERSION: u16 = 0x0206;
const XLF_KERNEL_64: u16 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SetupHeader {
    pub setup_sects: u8,
    pub protocol_version: u16,
    /// Size of the protected-mode part, in bytes.
    pub payload_bytes: u64,
    pub loadflags: u8,
    pub xloadflags: u16,
}

impl SetupHeader {
    /// File offset where the protected-mode kernel begins.
    pub(crate) fn kernel_offset_bytes(&self) -> u64 {
        (u64::from(self.setup_sects) + 1) * SECTOR_BYTES
    }

    pub(crate) fn has_64bit_entry(&self) -> bool {
        self.xloadflags & XLF_KERNEL_64 != 0
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum BzImageError {
    #[error("file is only {len} bytes, too short for a boot header")]
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

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Parses the header from the first bytes of the file (`head`, at least
/// `HEADER_BYTES` unless the file is shorter) and checks it against the file length.
pub(crate) fn parse_header(head: &[u8], file_len: u64) -> Result<SetupHeader, BzImageError> {
    if head.len() < XLOADFLAGS + 2 {
        return Err(BzImageError::TooShort { len: file_len });
    }
    if u16_at(head, BOOT_FLAG) != 0xaa55 || &head[HEADER_MAGIC..HEADER_MAGIC + 4] != b"HdrS" {
        return Err(BzImageError::BadMagic);
    }
    let protocol_version = u16_at(head, VERSION);
    if protocol_version < MIN_VERSION {
        let [minor, major] = protocol_version.to_le_bytes();
        return Err(BzImageError::OldProtocol { major, minor });
    }
    // setup_sects 0 means 4, for the oldest kernels' sake.
    let setup_sects = match head[SETUP_SECTS] {
        0 => 4,
        n => n,
    };
    let header = SetupHeader {
        setup_sects,
        protocol_version,
        payload_bytes: u64::from(u32_at(head, SYSSIZE)) * 16,
        loadflags: head[LOADFLAGS],
        xloadflags: u16_at(head, XLOADFLAGS),
    };
    let expected = header.kernel_offset_bytes() + header.payload_bytes;
    if file_len < expected {
        return Err(BzImageError::Truncated {
            expected,
            len: file_len,
        });
    }
    if !header.has_64bit_entry() {
        return Err(BzImageError::No64BitEntry);
    }
    Ok(header)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
