//! The bzImage loader: x86 boot protocol 2.06 or later with a 64-bit entry
//! (Documentation/arch/x86/boot.rst, "64-bit boot protocol"). It places one segment,
//! the protected-mode kernel, at the lowest `kernel_alignment`-aligned address at or
//! above max(1 MiB, `pref_address`), reserving ALIGN(`init_size`, 4 KiB) so the
//! decompressor has room in place; the kernel's 64-bit entry is that address + 0x200.
//!
//! The rest of the image (ramdisk below `initrd_addr_max`, or anywhere when
//! XLF_CAN_BE_LOADED_ABOVE_4G says the kernel takes it above 4 GiB; the zero page with
//! a copy of this file's setup header; the command line) is the Linux boot protocol's
//! (`protocol/linux.rs`); the loader hands it what it read from the header.
//!
//! `header` reads the setup header into the one typed [`SetupHeader`].

use serde::Serialize;

pub(crate) mod header;

use header::{BzImageError, SetupHeader, HEADER_BYTES};

use crate::compression::{decompress, Compression, DecompressError};
use crate::kexec::image::{
    place_segment, ImageError, Parsed, Placement, SegmentData, SegmentRequest, SegmentRole,
    LOW_LIMIT_BYTES, PAGE_BYTES,
};
use crate::kexec::memmap::MemRange;
use crate::kexec::protocol::linux::LinuxKernel;
use crate::kexec::protocol::KernelBoot;

use super::{KernelLayout, Loader, LoaderError};

/// The 64-bit entry point is this far into the protected-mode kernel.
pub(crate) const ENTRY_64_OFFSET: u64 = 0x200;

/// What `--info` and `--dry-run` show of a bzImage: the setup header, and with
/// `describe`, what the compressed payload holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct BzImageInfo {
    #[serde(flatten)]
    pub header: SetupHeader,
    /// What the compressed payload holds (`describe` only: the layout never needs it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payload: Option<PayloadInfo>,
}

/// The compressed vmlinux inside a bzImage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct PayloadInfo {
    pub compression: PayloadFormat,
    pub compressed_bytes: u64,
    /// The vmlinux's ELF headers and Xen notes, when kboot can decompress it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vmlinux: Option<super::elf::ElfInfo>,
}

/// No vmlinux is this big; a bound keeps a hostile header from exhausting memory.
const MAX_VMLINUX_BYTES: u64 = 512 << 20;

/// What a bzImage's payload is: its compression, or a plain ELF.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PayloadFormat {
    Compressed(Compression),
    /// An uncompressed vmlinux (`CONFIG_KERNEL_UNCOMPRESSED`).
    Uncompressed,
    Unknown,
}

impl PayloadFormat {
    fn of(payload: &[u8]) -> PayloadFormat {
        match Compression::detect(payload) {
            Some(compression) => PayloadFormat::Compressed(compression),
            None if payload.starts_with(b"\x7fELF") => PayloadFormat::Uncompressed,
            None => PayloadFormat::Unknown,
        }
    }

    /// As `--info` prints it: the compression's name, `none` or `unknown`.
    pub(crate) fn name(self) -> &'static str {
        match self {
            PayloadFormat::Compressed(compression) => compression.name(),
            PayloadFormat::Uncompressed => "none",
            PayloadFormat::Unknown => "unknown",
        }
    }
}

impl Serialize for PayloadFormat {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

/// The payload (the compressed vmlinux) as the header places it, if inside the file.
fn payload<'a>(kernel: &'a [u8], header: &SetupHeader) -> Option<&'a [u8]> {
    let start =
        (header.kernel_offset_bytes as usize).checked_add(header.payload_offset as usize)?;
    let end = start.checked_add(header.payload_length as usize)?;
    kernel.get(start..end)
}

/// The payload's format and, for gzip, LZ4 or none (what unpacks fast enough for
/// `--info`), the vmlinux's headers.
pub(crate) fn payload_info(kernel: &[u8], header: &SetupHeader) -> Option<PayloadInfo> {
    let payload = payload(kernel, header)?;
    let format = PayloadFormat::of(payload);
    let vmlinux = match format {
        PayloadFormat::Compressed(Compression::Gzip | Compression::Lz4Legacy)
        | PayloadFormat::Uncompressed => unpack_payload(payload).ok(),
        _ => None,
    };
    Some(PayloadInfo {
        compression: format,
        compressed_bytes: payload.len() as u64,
        vmlinux: vmlinux.and_then(|bytes| super::elf::parse(&bytes).ok()),
    })
}

/// Why the vmlinux inside a bzImage cannot be had.
#[derive(Debug, thiserror::Error)]
pub(crate) enum VmlinuxError {
    #[error("the bzImage's payload (offset {offset:#x}, {length} bytes) lies outside the file")]
    PayloadOutside { offset: u64, length: u64 },
    #[error("the bzImage's payload is neither compressed in a known way nor an ELF")]
    UnknownPayload,
    #[error("cannot unpack the bzImage's vmlinux: {0}")]
    Unpack(#[source] DecompressError),
}

/// Compared by message: the unpacking error's `io::Error` has no equality.
impl PartialEq for VmlinuxError {
    fn eq(&self, other: &Self) -> bool {
        self.to_string() == other.to_string()
    }
}

impl Eq for VmlinuxError {}

/// The vmlinux (an ELF) the bzImage with `header` carries, unpacked whatever its
/// compression (gzip, xz, zstd, bzip2, LZ4; not LZMA or LZO).
pub(crate) fn vmlinux(kernel: &[u8], header: &SetupHeader) -> Result<Vec<u8>, VmlinuxError> {
    let payload = payload(kernel, header).ok_or(VmlinuxError::PayloadOutside {
        offset: header
            .kernel_offset_bytes
            .saturating_add(u64::from(header.payload_offset)),
        length: u64::from(header.payload_length),
    })?;
    unpack_payload(payload)
}

fn unpack_payload(payload: &[u8]) -> Result<Vec<u8>, VmlinuxError> {
    match PayloadFormat::of(payload) {
        PayloadFormat::Compressed(compression) => {
            decompress(compression, payload, MAX_VMLINUX_BYTES).map_err(VmlinuxError::Unpack)
        }
        PayloadFormat::Uncompressed => Ok(payload.to_vec()),
        PayloadFormat::Unknown => Err(VmlinuxError::UnknownPayload),
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum BzImageLoadError {
    #[error(transparent)]
    Header(#[from] BzImageError),
    #[error("kernel_alignment {0:#x} is not a power of two")]
    BadAlignment(u32),
    #[error(transparent)]
    Layout(#[from] ImageError),
}

/// Parses and checks the header (magic, protocol, 64-bit entry, file length).
pub(crate) fn parse(kernel: &[u8]) -> Result<SetupHeader, BzImageLoadError> {
    let head = &kernel[..kernel.len().min(HEADER_BYTES)];
    Ok(SetupHeader::parse(head, kernel.len() as u64)?)
}

pub(crate) struct BzImageLoader;

impl Loader for BzImageLoader {
    fn name(&self) -> &'static str {
        "bzImage"
    }

    fn probe(&self, kernel: &[u8]) -> bool {
        // A file cut before its boot header ends is still recognised by its boot
        // sector's 0xAA55, so it is reported as a truncated bzImage, not as no kernel.
        let cut_boot_sector = kernel.len() < header::MIN_HEADER_BYTES
            && kernel.get(header::BOOT_FLAG..header::BOOT_FLAG + 2) == Some(&[0x55, 0xaa]);
        cut_boot_sector
            || kernel.get(header::HEADER_MAGIC..header::HEADER_MAGIC + 4) == Some(b"HdrS")
    }

    fn describe(&self, kernel: &[u8]) -> Result<Parsed, LoaderError> {
        let header = parse(kernel)?;
        Ok(Parsed::BzImage(BzImageInfo {
            header,
            payload: payload_info(kernel, &header),
        }))
    }

    fn layout(&self, kernel: &[u8], memmap: &[MemRange]) -> Result<KernelLayout, LoaderError> {
        Ok(layout(kernel, memmap)?)
    }
}

/// Places the protected-mode kernel and reads what the Linux boot protocol needs.
pub(crate) fn layout(kernel: &[u8], memmap: &[MemRange]) -> Result<KernelLayout, BzImageLoadError> {
    let header = parse(kernel)?;
    let kernel_alignment = u64::from(header.kernel_alignment);
    if !kernel_alignment.is_power_of_two() {
        return Err(BzImageLoadError::BadAlignment(header.kernel_alignment));
    }

    // A relocatable kernel goes at the first aligned spot at or above its preferred
    // address; a fixed one only at that address.
    let kernel_min = LOW_LIMIT_BYTES.max(header.pref_address);
    let kernel_range = (header.kernel_offset_bytes as usize)..kernel.len();
    let data_bytes = kernel_range.len() as u64;
    let placement = Placement {
        align: kernel_alignment,
        min: kernel_min,
        max_end: if header.relocatable {
            u64::MAX
        } else {
            kernel_min
                .checked_add(u64::from(header.init_size).max(data_bytes))
                .and_then(|end| end.checked_add(PAGE_BYTES))
                .ok_or(ImageError::Overflow("the kernel's end"))?
        },
        top_down: false,
    };
    let request = SegmentRequest {
        role: SegmentRole::Kernel,
        data: SegmentData::Kernel(kernel_range),
        data_bytes,
        memsz_bytes: u64::from(header.init_size),
    };
    let mut segment = place_segment(memmap, &[], request, placement)?;
    segment.load_data_only(data_bytes)?;

    let boot = LinuxKernel {
        entry_64: segment.mem + ENTRY_64_OFFSET,
        entry_32: Some(segment.mem),
        setup_header: kernel[..kernel.len().min(HEADER_BYTES)].to_vec(),
        cmdline_max_bytes: Some(header.cmdline_size),
        ramdisk_max_end: if header.ramdisk_may_be_above_4g() {
            u64::MAX
        } else {
            u64::from(header.initrd_addr_max) + 1
        },
    };
    Ok(KernelLayout {
        segments: vec![segment],
        boot: KernelBoot::Linux(boot),
        parsed: Parsed::BzImage(BzImageInfo {
            header,
            payload: None,
        }),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(super) mod tests;
