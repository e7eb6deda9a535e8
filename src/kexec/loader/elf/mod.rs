//! The ELF loader: an x86_64 `vmlinux` (plain, or compressed on disk: the kernel file
//! is read unpacked). Each PT_LOAD goes at its physical address (`p_paddr`) and the
//! entry is `e_entry` (physical in a Linux vmlinux: `phys_startup_64`). The kernel
//! speaks the Linux 64-bit boot protocol (`protocol/linux.rs`), which is handed a
//! synthesised setup header for the zero page (a vmlinux has none), as kexec-tools'
//! elf-x86_64 does.
//!
//! Xen ELF notes (`XEN_ELFNOTE_*`, public/elfnote.h in Xen) are read and reported, so
//! `kboot kexec --info` tells whether a kernel can boot as a Xen PV or PVH guest; the
//! PVH entry (`phys32_entry`) is what a multiboot or PVH protocol would enter by.

use goblin::elf::program_header::{PT_LOAD, PT_NOTE};
use goblin::elf::Elf;
use serde::Serialize;

use crate::bytes::{le16, le32, le64, put_le16, put_le32};
use crate::kexec::image::{
    align_up, place_segment, ImageError, Parsed, Placement, Segment, SegmentData, SegmentRequest,
    SegmentRole, PAGE_BYTES,
};
use crate::kexec::memmap::MemRange;
use crate::kexec::protocol::linux::LinuxKernel;
use crate::kexec::protocol::KernelBoot;

use super::{KernelLayout, Loader, LoaderError};

const EM_X86_64: u16 = 62;
const ELFCLASS64: u8 = 2;
/// Ramdisk limit for a kernel that has no header to say otherwise: the
/// `initrd_addr_max` every 64-bit kernel has had since 2.6.
const RAMDISK_MAX_END: u64 = 0x8000_0000;

/// Xen note types (xen/include/public/elfnote.h).
const XEN_ELFNOTE_ENTRY: u32 = 1;
const XEN_ELFNOTE_HYPERCALL_PAGE: u32 = 2;
const XEN_ELFNOTE_GUEST_OS: u32 = 6;
const XEN_ELFNOTE_LOADER: u32 = 8;
const XEN_ELFNOTE_FEATURES: u32 = 10;
const XEN_ELFNOTE_PHYS32_ENTRY: u32 = 18;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub(crate) struct XenNotes {
    /// Note types present, in file order.
    pub types: Vec<u32>,
    pub guest_os: Option<String>,
    pub loader: Option<String>,
    pub features: Option<String>,
    /// PV entry (virtual).
    pub entry: Option<u64>,
    pub hypercall_page: Option<u64>,
    /// PVH entry: a 32-bit physical address.
    pub phys32_entry: Option<u32>,
}

impl XenNotes {
    /// A PV entry point is what Xen's PV builder needs (the hypercall page note went
    /// away in Linux 5.x, which sets it up through an MSR instead).
    pub(crate) fn pv_capable(&self) -> bool {
        self.entry.is_some()
    }

    pub(crate) fn pvh_capable(&self) -> bool {
        self.phys32_entry.is_some()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct LoadSegmentInfo {
    /// Its program header's index, as errors name it.
    #[serde(skip)]
    pub index: usize,
    pub paddr: u64,
    pub offset: u64,
    pub filesz: u64,
    pub memsz: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct ElfInfo {
    pub entry: u64,
    pub loads: Vec<LoadSegmentInfo>,
    pub xen: XenNotes,
    pub xen_pv: bool,
    pub xen_pvh: bool,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum ElfLoadError {
    #[error("not a valid ELF file: {0}")]
    Parse(String),
    #[error("ELF for machine {0}, not x86_64 (62)")]
    WrongMachine(u16),
    #[error("PT_LOAD {index} reaches past the end of the file (offset {offset:#x} + {filesz:#x} > {len:#x})")]
    Truncated {
        index: usize,
        offset: u64,
        filesz: u64,
        len: u64,
    },
    #[error("PT_LOAD {index}: file size {filesz:#x} is larger than memory size {memsz:#x}")]
    FileLargerThanMemory {
        index: usize,
        filesz: u64,
        memsz: u64,
    },
    #[error("no PT_LOAD segments")]
    NoLoads,
    #[error("more than 12 PT_LOAD segments")]
    TooManyLoads,
    #[error("entry {0:#x} is in no PT_LOAD segment")]
    EntryOutside(u64),
    #[error(
        "the ELF's segments overlap: PT_LOAD {index} (physical {start:#x}..{end:#x}, in \
         whole pages) and PT_LOAD {other} ({other_start:#x}..{other_end:#x}); this is not \
         a kernel kboot can load"
    )]
    Overlap {
        index: usize,
        start: u64,
        end: u64,
        other: usize,
        other_start: u64,
        other_end: u64,
    },
    #[error(transparent)]
    Layout(#[from] ImageError),
}

fn text(desc: &[u8]) -> String {
    String::from_utf8_lossy(desc.split(|&b| b == 0).next().unwrap_or(&[])).into_owned()
}

fn le_u64(desc: &[u8]) -> Option<u64> {
    match desc.len() {
        4 => Some(u64::from(le32(desc, 0))),
        8 => Some(le64(desc, 0)),
        _ => None,
    }
}

fn xen_notes(elf: &Elf<'_>, bytes: &[u8]) -> XenNotes {
    let mut xen = XenNotes::default();
    let Some(notes) = elf.iter_note_headers(bytes) else {
        return xen;
    };
    // Stop at the first malformed note: goblin's iterator may yield the same error
    // forever (a note alignment it does not take), so `flatten` would never end.
    for note in notes.map_while(Result::ok) {
        if note.name != "Xen" {
            continue;
        }
        xen.types.push(note.n_type);
        match note.n_type {
            XEN_ELFNOTE_GUEST_OS => xen.guest_os = Some(text(note.desc)),
            XEN_ELFNOTE_LOADER => xen.loader = Some(text(note.desc)),
            XEN_ELFNOTE_FEATURES => xen.features = Some(text(note.desc)),
            XEN_ELFNOTE_ENTRY => xen.entry = le_u64(note.desc),
            XEN_ELFNOTE_HYPERCALL_PAGE => xen.hypercall_page = le_u64(note.desc),
            XEN_ELFNOTE_PHYS32_ENTRY => {
                xen.phys32_entry = le_u64(note.desc).and_then(|v| u32::try_from(v).ok())
            }
            _ => {}
        }
    }
    xen
}

/// Parses and checks the headers of an x86_64 ELF; bounds every PT_LOAD by the file.
pub(crate) fn parse(bytes: &[u8]) -> Result<ElfInfo, ElfLoadError> {
    // The machine first, from the raw header: a kernel for another architecture is
    // named as such even when the rest of the file is more than goblin takes.
    if let Some(machine) = machine(bytes) {
        if machine != EM_X86_64 {
            return Err(ElfLoadError::WrongMachine(machine));
        }
    }
    parse_any_machine(bytes)
}

/// `e_machine` of an ELF file (either class), `None` for no ELF.
pub(crate) fn machine(bytes: &[u8]) -> Option<u16> {
    (bytes.len() >= 20 && bytes.starts_with(b"\x7fELF")).then(|| le16(bytes, 18))
}

/// [`parse`] for an ELF of either class and any machine (the multiboot loader takes
/// i386 ELF32 files and checks the machine itself).
pub(crate) fn parse_any_machine(bytes: &[u8]) -> Result<ElfInfo, ElfLoadError> {
    let elf = Elf::parse(bytes).map_err(|e| ElfLoadError::Parse(e.to_string()))?;
    let mut loads = Vec::new();
    for (index, ph) in elf.program_headers.iter().enumerate() {
        if ph.p_type != PT_LOAD || ph.p_memsz == 0 {
            continue;
        }
        let end = ph.p_offset.checked_add(ph.p_filesz);
        if end.is_none_or(|end| end > bytes.len() as u64) {
            return Err(ElfLoadError::Truncated {
                index,
                offset: ph.p_offset,
                filesz: ph.p_filesz,
                len: bytes.len() as u64,
            });
        }
        if ph.p_filesz > ph.p_memsz {
            return Err(ElfLoadError::FileLargerThanMemory {
                index,
                filesz: ph.p_filesz,
                memsz: ph.p_memsz,
            });
        }
        loads.push(LoadSegmentInfo {
            index,
            paddr: ph.p_paddr,
            offset: ph.p_offset,
            filesz: ph.p_filesz,
            memsz: ph.p_memsz,
        });
    }
    if loads.is_empty() {
        return Err(ElfLoadError::NoLoads);
    }
    // The entry is physical in a vmlinux; translate a virtual one through its PT_LOAD.
    let in_paddr = loads
        .iter()
        .any(|l| elf.entry >= l.paddr && elf.entry - l.paddr < l.memsz);
    let entry = if in_paddr {
        elf.entry
    } else {
        elf.program_headers
            .iter()
            .filter(|ph| ph.p_type == PT_LOAD)
            .find(|ph| elf.entry >= ph.p_vaddr && elf.entry - ph.p_vaddr < ph.p_memsz)
            .map(|ph| elf.entry - ph.p_vaddr + ph.p_paddr)
            .ok_or(ElfLoadError::EntryOutside(elf.entry))?
    };
    let has_notes = elf.program_headers.iter().any(|ph| ph.p_type == PT_NOTE);
    let xen = if has_notes {
        xen_notes(&elf, bytes)
    } else {
        XenNotes::default()
    };
    Ok(ElfInfo {
        entry,
        loads,
        xen_pv: xen.pv_capable(),
        xen_pvh: xen.pvh_capable(),
        xen,
    })
}

/// The setup header a vmlinux lacks: what the kernel reads from `boot_params.hdr`
/// (boot flag, "HdrS", protocol 2.15, the limits every 64-bit kernel has).
pub(crate) fn synthetic_header() -> Vec<u8> {
    let mut h = vec![0u8; 0x290];
    put_le16(&mut h, 0x1fe, 0xaa55);
    h[0x200] = 0xeb;
    h[0x201] = 0x6a;
    h[0x202..0x206].copy_from_slice(b"HdrS");
    put_le16(&mut h, 0x206, 0x020f);
    put_le32(&mut h, 0x22c, 0x7fff_ffff);
    put_le32(&mut h, 0x230, 0x20_0000);
    put_le16(&mut h, 0x236, 1);
    put_le32(&mut h, 0x238, 0x7ff);
    h
}

pub(crate) struct ElfLoader;

impl Loader for ElfLoader {
    fn name(&self) -> &'static str {
        "ELF"
    }

    /// Any 64-bit ELF: one for another machine is then refused by name
    /// (`WrongMachine`) rather than as an unknown format.
    fn probe(&self, kernel: &[u8]) -> bool {
        kernel.len() > 20 && kernel.starts_with(b"\x7fELF") && kernel[4] == ELFCLASS64
    }

    fn describe(&self, kernel: &[u8]) -> Result<Parsed, LoaderError> {
        Ok(Parsed::Elf(parse(kernel)?))
    }

    fn layout(&self, kernel: &[u8], memmap: &[MemRange]) -> Result<KernelLayout, LoaderError> {
        Ok(layout(kernel, memmap)?)
    }
}

/// Places each PT_LOAD at its physical address; the kernel is entered at `e_entry`
/// through the Linux 64-bit boot protocol with a synthesised setup header.
fn layout(kernel: &[u8], memmap: &[MemRange]) -> Result<KernelLayout, ElfLoadError> {
    let info = parse(kernel)?;
    let segments = place_loads(kernel, &info.loads, memmap)?;
    let boot = LinuxKernel {
        entry_64: info.entry,
        entry_32: None,
        setup_header: synthetic_header(),
        cmdline_max_bytes: None,
        ramdisk_max_end: RAMDISK_MAX_END,
    };
    Ok(KernelLayout {
        segments,
        boot: KernelBoot::Linux(boot),
        parsed: Parsed::Elf(info),
    })
}

/// Places each load (a PT_LOAD, or a multiboot a.out kludge's range) at its physical
/// address, reserving its memory size: `kexec_load` zero-fills past the file bytes.
/// The loads must be bounded by `kernel` already ([`parse`] checks PT_LOADs).
pub(crate) fn place_loads(
    kernel: &[u8],
    loads: &[LoadSegmentInfo],
    memmap: &[MemRange],
) -> Result<Vec<Segment>, ElfLoadError> {
    if loads.len() > 12 {
        return Err(ElfLoadError::TooManyLoads);
    }
    let mut segments: Vec<Segment> = Vec::with_capacity(loads.len());
    // Each PT_LOAD's pages, to name two that overlap (placing the second would only
    // find no room).
    let mut placed: Vec<(usize, u64, u64)> = Vec::with_capacity(loads.len());
    for load in loads {
        let mem = load.paddr & !(PAGE_BYTES - 1);
        let lead = load.paddr - mem;
        let end = align_up(
            load.paddr
                .checked_add(load.memsz)
                .ok_or(ImageError::Overflow("a PT_LOAD's end"))?,
            PAGE_BYTES,
        )?;
        if let Some(&(other, other_start, other_end)) = placed
            .iter()
            .find(|&&(_, other_start, other_end)| mem < other_end && other_start < end)
        {
            return Err(ElfLoadError::Overlap {
                index: load.index,
                start: mem,
                end,
                other,
                other_start,
                other_end,
            });
        }
        placed.push((load.index, mem, end));
        let start = load.offset as usize;
        let file_range = start..start + load.filesz as usize;
        // An unaligned segment gets its lead-in zeros in a copy; aligned ones (all of
        // a vmlinux's) are used in place.
        let data = if lead == 0 {
            SegmentData::Kernel(file_range)
        } else {
            let mut bytes = vec![0u8; lead as usize];
            bytes.extend_from_slice(kernel.get(file_range).unwrap_or_default());
            SegmentData::Owned(bytes)
        };
        let request = SegmentRequest {
            role: SegmentRole::Kernel,
            data_bytes: lead + load.filesz,
            data,
            memsz_bytes: end - mem,
        };
        let placement = Placement {
            align: PAGE_BYTES,
            min: mem,
            max_end: end,
            top_down: false,
        };
        segments.push(place_segment(memmap, &segments, request, placement)?);
    }
    Ok(segments)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(super) mod tests;
