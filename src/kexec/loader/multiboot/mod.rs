//! The multiboot loaders (`multiboot2-x86`, `multiboot-x86`, as kexec-tools calls
//! them): a kernel with a multiboot 2 or 1 header (`header.rs`), the Xen hypervisor
//! first of all. The image is an i386 ELF32, each PT_LOAD at its physical address
//! (the elf loader's parser and placement), or raw bytes placed as the header's a.out
//! kludge says. Everything goes in RAM between 1 MiB and 4 GiB: the kernel is entered
//! in 32-bit protected mode with paging off, and the first MiB holds the BIOS data
//! area and what the kernel's early code uses (Xen: 0x40E, 0x413, a stack at 0x1000).
//!
//! The information structure, the modules and the 32-bit entry are the multiboot boot
//! protocol's (`protocol/multiboot.rs`). Compressed images (`xen.gz`) are unpacked
//! before any loader sees them (`files::read_decompressed`).

pub(crate) mod header;

use serde::Serialize;

use header::{find_mb1, find_mb2, AoutKludge, HeaderError, Mb1Header, Mb2Header};

use super::elf::{self, ElfLoadError, LoadSegmentInfo};
use super::{KernelLayout, Loader, LoaderError};
use crate::kexec::image::{ImageError, Parsed, FOUR_GIB, LOW_LIMIT_BYTES};
use crate::kexec::memmap::MemRange;
use crate::kexec::protocol::multiboot::{MultibootKernel, MultibootVersion};
use crate::kexec::protocol::KernelBoot;

const EM_386: u16 = 3;
const ELFCLASS32: u8 = 1;
/// Multiboot 2's `load_addr` for "from the file's first byte".
const MB2_LOAD_FROM_FILE_START: u32 = 0xffff_ffff;

/// What `--info`, `--dry-run` and `--dump` show of a multiboot image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct MultibootInfo {
    /// The header the loader boots by: 1 or 2.
    pub version: u8,
    /// `elf32` or `a.out kludge`.
    pub format: &'static str,
    /// Physical entry point.
    pub entry: u32,
    /// What goes where: physical address, file offset, bytes from the file, bytes in
    /// memory (zero-filled past the file's).
    pub loads: Vec<LoadSegmentInfo>,
    /// Both headers as found (a Xen image has both).
    pub multiboot1: Option<Mb1Header>,
    pub multiboot2: Option<Mb2Header>,
    /// The image knows the `no-real-mode` option (Xen does): see
    /// `MultibootKernel::no_real_mode`.
    pub knows_no_real_mode: bool,
}

/// The option a kernel that makes BIOS calls in real mode takes to skip them (Xen's).
pub(crate) const NO_REAL_MODE: &[u8] = b"no-real-mode";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum MultibootLoadError {
    #[error("no multiboot{} header", if *.0 == 2 { "2" } else { "" })]
    NoHeader(u8),
    #[error(transparent)]
    Header(#[from] HeaderError),
    #[error(
        "the multiboot image is neither an i386 ELF32 (it is {found}) nor described by the \
         header's a.out kludge"
    )]
    NotElf32 { found: String },
    #[error(transparent)]
    Elf(#[from] ElfLoadError),
    #[error(
        "the multiboot a.out kludge is inconsistent: {what} (header_addr {:#x}, load_addr \
         {:#x}, load_end_addr {:#x}, bss_end_addr {:#x}, entry_addr {:#x}, header at file \
         offset {header_offset:#x}, file {file_bytes:#x} bytes)",
        .aout.header_addr, .aout.load_addr, .aout.load_end_addr, .aout.bss_end_addr, .aout.entry_addr
    )]
    BadKludge {
        what: &'static str,
        aout: AoutKludge,
        header_offset: u64,
        file_bytes: u64,
    },
    #[error(
        "the multiboot kernel wants {start:#x}..{end:#x}: it must lie between 1 MiB and \
         4 GiB (a multiboot kernel starts with paging off; the first MiB is the firmware's)"
    )]
    OutsideLowRam { start: u64, end: u64 },
    #[error(
        "the multiboot kernel wants {start:#x}..{end:#x}, which is not free System RAM in \
         the memory map"
    )]
    NotInRam { start: u64, end: u64 },
    #[error("the multiboot entry {entry:#x} is in none of the kernel's load ranges")]
    EntryOutside { entry: u64 },
}

/// The loader for one header version; `multiboot2-x86` is tried first, as the
/// richer header (a Xen image has both).
pub(crate) struct MultibootLoader(pub MultibootVersion);

impl Loader for MultibootLoader {
    fn name(&self) -> &'static str {
        match self.0 {
            MultibootVersion::V1 => "multiboot-x86",
            MultibootVersion::V2 => "multiboot2-x86",
        }
    }

    /// A header of this version. A multiboot 2 header asking what kboot cannot give
    /// leaves the image to `multiboot-x86` when it has a version 1 header too; with
    /// none, this loader takes it to name what is missing.
    fn probe(&self, kernel: &[u8]) -> bool {
        match self.0 {
            MultibootVersion::V1 => find_mb1(kernel).is_some(),
            MultibootVersion::V2 => match find_mb2(kernel) {
                Some(Ok(_)) => true,
                Some(Err(_)) => find_mb1(kernel).is_none(),
                None => false,
            },
        }
    }

    fn describe(&self, kernel: &[u8]) -> Result<Parsed, LoaderError> {
        Ok(Parsed::Multiboot(parse(kernel, self.0)?))
    }

    fn layout(&self, kernel: &[u8], memmap: &[MemRange]) -> Result<KernelLayout, LoaderError> {
        Ok(layout(kernel, memmap, self.0)?)
    }
}

/// Reads the header of `version` and what it says is loaded where.
pub(crate) fn parse(
    kernel: &[u8],
    version: MultibootVersion,
) -> Result<MultibootInfo, MultibootLoadError> {
    let multiboot1 = find_mb1(kernel).and_then(Result::ok);
    let multiboot2 = find_mb2(kernel).and_then(Result::ok);
    let (aout, entry_override, header_offset) = match version {
        MultibootVersion::V1 => {
            let header = find_mb1(kernel).ok_or(MultibootLoadError::NoHeader(1))??;
            (header.aout, None, header.offset)
        }
        MultibootVersion::V2 => {
            let header = find_mb2(kernel).ok_or(MultibootLoadError::NoHeader(2))??;
            (header.aout, header.entry_addr, header.offset)
        }
    };
    let (format, entry, loads) = match aout {
        Some(aout) => {
            let (entry, load) = kludge_load(aout, header_offset, kernel.len() as u64)?;
            ("a.out kludge", entry, vec![load])
        }
        None => {
            let elf = elf32(kernel)?;
            let entry = entry_override.map_or(elf.entry, u64::from);
            ("elf32", entry, elf.loads)
        }
    };
    check_ranges(&loads, entry)?;
    Ok(MultibootInfo {
        version: version.number(),
        format,
        // check_ranges: below 4 GiB.
        entry: entry as u32,
        loads,
        multiboot1,
        multiboot2,
        knows_no_real_mode: kernel
            .windows(NO_REAL_MODE.len())
            .any(|w| w == NO_REAL_MODE),
    })
}

/// An i386 ELF32's PT_LOADs and entry (physical).
fn elf32(kernel: &[u8]) -> Result<elf::ElfInfo, MultibootLoadError> {
    let class = kernel.get(4).copied();
    match elf::machine(kernel) {
        Some(EM_386) if class == Some(ELFCLASS32) => Ok(elf::parse_any_machine(kernel)?),
        Some(machine) => Err(MultibootLoadError::NotElf32 {
            found: format!(
                "an ELF{} for machine {machine}",
                if class == Some(ELFCLASS32) { 32 } else { 64 }
            ),
        }),
        None => Err(MultibootLoadError::NotElf32 {
            found: "no ELF".to_string(),
        }),
    }
}

/// The one load range of an a.out kludge, checked as the specification says: the
/// header lies in the loaded text (`load_addr <= header_addr`), the file holds the
/// text, the BSS follows it, and the entry is inside.
fn kludge_load(
    aout: AoutKludge,
    header_offset: u64,
    file_bytes: u64,
) -> Result<(u64, LoadSegmentInfo), MultibootLoadError> {
    let bad = |what| MultibootLoadError::BadKludge {
        what,
        aout,
        header_offset,
        file_bytes,
    };
    let (load_addr, offset) = if aout.load_addr == MB2_LOAD_FROM_FILE_START {
        let load_addr = u64::from(aout.header_addr)
            .checked_sub(header_offset)
            .ok_or_else(|| bad("the file's start would lie below address 0"))?;
        (load_addr, 0)
    } else {
        let before_header = aout
            .header_addr
            .checked_sub(aout.load_addr)
            .ok_or_else(|| bad("load_addr is above header_addr"))?;
        let offset = header_offset
            .checked_sub(u64::from(before_header))
            .ok_or_else(|| bad("the text would start before the file"))?;
        (u64::from(aout.load_addr), offset)
    };
    let filesz = if aout.load_end_addr == 0 {
        file_bytes - offset.min(file_bytes)
    } else {
        u64::from(aout.load_end_addr)
            .checked_sub(load_addr)
            .filter(|&size| size > 0)
            .ok_or_else(|| bad("load_end_addr is not above load_addr"))?
    };
    if offset
        .checked_add(filesz)
        .is_none_or(|end| end > file_bytes)
    {
        return Err(bad("the text reaches past the end of the file"));
    }
    let memsz = if aout.bss_end_addr == 0 {
        filesz
    } else {
        u64::from(aout.bss_end_addr)
            .checked_sub(load_addr)
            .filter(|&size| size >= filesz)
            .ok_or_else(|| bad("bss_end_addr is below load_end_addr"))?
    };
    let entry = u64::from(aout.entry_addr);
    if entry < load_addr || entry - load_addr >= memsz {
        return Err(bad("entry_addr is outside the loaded text and BSS"));
    }
    let load = LoadSegmentInfo {
        index: 0,
        paddr: load_addr,
        offset,
        filesz,
        memsz,
    };
    Ok((entry, load))
}

/// Every load between 1 MiB and 4 GiB, the entry inside one of them.
fn check_ranges(loads: &[LoadSegmentInfo], entry: u64) -> Result<(), MultibootLoadError> {
    for load in loads {
        let end = load.paddr.saturating_add(load.memsz);
        if load.paddr < LOW_LIMIT_BYTES || end > FOUR_GIB {
            return Err(MultibootLoadError::OutsideLowRam {
                start: load.paddr,
                end,
            });
        }
    }
    if !loads
        .iter()
        .any(|l| entry >= l.paddr && entry - l.paddr < l.memsz)
    {
        return Err(MultibootLoadError::EntryOutside { entry });
    }
    Ok(())
}

fn layout(
    kernel: &[u8],
    memmap: &[MemRange],
    version: MultibootVersion,
) -> Result<KernelLayout, MultibootLoadError> {
    let info = parse(kernel, version)?;
    let segments = elf::place_loads(kernel, &info.loads, memmap).map_err(|e| match e {
        ElfLoadError::Layout(ImageError::NoRoom { min, max_end, .. }) => {
            MultibootLoadError::NotInRam {
                start: min,
                end: max_end,
            }
        }
        e => MultibootLoadError::Elf(e),
    })?;
    Ok(KernelLayout {
        segments,
        boot: KernelBoot::Multiboot(MultibootKernel {
            version,
            entry: info.entry,
            no_real_mode: info.knows_no_real_mode,
        }),
        parsed: Parsed::Multiboot(info),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) mod tests;
