//! The bzImage loader: x86 boot protocol 2.06 or later with a 64-bit entry
//! (Documentation/arch/x86/boot.rst, "64-bit boot protocol"). Lays out four segments:
//!
//! - the protected-mode kernel, at the lowest `kernel_alignment`-aligned address at or
//!   above max(1 MiB, `pref_address`), reserving ALIGN(`init_size`, 4 KiB) so the
//!   decompressor has room in place;
//! - the ramdisk, top-down in RAM below `initrd_addr_max` (anywhere when
//!   XLF_CAN_BE_LOADED_ABOVE_4G says the kernel takes it above 4 GiB);
//! - the zero page with the command line right after it, below 4 GiB;
//! - the purgatory with its stack, below 4 GiB.
//!
//! Entry: `rip` = kernel + 0x200 (the 64-bit entry), `rsi` = zero page.

use serde::Serialize;

pub(crate) mod header;

use crate::kexec::image::{
    DomImage, ImageError, Parsed, Placement, SegmentData, SegmentRole, LOW_LIMIT_BYTES, PAGE_BYTES,
};
use header::BzImageError;

use super::{linux, Loader, LoaderError};

const INITRD_ADDR_MAX: usize = 0x22c;
const KERNEL_ALIGNMENT: usize = 0x230;
const RELOCATABLE_KERNEL: usize = 0x234;
const CMDLINE_SIZE: usize = 0x238;
const PREF_ADDRESS: usize = 0x258;
const INIT_SIZE: usize = 0x260;
/// The 64-bit entry point is this far into the protected-mode kernel.
pub(crate) const ENTRY_64_OFFSET: u64 = 0x200;
const XLF_CAN_BE_LOADED_ABOVE_4G: u16 = 1 << 1;

/// What the setup header says, beyond `bzimage::SetupHeader`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct BzImageInfo {
    pub protocol_version: u16,
    pub setup_sects: u8,
    pub loadflags: u8,
    pub xloadflags: u16,
    pub kernel_offset_bytes: u64,
    pub initrd_addr_max: u32,
    pub kernel_alignment: u32,
    pub relocatable: bool,
    pub cmdline_size: u32,
    pub pref_address: u64,
    pub init_size: u32,
    /// What the compressed payload holds (`describe` only: the layout never needs it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payload: Option<PayloadInfo>,
}

/// The compressed vmlinux inside a bzImage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct PayloadInfo {
    pub compression: &'static str,
    pub compressed_bytes: u64,
    /// The vmlinux's ELF headers and Xen notes, when kboot can decompress it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vmlinux: Option<super::elf::ElfInfo>,
}

const PAYLOAD_OFFSET: usize = 0x248;
const PAYLOAD_LENGTH: usize = 0x24c;
const LZ4_LEGACY_MAGIC: [u8; 4] = [0x02, 0x21, 0x4c, 0x18];
/// Legacy LZ4 frames hold blocks of at most 8 MiB.
const LZ4_LEGACY_BLOCK_BYTES: usize = 8 << 20;
/// No vmlinux is this big; a bound keeps a hostile header from exhausting memory.
const MAX_VMLINUX_BYTES: usize = 512 << 20;

fn compression_of(payload: &[u8]) -> &'static str {
    match payload {
        [0x1f, 0x8b, ..] => "gzip",
        [0x02, 0x21, 0x4c, 0x18, ..] => "lz4",
        [0xfd, b'7', b'z', b'X', b'Z', 0, ..] => "xz",
        [0x28, 0xb5, 0x2f, 0xfd, ..] => "zstd",
        [b'B', b'Z', b'h', ..] => "bzip2",
        [0x5d, 0, 0, ..] => "lzma",
        [0x89, b'L', b'Z', b'O', ..] => "lzo",
        [0x7f, b'E', b'L', b'F', ..] => "none",
        _ => "unknown",
    }
}

/// Unpacks the kernel's LZ4 legacy format (lz4 -l, as kbuild's `cmd_lz4` writes it):
/// the magic, then blocks each led by a u32 compressed size; kbuild appends the
/// decompressed size as a final u32, which reads as a block too long for what is left.
pub(crate) fn lz4_legacy(payload: &[u8]) -> Option<Vec<u8>> {
    let mut rest = payload.strip_prefix(&LZ4_LEGACY_MAGIC)?;
    let mut out = Vec::new();
    while rest.len() >= 4 {
        let (size, after) = rest.split_at(4);
        if size == LZ4_LEGACY_MAGIC {
            rest = after;
            continue;
        }
        let size = u32::from_le_bytes(size.try_into().ok()?) as usize;
        if size > after.len() {
            break;
        }
        let start = out.len();
        if start + LZ4_LEGACY_BLOCK_BYTES > MAX_VMLINUX_BYTES {
            return None;
        }
        out.resize(start + LZ4_LEGACY_BLOCK_BYTES, 0);
        let written = lz4_flex::block::decompress_into(&after[..size], &mut out[start..]).ok()?;
        out.truncate(start + written);
        rest = &after[size..];
    }
    Some(out)
}

/// The payload's compression and, for gzip, LZ4 or none, the vmlinux's headers.
pub(crate) fn payload_info(kernel: &[u8], info: &BzImageInfo) -> Option<PayloadInfo> {
    let start =
        (info.kernel_offset_bytes as usize).checked_add(u32_at(kernel, PAYLOAD_OFFSET) as usize)?;
    let end = start.checked_add(u32_at(kernel, PAYLOAD_LENGTH) as usize)?;
    let payload = kernel.get(start..end)?;
    let compression = compression_of(payload);
    let vmlinux = match compression {
        "lz4" => lz4_legacy(payload),
        "gzip" => {
            use std::io::Read;
            let mut out = Vec::new();
            flate2::read::GzDecoder::new(payload)
                .take(MAX_VMLINUX_BYTES as u64)
                .read_to_end(&mut out)
                .ok()
                .map(|_| out)
        }
        "none" => Some(payload.to_vec()),
        _ => None,
    };
    Some(PayloadInfo {
        compression,
        compressed_bytes: payload.len() as u64,
        vmlinux: vmlinux.and_then(|bytes| super::elf::parse(&bytes).ok()),
    })
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum BzImageLoadError {
    #[error(transparent)]
    Header(#[from] BzImageError),
    #[error("kernel_alignment {0:#x} is not a power of two")]
    BadAlignment(u32),
    #[error("the command line is {len} bytes; this kernel takes at most {max}")]
    CmdlineTooLong { len: usize, max: u32 },
    #[error(transparent)]
    Layout(#[from] ImageError),
    #[error(transparent)]
    Boot(#[from] linux::BootSetupError),
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    let mut v = [0u8; 4];
    v.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(v)
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut v = [0u8; 8];
    v.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(v)
}

/// Parses and checks the header (magic, protocol, 64-bit entry, file length).
pub(crate) fn parse(kernel: &[u8]) -> Result<BzImageInfo, BzImageLoadError> {
    let head = &kernel[..kernel.len().min(header::HEADER_BYTES)];
    let setup = header::parse_header(head, kernel.len() as u64)?;
    if head.len() < INIT_SIZE + 4 {
        return Err(BzImageError::TooShort {
            len: kernel.len() as u64,
        }
        .into());
    }
    // Fields from protocol 2.10 on (pref_address, init_size) read as zero before it.
    let newer = setup.protocol_version >= 0x020a;
    Ok(BzImageInfo {
        protocol_version: setup.protocol_version,
        setup_sects: setup.setup_sects,
        loadflags: setup.loadflags,
        xloadflags: setup.xloadflags,
        kernel_offset_bytes: setup.kernel_offset_bytes(),
        initrd_addr_max: u32_at(head, INITRD_ADDR_MAX),
        kernel_alignment: u32_at(head, KERNEL_ALIGNMENT),
        relocatable: head[RELOCATABLE_KERNEL] != 0,
        cmdline_size: u32_at(head, CMDLINE_SIZE),
        pref_address: if newer { u64_at(head, PREF_ADDRESS) } else { 0 },
        init_size: if newer { u32_at(head, INIT_SIZE) } else { 0 },
        payload: None,
    })
}

pub(crate) struct BzImageLoader;

impl Loader for BzImageLoader {
    fn name(&self) -> &'static str {
        "bzImage"
    }

    fn probe(&self, kernel: &[u8]) -> bool {
        kernel.len() > 0x206 && &kernel[0x202..0x206] == b"HdrS"
    }

    fn describe(&self, kernel: &[u8]) -> Result<Parsed, LoaderError> {
        let mut info = parse(kernel)?;
        info.payload = payload_info(kernel, &info);
        Ok(Parsed::BzImage(info))
    }

    fn load(&self, image: &mut DomImage) -> Result<(), LoaderError> {
        layout(image).map_err(LoaderError::from)
    }
}

fn layout(image: &mut DomImage) -> Result<(), BzImageLoadError> {
    let info = parse(&image.kernel)?;
    if image.cmdline.len() > info.cmdline_size as usize {
        return Err(BzImageLoadError::CmdlineTooLong {
            len: image.cmdline.len(),
            max: info.cmdline_size,
        });
    }
    let kernel_alignment = u64::from(info.kernel_alignment);
    if !kernel_alignment.is_power_of_two() {
        return Err(BzImageLoadError::BadAlignment(info.kernel_alignment));
    }

    // Kernel: a relocatable kernel goes at the first aligned spot at or above its
    // preferred address; a fixed one only at that address.
    let kernel_min = LOW_LIMIT_BYTES.max(info.pref_address);
    let kernel_range = (info.kernel_offset_bytes as usize)..image.kernel.len();
    let kernel_placement = Placement {
        align: kernel_alignment,
        min: kernel_min,
        max_end: if info.relocatable {
            u64::MAX
        } else {
            kernel_min
                .checked_add(u64::from(info.init_size).max(kernel_range.len() as u64))
                .and_then(|end| end.checked_add(PAGE_BYTES))
                .ok_or(ImageError::Overflow("the kernel's end"))?
        },
        top_down: false,
    };
    let kernel_index = image.place(
        SegmentRole::Kernel,
        SegmentData::Kernel(kernel_range),
        u64::from(info.init_size),
        kernel_placement,
    )?;
    image.load_data_only(kernel_index)?;
    let kernel_addr = image.segments[kernel_index].mem;

    let ramdisk_max_end = if info.xloadflags & XLF_CAN_BE_LOADED_ABOVE_4G != 0 {
        u64::MAX
    } else {
        u64::from(info.initrd_addr_max) + 1
    };
    let header_bytes = image.kernel[..image.kernel.len().min(header::HEADER_BYTES)].to_vec();
    linux::place_boot(
        image,
        &header_bytes,
        kernel_addr + ENTRY_64_OFFSET,
        ramdisk_max_end,
    )?;
    image.parsed = Some(Parsed::BzImage(info));
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
