//! The multiboot boot protocols (GNU Multiboot Specification 0.6.96 "Boot information
//! format"; Multiboot2 Specification 2.0 "Boot information format"): the modules,
//! each page-aligned, and the boot information the kernel finds in `EBX`, all between
//! 1 MiB and 4 GiB (the kernel starts with paging off; the first MiB is the
//! firmware's: Xen reads the BIOS data area and puts its early stack at 0x1000).
//!
//! What is given is what Xen reads on a BIOS boot, through either version: the memory
//! limits (`mem_lower`: RAM from 0 up to 640 KiB; `mem_upper`: contiguous RAM from
//! 1 MiB, both in KiB), the memory map (e820 types as multiboot's: RAM 1, reserved 2,
//! ACPI 3, NVS 4, bad 5; others reserved), the command line (the kernel's name first:
//! Xen drops the first word unless the loader's name starts with "GRUB"), the modules
//! with their command lines (name first too) and the loader's name, "kboot".
//! The kernel is entered in 32-bit protected mode with `EAX` = the version's magic.

use serde::Serialize;

use crate::bytes::{put_le32, put_le64};
use crate::kexec::image::{
    DomImage, Hex, ImageError, SegmentData, SegmentRole, BELOW_4G_TOP_DOWN, FOUR_GIB,
    LOW_LIMIT_BYTES,
};
use crate::kexec::memmap::{MemRange, E820_ACPI, E820_NVS, E820_RAM, E820_UNUSABLE};

use super::Handoff;

/// `EAX` at a multiboot 1 entry.
pub(crate) const MB1_BOOT_MAGIC: u32 = 0x2BAD_B002;
/// `EAX` at a multiboot 2 entry.
pub(crate) const MB2_BOOT_MAGIC: u32 = 0x36D7_6289;
pub(crate) const LOADER_NAME: &str = "kboot";

/// Multiboot 1 information flags.
pub(crate) const MBI_MEMORY: u32 = 1 << 0;
pub(crate) const MBI_CMDLINE: u32 = 1 << 2;
pub(crate) const MBI_MODS: u32 = 1 << 3;
pub(crate) const MBI_MMAP: u32 = 1 << 6;
pub(crate) const MBI_LOADER_NAME: u32 = 1 << 9;
/// The multiboot 1 information structure up to and with `boot_loader_name` (at 64),
/// rounded up; the fields after it (APM, VBE, framebuffer) stay zero.
const MBI1_BYTES: usize = 0x80;
const MB1_MMAP_ENTRY_BYTES: usize = 24;
const MB1_MODULE_BYTES: usize = 16;
const MB2_MMAP_ENTRY_BYTES: u32 = 24;

/// Conventional memory ends here: `mem_lower` counts RAM below it.
const LOW_MEMORY_END: u64 = 0xA_0000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub(crate) enum MultibootVersion {
    V1,
    V2,
}

impl MultibootVersion {
    pub(crate) fn number(self) -> u8 {
        match self {
            MultibootVersion::V1 => 1,
            MultibootVersion::V2 => 2,
        }
    }
}

/// What the protocol needs from the loader: the header version booted by, the entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MultibootKernel {
    pub version: MultibootVersion,
    pub entry: u32,
    /// Add `no-real-mode` to the kernel's command line unless it is there: the kernel
    /// knows the option (Xen), and after a kexec the BIOS cannot be called in real
    /// mode (the running kernel owns the interrupt controllers and devices the BIOS
    /// would use): Xen's early e820, EDD and video calls hang there, before its first
    /// console line. What a BIOS call would tell, kboot gives in the information.
    pub no_real_mode: bool,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum MultibootBootError {
    #[error(transparent)]
    Layout(#[from] ImageError),
    #[error("the multiboot information would end at {end:#x}, above 4 GiB")]
    Above4G { end: u64 },
}

/// A module as the information lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct ModuleEntry {
    pub start: Hex,
    /// Exclusive.
    pub end: Hex,
    pub cmdline: String,
}

/// A memory map entry as the information lists it (multiboot types).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub(crate) struct MmapEntry {
    pub base: Hex,
    pub length: Hex,
    #[serde(rename = "type")]
    pub mb_type: u32,
}

/// The boot information's contents, for `--dry-run`, `-d` and the tests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct MultibootBootInfo {
    pub version: u8,
    pub entry: Hex,
    /// `EAX`.
    pub magic: Hex,
    /// `EBX`: where the information structure is.
    pub info_addr: Hex,
    pub mem_lower_kib: u32,
    pub mem_upper_kib: u32,
    pub cmdline: String,
    /// Words kboot added to the entry's command line (`no-real-mode`), for the boot log.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cmdline_added: Vec<&'static str>,
    pub loader_name: &'static str,
    pub modules: Vec<ModuleEntry>,
    pub mmap: Vec<MmapEntry>,
}

/// The kernel's command line in the information: its name, then the entry's words,
/// then `no-real-mode` when it should get it and has not; and the words added.
fn kernel_cmdline(image: &DomImage, no_real_mode: bool) -> (String, Vec<&'static str>) {
    let mut cmdline = image.kernel_name.clone();
    if !image.cmdline.is_empty() {
        cmdline.push(' ');
        cmdline.push_str(&image.cmdline);
    }
    let mut added = Vec::new();
    if no_real_mode
        && !image
            .cmdline
            .split_whitespace()
            .any(|w| w == "no-real-mode")
    {
        cmdline.push_str(" no-real-mode");
        added.push("no-real-mode");
    }
    (cmdline, added)
}

/// Places the modules and the information structure and says how to enter.
pub(crate) fn configure(
    image: &mut DomImage,
    kernel: &MultibootKernel,
) -> Result<Handoff, MultibootBootError> {
    let mut modules = Vec::with_capacity(image.modules.len());
    for n in 0..image.modules.len() {
        // An empty module still gets a page, so every module has its own address.
        let index = image.place(
            SegmentRole::Module,
            SegmentData::Module(n),
            1,
            BELOW_4G_TOP_DOWN,
        )?;
        let start = image.segments[index].mem;
        modules.push(ModuleEntry {
            start: Hex(start),
            end: Hex(start + image.modules[n].bytes.len() as u64),
            cmdline: image.modules[n].cmdline.clone(),
        });
    }
    let (cmdline, cmdline_added) = kernel_cmdline(image, kernel.no_real_mode);
    let (mem_lower_kib, mem_upper_kib) = memory_limits_kib(&image.memmap);
    let mut info = MultibootBootInfo {
        version: kernel.version.number(),
        entry: Hex(u64::from(kernel.entry)),
        magic: Hex(u64::from(match kernel.version {
            MultibootVersion::V1 => MB1_BOOT_MAGIC,
            MultibootVersion::V2 => MB2_BOOT_MAGIC,
        })),
        info_addr: Hex(0),
        mem_lower_kib,
        mem_upper_kib,
        cmdline,
        cmdline_added,
        loader_name: LOADER_NAME,
        modules,
        mmap: image.memmap.iter().map(mmap_entry).collect(),
    };
    let info_bytes = match kernel.version {
        MultibootVersion::V1 => mbi1_bytes(&info),
        MultibootVersion::V2 => mbi2(&info).len(),
    };
    let index = image.place(
        SegmentRole::BootParams,
        SegmentData::Owned(Vec::new()),
        info_bytes as u64,
        BELOW_4G_TOP_DOWN,
    )?;
    let info_addr = image.segments[index].mem;
    let end = info_addr + info_bytes as u64;
    let ebx = u32::try_from(info_addr)
        .ok()
        .filter(|_| end <= FOUR_GIB)
        .ok_or(MultibootBootError::Above4G { end })?;
    info.info_addr = Hex(info_addr);
    image.segments[index].data = SegmentData::Owned(match kernel.version {
        MultibootVersion::V1 => mbi1(&info, ebx),
        MultibootVersion::V2 => mbi2(&info),
    });
    let eax = info.magic.0 as u32;
    image.boot_info = Some(info);
    Ok(Handoff::Protected32 {
        eip: kernel.entry,
        eax,
        ebx,
        esi: 0,
    })
}

/// `mem_lower` (RAM from address 0, up to 640 KiB) and `mem_upper` (RAM from 1 MiB
/// up to the first hole), in KiB.
pub(crate) fn memory_limits_kib(memmap: &[MemRange]) -> (u32, u32) {
    let kib = |bytes: u64| u32::try_from(bytes / 1024).unwrap_or(u32::MAX);
    let ram = || memmap.iter().filter(|r| r.is_ram());
    let lower = ram()
        .find(|r| r.start == 0)
        .map_or(0, |r| r.end.min(LOW_MEMORY_END));
    let mut upper_end = LOW_LIMIT_BYTES;
    while let Some(next) = ram().find(|r| r.start <= upper_end && r.end > upper_end) {
        upper_end = next.end;
    }
    (kib(lower), kib(upper_end - LOW_LIMIT_BYTES))
}

fn mmap_entry(range: &MemRange) -> MmapEntry {
    MmapEntry {
        base: Hex(range.start),
        length: Hex(range.size_bytes()),
        mb_type: match range.e820_type {
            E820_RAM => 1,
            E820_ACPI => 3,
            E820_NVS => 4,
            E820_UNUSABLE => 5,
            _ => 2,
        },
    }
}

/// Multiboot 1's layout: the structure, the memory map, the module list, then the
/// NUL-terminated strings (command line, loader name, module command lines).
struct Mbi1Layout {
    mmap_at: usize,
    mods_at: usize,
    strings_at: usize,
    total: usize,
}

fn mbi1_layout(info: &MultibootBootInfo) -> Mbi1Layout {
    let mmap_at = MBI1_BYTES;
    let mods_at = mmap_at + info.mmap.len() * MB1_MMAP_ENTRY_BYTES;
    let strings_at = mods_at + info.modules.len() * MB1_MODULE_BYTES;
    let strings: usize = [info.cmdline.len(), info.loader_name.len()]
        .into_iter()
        .chain(info.modules.iter().map(|m| m.cmdline.len()))
        .map(|len| len + 1)
        .sum();
    Mbi1Layout {
        mmap_at,
        mods_at,
        strings_at,
        total: strings_at + strings,
    }
}

fn mbi1_bytes(info: &MultibootBootInfo) -> usize {
    mbi1_layout(info).total
}

/// The multiboot 1 information for `info`, to be placed at `base` (its pointers are
/// physical addresses). Pure.
pub(crate) fn mbi1(info: &MultibootBootInfo, base: u32) -> Vec<u8> {
    let layout = mbi1_layout(info);
    let mut b = vec![0u8; layout.total];
    // Offsets stay far below 4 GiB: the segment was placed to end below it.
    let addr = |offset: usize| base.wrapping_add(offset as u32);
    let mut strings_at = layout.strings_at;
    let mut put_string = |b: &mut Vec<u8>, s: &str| {
        let at = strings_at;
        b[at..at + s.len()].copy_from_slice(s.as_bytes());
        strings_at += s.len() + 1;
        addr(at)
    };
    put_le32(
        &mut b,
        0,
        MBI_MEMORY | MBI_CMDLINE | MBI_MODS | MBI_MMAP | MBI_LOADER_NAME,
    );
    put_le32(&mut b, 4, info.mem_lower_kib);
    put_le32(&mut b, 8, info.mem_upper_kib);
    let cmdline = put_string(&mut b, &info.cmdline);
    put_le32(&mut b, 16, cmdline);
    put_le32(&mut b, 20, info.modules.len() as u32);
    put_le32(&mut b, 24, addr(layout.mods_at));
    put_le32(&mut b, 44, (info.mmap.len() * MB1_MMAP_ENTRY_BYTES) as u32);
    put_le32(&mut b, 48, addr(layout.mmap_at));
    let loader_name = put_string(&mut b, info.loader_name);
    put_le32(&mut b, 64, loader_name);
    for (i, entry) in info.mmap.iter().enumerate() {
        let at = layout.mmap_at + i * MB1_MMAP_ENTRY_BYTES;
        // `size` counts the entry after itself.
        put_le32(&mut b, at, (MB1_MMAP_ENTRY_BYTES - 4) as u32);
        put_le64(&mut b, at + 4, entry.base.0);
        put_le64(&mut b, at + 12, entry.length.0);
        put_le32(&mut b, at + 20, entry.mb_type);
    }
    for (i, module) in info.modules.iter().enumerate() {
        let at = layout.mods_at + i * MB1_MODULE_BYTES;
        put_le32(&mut b, at, module.start.0 as u32);
        put_le32(&mut b, at + 4, module.end.0 as u32);
        let cmdline = put_string(&mut b, &module.cmdline);
        put_le32(&mut b, at + 8, cmdline);
    }
    b
}

/// Appends a multiboot 2 information tag (type, size, body), padded to 8 bytes.
fn push_tag(b: &mut Vec<u8>, tag_type: u32, body: &[u8]) {
    b.extend_from_slice(&tag_type.to_le_bytes());
    b.extend_from_slice(&(8 + body.len() as u32).to_le_bytes());
    b.extend_from_slice(body);
    b.resize(b.len().next_multiple_of(8), 0);
}

fn c_string(s: &str) -> Vec<u8> {
    let mut bytes = s.as_bytes().to_vec();
    bytes.push(0);
    bytes
}

/// The multiboot 2 information for `info`: `total_size`, reserved, then the tags
/// (command line 1, loader name 2, modules 3, basic memory 4, memory map 6, end 0).
/// Position-independent: no tag holds a pointer into it. Pure.
pub(crate) fn mbi2(info: &MultibootBootInfo) -> Vec<u8> {
    let mut b = vec![0u8; 8];
    push_tag(&mut b, 1, &c_string(&info.cmdline));
    push_tag(&mut b, 2, &c_string(info.loader_name));
    for module in &info.modules {
        let mut body = Vec::with_capacity(8 + module.cmdline.len() + 1);
        body.extend_from_slice(&(module.start.0 as u32).to_le_bytes());
        body.extend_from_slice(&(module.end.0 as u32).to_le_bytes());
        body.extend_from_slice(&c_string(&module.cmdline));
        push_tag(&mut b, 3, &body);
    }
    let mut meminfo = info.mem_lower_kib.to_le_bytes().to_vec();
    meminfo.extend_from_slice(&info.mem_upper_kib.to_le_bytes());
    push_tag(&mut b, 4, &meminfo);
    let mut mmap = MB2_MMAP_ENTRY_BYTES.to_le_bytes().to_vec();
    mmap.extend_from_slice(&0u32.to_le_bytes()); // entry_version
    for entry in &info.mmap {
        mmap.extend_from_slice(&entry.base.0.to_le_bytes());
        mmap.extend_from_slice(&entry.length.0.to_le_bytes());
        mmap.extend_from_slice(&entry.mb_type.to_le_bytes());
        mmap.extend_from_slice(&0u32.to_le_bytes());
    }
    push_tag(&mut b, 6, &mmap);
    push_tag(&mut b, 0, &[]);
    let total = b.len() as u32;
    put_le32(&mut b, 0, total);
    b
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
