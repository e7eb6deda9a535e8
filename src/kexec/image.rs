//! `DomImage`: everything about the image being built for `kexec_load`, in one struct
//! (the Xen domain builder's `xc_dom_image`): the input bytes, the target's memory
//! map, the segments laid out so far, the entry registers, and what the loader parsed.
//! `build` fills it (the loader's kernel segments, then the boot protocol's, then the
//! purgatory); `syscall::kexec_load` consumes it; nothing here touches the system.
//!
//! Segment rules come from the kernel (kernel/kexec_core.c
//! `sanity_check_segment_list`): at most 16 segments, `mem` and `memsz` page aligned,
//! no overlaps, and each one inside System RAM.

use std::ops::Range;

use super::memmap::MemRange;

pub(crate) const PAGE_BYTES: u64 = 4096;
/// `KEXEC_SEGMENT_MAX`.
pub(crate) const MAX_SEGMENTS: usize = 16;
/// Nothing of ours goes below 1 MiB: real-mode memory belongs to the firmware and the
/// next kernel's trampolines.
pub(crate) const LOW_LIMIT_BYTES: u64 = 0x10_0000;
pub(crate) const FOUR_GIB: u64 = 0x1_0000_0000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum SegmentRole {
    Purgatory,
    BootParams,
    Kernel,
    Ramdisk,
    /// A multiboot module (the dom0 kernel, its ramdisk, ...).
    Module,
}

/// The role as the JSON plan and `--dump`'s file names spell it.
impl std::fmt::Display for SegmentRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SegmentRole::Purgatory => "purgatory",
            SegmentRole::BootParams => "boot-params",
            SegmentRole::Kernel => "kernel",
            SegmentRole::Ramdisk => "ramdisk",
            SegmentRole::Module => "module",
        })
    }
}

/// Where a segment's bytes come from: its own buffer, or a range of the kernel or the
/// ramdisk the image already holds (so an 8 MiB kernel is not copied twice).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SegmentData {
    Owned(Vec<u8>),
    Kernel(Range<usize>),
    Ramdisk,
    /// The bytes of `DomImage::modules[n]`.
    Module(usize),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Segment {
    pub role: SegmentRole,
    pub data: SegmentData,
    /// Physical load address, page aligned.
    pub mem: u64,
    /// Bytes `kexec_load` fills at `mem`, a page multiple; past the data the kernel
    /// zero-fills.
    pub memsz: u64,
    /// Bytes at `mem` no other segment may use, a page multiple, at least `memsz`
    /// (see [`Segment::load_data_only`]).
    pub reserved: u64,
}

impl Segment {
    /// The end of what `kexec_load` fills.
    pub(crate) fn end(&self) -> u64 {
        self.mem + self.memsz
    }

    /// The end of what the layout keeps for this segment.
    pub(crate) fn reserved_end(&self) -> u64 {
        self.mem + self.reserved
    }

    /// Keeps the segment's whole reservation free of other segments but has
    /// `kexec_load` fill only its `data_bytes`. For a bzImage the reservation is
    /// `init_size`, about four times the file: the decompressor's work area, which it
    /// needs free, not zeroed (it clears its own BSS). Zero-filling it costs the running
    /// kernel a page allocation and clear for every page: a third of a second for 60 MB
    /// under TCG.
    pub(crate) fn load_data_only(&mut self, data_bytes: u64) -> Result<(), ImageError> {
        self.memsz = align_up(data_bytes, PAGE_BYTES)?.min(self.reserved);
        Ok(())
    }
}

/// The CPU mode the purgatory enters the target in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum EntryMode {
    /// 64-bit long mode on the purgatory's identity map.
    #[default]
    Long64,
    /// 32-bit protected mode, paging off, flat segments.
    Protected32,
}

/// Registers the purgatory hands to the target (kexec-tools' `entry64_regs` or
/// `entry32_regs`). In 32-bit mode `rip` and `rsi` hold `eip` and `esi` (below 4 GiB),
/// as the purgatory's parameter block does; `eax` and `ebx` count only there.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct EntryRegs {
    pub mode: EntryMode,
    pub rip: u64,
    pub rsi: u64,
    /// The purgatory's stack (the end of its segment).
    pub rsp: u64,
    pub eax: u32,
    pub ebx: u32,
}

/// How a segment may be placed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Placement {
    /// A power of two, at least a page.
    pub align: u64,
    /// Lowest address the segment may start at.
    pub min: u64,
    /// Highest address (exclusive) the segment may end at.
    pub max_end: u64,
    /// Take the highest fitting address instead of the lowest.
    pub top_down: bool,
}

/// Low memory, bottom-up: for what is reached through 32-bit pointers (the zero page,
/// the command line) or entered before long mode is set up anew (the purgatory).
pub(crate) const BELOW_4G: Placement = Placement {
    align: PAGE_BYTES,
    min: LOW_LIMIT_BYTES,
    max_end: FOUR_GIB,
    top_down: false,
};

/// Low memory, top-down: for what a 32-bit boot protocol hands over by physical address
/// (multiboot modules and information, the PVH ramdisk and start info). Page-aligned
/// (what multiboot 1's flag 0 and multiboot 2's module alignment tag ask); top-down as
/// the Linux ramdisk, so the memory next to the kernel stays free for its early
/// allocations.
pub(crate) const BELOW_4G_TOP_DOWN: Placement = Placement {
    top_down: true,
    ..BELOW_4G
};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum ImageError {
    #[error("more than {MAX_SEGMENTS} segments")]
    TooManySegments,
    #[error(
        "no room for the {role:?} segment ({size} bytes, {align:#x}-aligned, within \
         {min:#x}..{max_end:#x}) in the free System RAM"
    )]
    NoRoom {
        role: SegmentRole,
        size: u64,
        align: u64,
        min: u64,
        max_end: u64,
    },
    #[error("alignment {0:#x} is not a power of two")]
    BadAlignment(u64),
    #[error("address arithmetic overflowed computing {0}")]
    Overflow(&'static str),
}

/// What a loader learned from the image, kept for `--dump` and the tests.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub(crate) enum Parsed {
    BzImage(super::loader::bzimage::BzImageInfo),
    Elf(super::loader::elf::ElfInfo),
    Multiboot(super::loader::multiboot::MultibootInfo),
}

/// A multiboot module as the image holds it: its bytes and its command line (the file's
/// name first, as GRUB and kexec-tools pass it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ModuleImage {
    pub bytes: Vec<u8>,
    pub cmdline: String,
}

#[derive(Debug)]
pub(crate) struct DomImage {
    /// The kernel's name as the user gave it (the first word of a multiboot kernel's
    /// command line, which Xen strips).
    pub kernel_name: String,
    pub kernel: Vec<u8>,
    /// All ramdisks joined (see `files::append_ramdisk`); empty for none.
    pub ramdisk: Vec<u8>,
    pub cmdline: String,
    /// Multiboot modules, in order (empty for Linux).
    pub modules: Vec<ModuleImage>,
    /// The target's memory map, sorted by address.
    pub memmap: Vec<MemRange>,
    /// The ACPI RSDP for `boot_params.acpi_rsdp_addr` or the PVH start info, when the
    /// running kernel shows it (`kexec::firmware`).
    pub acpi_rsdp_addr: Option<u64>,
    /// A fresh ACPI root (RSDP + XSDT) to write for the PVH start info instead of
    /// pointing at the firmware's (`kexec::acpi_copy`).
    pub acpi_rsdp_copy: Option<super::acpi_copy::AcpiRootCopy>,
    /// Enter a Linux kernel at its 32-bit entry (`--entry-32bit`) instead of the
    /// 64-bit one.
    pub entry_32bit: bool,
    pub segments: Vec<Segment>,
    /// Where `kexec_load` enters (the purgatory).
    pub entry: u64,
    /// What the purgatory sets up for the target.
    pub regs: EntryRegs,
    pub loader: Option<&'static str>,
    pub parsed: Option<Parsed>,
    /// The multiboot information as written, for `--dry-run` (multiboot kernels only).
    pub boot_info: Option<super::protocol::multiboot::MultibootBootInfo>,
    /// The PVH start info as written, for `--dry-run` (the `pvh` loader only).
    pub pvh_start_info: Option<super::protocol::pvh::PvhStartInfo>,
}

pub(crate) fn align_up(value: u64, align: u64) -> Result<u64, ImageError> {
    if !align.is_power_of_two() {
        return Err(ImageError::BadAlignment(align));
    }
    value
        .checked_add(align - 1)
        .map(|v| v & !(align - 1))
        .ok_or(ImageError::Overflow("an aligned size"))
}

fn align_down(value: u64, align: u64) -> u64 {
    value & !(align - 1)
}

/// The lowest or highest `align`-aligned address where `size` bytes fit inside one RAM
/// range of `memmap`, inside `min..max_end`, touching none of `taken`. Pure.
pub(crate) fn find_hole(
    memmap: &[MemRange],
    taken: &[Range<u64>],
    size: u64,
    placement: &Placement,
) -> Option<u64> {
    let align = placement.align;
    let mut candidates = Vec::new();
    for ram in memmap.iter().filter(|r| r.is_ram()) {
        let lo = ram.start.max(placement.min);
        let hi = ram.end.min(placement.max_end);
        if hi <= lo || hi - lo < size {
            continue;
        }
        // Free pieces of lo..hi once `taken` is cut out.
        let mut pieces = Vec::with_capacity(taken.len() + 1);
        pieces.push(lo..hi);
        for t in taken {
            pieces = pieces
                .into_iter()
                .flat_map(|p| {
                    if t.end <= p.start || t.start >= p.end {
                        vec![p]
                    } else {
                        [p.start..t.start, t.end..p.end]
                            .into_iter()
                            .filter(|q| q.end > q.start)
                            .collect()
                    }
                })
                .collect();
        }
        for piece in pieces {
            let first = piece
                .start
                .checked_add(align - 1)
                .map(|v| align_down(v, align));
            let Some(first) = first else { continue };
            let Some(first_end) = first.checked_add(size) else {
                continue;
            };
            if first_end > piece.end {
                continue;
            }
            let last = align_down(piece.end - size, align);
            candidates.push(if placement.top_down { last } else { first });
        }
    }
    if placement.top_down {
        candidates.into_iter().max()
    } else {
        candidates.into_iter().min()
    }
}

/// A segment to place: its role, its data (and the data's length) and the bytes it
/// must reserve at least.
#[derive(Debug)]
pub(crate) struct SegmentRequest {
    pub role: SegmentRole,
    pub data: SegmentData,
    pub data_bytes: u64,
    pub memsz_bytes: u64,
}

/// Where `request` goes in `memmap` beside the segments already `placed`: its
/// reservation is the larger of data and `memsz_bytes`, rounded up to a page. Pure:
/// loaders place their kernel segments with it, [`DomImage::place`] the rest.
pub(crate) fn place_segment(
    memmap: &[MemRange],
    placed: &[Segment],
    request: SegmentRequest,
    placement: Placement,
) -> Result<Segment, ImageError> {
    if placed.len() >= MAX_SEGMENTS {
        return Err(ImageError::TooManySegments);
    }
    let placement = Placement {
        align: placement.align.max(PAGE_BYTES),
        ..placement
    };
    if !placement.align.is_power_of_two() {
        return Err(ImageError::BadAlignment(placement.align));
    }
    let memsz = align_up(request.memsz_bytes.max(request.data_bytes), PAGE_BYTES)?;
    let taken: Vec<Range<u64>> = placed.iter().map(|s| s.mem..s.reserved_end()).collect();
    let mem = find_hole(memmap, &taken, memsz, &placement).ok_or(ImageError::NoRoom {
        role: request.role,
        size: memsz,
        align: placement.align,
        min: placement.min,
        max_end: placement.max_end,
    })?;
    Ok(Segment {
        role: request.role,
        data: request.data,
        mem,
        memsz,
        reserved: memsz,
    })
}

impl DomImage {
    pub(crate) fn new(
        kernel: Vec<u8>,
        ramdisk: Vec<u8>,
        cmdline: String,
        memmap: Vec<MemRange>,
    ) -> Self {
        DomImage {
            kernel_name: String::new(),
            kernel,
            ramdisk,
            cmdline,
            modules: Vec::new(),
            memmap,
            acpi_rsdp_addr: None,
            acpi_rsdp_copy: None,
            entry_32bit: false,
            segments: Vec::new(),
            entry: 0,
            regs: EntryRegs::default(),
            loader: None,
            parsed: None,
            boot_info: None,
            pvh_start_info: None,
        }
    }

    pub(crate) fn data_len(&self, data: &SegmentData) -> u64 {
        self.bytes(data).len() as u64
    }

    /// The bytes a segment's data names.
    pub(crate) fn bytes<'a>(&'a self, data: &'a SegmentData) -> &'a [u8] {
        match data {
            SegmentData::Owned(bytes) => bytes,
            SegmentData::Kernel(range) => self.kernel.get(range.clone()).unwrap_or(&[]),
            SegmentData::Ramdisk => &self.ramdisk,
            SegmentData::Module(n) => self.modules.get(*n).map_or(&[], |m| &m.bytes),
        }
    }

    /// Places a segment of `data` reserving at least `memsz_bytes` (rounded up to a
    /// page) and returns its index.
    pub(crate) fn place(
        &mut self,
        role: SegmentRole,
        data: SegmentData,
        memsz_bytes: u64,
        placement: Placement,
    ) -> Result<usize, ImageError> {
        let data_bytes = self.data_len(&data);
        let segment = place_segment(
            &self.memmap,
            &self.segments,
            SegmentRequest {
                role,
                data,
                data_bytes,
                memsz_bytes,
            },
            placement,
        )?;
        self.segments.push(segment);
        Ok(self.segments.len() - 1)
    }

    #[cfg(test)]
    pub(crate) fn segment(&self, role: SegmentRole) -> Option<&Segment> {
        self.segments.iter().find(|s| s.role == role)
    }
}

/// An address or size shown as `"0x…"` in JSON, as kexec-tools' `--debug` prints them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Hex(pub u64);

impl serde::Serialize for Hex {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&format!("{:#x}", self.0))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub(crate) struct SegmentPlan {
    pub role: SegmentRole,
    pub mem: Hex,
    pub memsz: Hex,
    /// Kept free of other segments from `mem` (`init_size` for a bzImage kernel).
    pub reserved: Hex,
    pub bufsz: Hex,
}

/// The entry registers as the plan shows them: the 64-bit ones as always, the 32-bit
/// ones under their own names with `"mode": "protected32"`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(untagged)]
pub(crate) enum RegsPlan {
    Long64 {
        rip: Hex,
        rsi: Hex,
        rsp: Hex,
    },
    Protected32 {
        mode: &'static str,
        eip: Hex,
        eax: Hex,
        ebx: Hex,
        esi: Hex,
        esp: Hex,
    },
}

impl RegsPlan {
    fn of(regs: &EntryRegs) -> RegsPlan {
        match regs.mode {
            EntryMode::Long64 => RegsPlan::Long64 {
                rip: Hex(regs.rip),
                rsi: Hex(regs.rsi),
                rsp: Hex(regs.rsp),
            },
            EntryMode::Protected32 => RegsPlan::Protected32 {
                mode: "protected32",
                eip: Hex(regs.rip),
                eax: Hex(u64::from(regs.eax)),
                ebx: Hex(u64::from(regs.ebx)),
                esi: Hex(regs.rsi),
                esp: Hex(regs.rsp),
            },
        }
    }
}

/// The image as `kboot kexec --dry-run` prints it and `--dump` writes it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub(crate) struct Plan {
    pub loader: Option<&'static str>,
    pub entry: Hex,
    pub regs: RegsPlan,
    pub cmdline: String,
    pub segments: Vec<SegmentPlan>,
    pub parsed: Option<Parsed>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub multiboot: Option<super::protocol::multiboot::MultibootBootInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pvh_start_info: Option<super::protocol::pvh::PvhStartInfo>,
}

impl DomImage {
    pub(crate) fn plan(&self) -> Plan {
        Plan {
            loader: self.loader,
            entry: Hex(self.entry),
            regs: RegsPlan::of(&self.regs),
            cmdline: self.cmdline.clone(),
            segments: self
                .segments
                .iter()
                .map(|s| SegmentPlan {
                    role: s.role,
                    mem: Hex(s.mem),
                    memsz: Hex(s.memsz),
                    reserved: Hex(s.reserved),
                    bufsz: Hex(self.data_len(&s.data)),
                })
                .collect(),
            parsed: self.parsed.clone(),
            multiboot: self.boot_info.clone(),
            pvh_start_info: self.pvh_start_info.clone(),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::single_range_in_vec_init)]
mod tests;
