//! The PVH boot protocol (Xen's docs/misc/pvh.pandoc; the structures are
//! public/arch-x86/hvm/start_info.h): how a Xen domain builder, QEMU's `-kernel` and
//! now kboot start a kernel through its `XEN_ELFNOTE_PHYS32_ENTRY`. The kernel is
//! entered in 32-bit protected mode, paging off, flat segments, `EBX` = the physical
//! address of an `hvm_start_info` (version 1):
//!
//! ```text
//! hvm_start_info (56 bytes)       hvm_modlist_entry (32)   hvm_memmap_table_entry (24)
//!  0 magic 0x336ec578  u32         0 paddr          u64     0 addr      u64
//!  4 version 1         u32         8 size           u64     8 size      u64
//!  8 flags             u32        16 cmdline_paddr  u64    16 type      u32 (e820, 1..7)
//! 12 nr_modules        u32        24 reserved       u64    20 reserved  u32
//! 16 modlist_paddr     u64
//! 24 cmdline_paddr     u64
//! 32 rsdp_paddr        u64
//! 40 memmap_paddr      u64
//! 48 memmap_entries    u32
//! 52 reserved          u32
//! ```
//!
//! The ramdisk is the one module (Linux takes module 0 as its initrd, reading only its
//! address and size, into 32-bit fields), the memory map is the target's, the RSDP is
//! the one the running kernel booted with (a PVH guest has no BIOS area to scan). All of
//! it lies between 1 MiB and 4 GiB: the kernel reads it with paging off.

use serde::Serialize;

use crate::bytes::{put_le32, put_le64};
use crate::kexec::image::{
    DomImage, Hex, ImageError, SegmentData, SegmentRole, BELOW_4G_TOP_DOWN, FOUR_GIB,
};
use crate::kexec::memmap::MemRange;

use super::Handoff;

/// `hvm_start_info.magic` (`XEN_HVM_START_MAGIC_VALUE`).
pub(crate) const START_INFO_MAGIC: u32 = 0x336e_c578;
/// Version 1 adds the memory map to version 0's fields.
pub(crate) const START_INFO_VERSION: u32 = 1;
pub(crate) const START_INFO_BYTES: usize = 56;
pub(crate) const MODLIST_ENTRY_BYTES: usize = 32;
pub(crate) const MEMMAP_ENTRY_BYTES: usize = 24;
/// `XEN_HVM_MEMMAP_TYPE_*` go up to PMEM (7); other e820 types are given as reserved.
const MEMMAP_TYPE_MAX: u32 = 7;
const MEMMAP_TYPE_RESERVED: u32 = 2;

/// What the protocol needs from the loader: the PVH entry (physical, 32-bit).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PvhKernel {
    pub entry: u32,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum PvhBootError {
    #[error(transparent)]
    Layout(#[from] ImageError),
    #[error("the PVH start info would end at {end:#x}, above 4 GiB")]
    Above4G { end: u64 },
    #[error(
        "the command line holds a NUL byte at {offset}: the PVH start info passes it as a \
         C string; remove it"
    )]
    NulInCmdline { offset: usize },
}

/// A module as the start info lists it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub(crate) struct PvhModule {
    pub paddr: Hex,
    pub size: Hex,
    /// 0: no command line (the ramdisk has none).
    pub cmdline_paddr: Hex,
}

/// A memory map entry as the start info lists it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub(crate) struct PvhMemmapEntry {
    pub addr: Hex,
    pub size: Hex,
    #[serde(rename = "type")]
    pub memmap_type: u32,
}

/// The start info's contents, for `--dry-run`, `-d` and the tests; the counts are the
/// lists' lengths.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct PvhStartInfo {
    pub entry: Hex,
    /// `EBX`: where the `hvm_start_info` is.
    pub start_info_paddr: Hex,
    pub magic: Hex,
    pub version: u32,
    pub flags: u32,
    pub modlist_paddr: Hex,
    pub cmdline_paddr: Hex,
    pub rsdp_paddr: Hex,
    /// When `rsdp_paddr` is kboot's copy in this block: the firmware's RSDP it stands for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rsdp_copy_of: Option<Hex>,
    pub memmap_paddr: Hex,
    pub cmdline: String,
    pub modules: Vec<PvhModule>,
    pub memmap: Vec<PvhMemmapEntry>,
}

/// Where the parts go in the start info block: the structure, the module list, the
/// memory map, the NUL-terminated command line, then (16-aligned, as the RSDP must be)
/// kboot's RSDP copy when there is one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BlockLayout {
    pub modlist_at: usize,
    pub memmap_at: usize,
    pub cmdline_at: usize,
    pub rsdp_at: usize,
    pub total: usize,
}

pub(crate) fn block_layout(
    modules: usize,
    memmap_entries: usize,
    cmdline_len: usize,
    rsdp_len: usize,
) -> BlockLayout {
    let modlist_at = START_INFO_BYTES;
    let memmap_at = modlist_at + modules * MODLIST_ENTRY_BYTES;
    let cmdline_at = memmap_at + memmap_entries * MEMMAP_ENTRY_BYTES;
    let rsdp_at = (cmdline_at + cmdline_len + 1).next_multiple_of(RSDP_ALIGN);
    BlockLayout {
        modlist_at,
        memmap_at,
        cmdline_at,
        rsdp_at,
        total: if rsdp_len == 0 {
            cmdline_at + cmdline_len + 1
        } else {
            rsdp_at + rsdp_len
        },
    }
}

/// ACPI: the RSDP sits on a 16-byte boundary.
const RSDP_ALIGN: usize = 16;

/// The start info block for `info` laid out as `layout` says (its addresses are
/// physical ones the caller computed from the block's base), with `rsdp` (empty: none)
/// at `layout.rsdp_at`. Pure.
pub(crate) fn block(info: &PvhStartInfo, layout: &BlockLayout, rsdp: &[u8]) -> Vec<u8> {
    let mut b = vec![0u8; layout.total];
    if !rsdp.is_empty() {
        b[layout.rsdp_at..layout.rsdp_at + rsdp.len()].copy_from_slice(rsdp);
    }
    put_le32(&mut b, 0, info.magic.0 as u32);
    put_le32(&mut b, 4, info.version);
    put_le32(&mut b, 8, info.flags);
    put_le32(&mut b, 12, info.modules.len() as u32);
    put_le64(&mut b, 16, info.modlist_paddr.0);
    put_le64(&mut b, 24, info.cmdline_paddr.0);
    put_le64(&mut b, 32, info.rsdp_paddr.0);
    put_le64(&mut b, 40, info.memmap_paddr.0);
    put_le32(&mut b, 48, info.memmap.len() as u32);
    for (i, module) in info.modules.iter().enumerate() {
        let at = layout.modlist_at + i * MODLIST_ENTRY_BYTES;
        put_le64(&mut b, at, module.paddr.0);
        put_le64(&mut b, at + 8, module.size.0);
        put_le64(&mut b, at + 16, module.cmdline_paddr.0);
    }
    for (i, entry) in info.memmap.iter().enumerate() {
        let at = layout.memmap_at + i * MEMMAP_ENTRY_BYTES;
        put_le64(&mut b, at, entry.addr.0);
        put_le64(&mut b, at + 8, entry.size.0);
        put_le32(&mut b, at + 16, entry.memmap_type);
    }
    let cmdline = info.cmdline.as_bytes();
    b[layout.cmdline_at..layout.cmdline_at + cmdline.len()].copy_from_slice(cmdline);
    b
}

pub(crate) fn memmap_entry(range: &MemRange) -> PvhMemmapEntry {
    PvhMemmapEntry {
        addr: Hex(range.start),
        size: Hex(range.size_bytes()),
        memmap_type: if (1..=MEMMAP_TYPE_MAX).contains(&range.e820_type) {
            range.e820_type
        } else {
            MEMMAP_TYPE_RESERVED
        },
    }
}

/// Places the ramdisk (as module 0) and the start info block, and says how to enter.
pub(crate) fn configure(image: &mut DomImage, kernel: &PvhKernel) -> Result<Handoff, PvhBootError> {
    if let Some(offset) = image.cmdline.bytes().position(|b| b == 0) {
        return Err(PvhBootError::NulInCmdline { offset });
    }
    let mut modules = Vec::new();
    if !image.ramdisk.is_empty() {
        let index = image.place(
            SegmentRole::Ramdisk,
            SegmentData::Ramdisk,
            0,
            BELOW_4G_TOP_DOWN,
        )?;
        modules.push(PvhModule {
            paddr: Hex(image.segments[index].mem),
            size: Hex(image.ramdisk.len() as u64),
            cmdline_paddr: Hex(0),
        });
    }
    let memmap: Vec<PvhMemmapEntry> = image.memmap.iter().map(memmap_entry).collect();
    let rsdp_len = image.acpi_rsdp_copy.as_ref().map_or(0, |copy| copy.len());
    let layout = block_layout(modules.len(), memmap.len(), image.cmdline.len(), rsdp_len);
    let index = image.place(
        SegmentRole::BootParams,
        SegmentData::Owned(Vec::new()),
        layout.total as u64,
        BELOW_4G_TOP_DOWN,
    )?;
    let base = image.segments[index].mem;
    let end = base + layout.total as u64;
    let ebx = u32::try_from(base)
        .ok()
        .filter(|_| end <= FOUR_GIB)
        .ok_or(PvhBootError::Above4G { end })?;
    let at = |offset: usize| Hex(base + offset as u64);
    let rsdp = image
        .acpi_rsdp_copy
        .as_ref()
        .map(|copy| copy.bytes(base + layout.rsdp_at as u64))
        .unwrap_or_default();
    let info = PvhStartInfo {
        entry: Hex(u64::from(kernel.entry)),
        start_info_paddr: Hex(base),
        magic: Hex(u64::from(START_INFO_MAGIC)),
        version: START_INFO_VERSION,
        flags: 0,
        modlist_paddr: if modules.is_empty() {
            Hex(0)
        } else {
            at(layout.modlist_at)
        },
        cmdline_paddr: at(layout.cmdline_at),
        rsdp_paddr: if rsdp.is_empty() {
            Hex(image.acpi_rsdp_addr.unwrap_or(0))
        } else {
            at(layout.rsdp_at)
        },
        rsdp_copy_of: image.acpi_rsdp_addr.filter(|_| !rsdp.is_empty()).map(Hex),
        memmap_paddr: at(layout.memmap_at),
        cmdline: image.cmdline.clone(),
        modules,
        memmap,
    };
    image.segments[index].data = SegmentData::Owned(block(&info, &layout, &rsdp));
    image.pvh_start_info = Some(info);
    Ok(Handoff::Protected32 {
        eip: kernel.entry,
        eax: 0,
        ebx,
        esi: 0,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
