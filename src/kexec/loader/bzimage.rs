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

use crate::kexec::arch::x86_64::{purgatory, zero_page};
use crate::kexec::bzimage::{self as header, BzImageError};
use crate::kexec::image::{
    DomImage, ImageError, Parsed, Placement, SegmentData, SegmentRole, FOUR_GIB, LOW_LIMIT_BYTES,
    PAGE_BYTES,
};

use super::{Loader, LoaderError};

const INITRD_ADDR_MAX: usize = 0x22c;
const KERNEL_ALIGNMENT: usize = 0x230;
const RELOCATABLE_KERNEL: usize = 0x234;
const CMDLINE_SIZE: usize = 0x238;
const PREF_ADDRESS: usize = 0x258;
const INIT_SIZE: usize = 0x260;
/// The 64-bit entry point is this far into the protected-mode kernel.
pub const ENTRY_64_OFFSET: u64 = 0x200;
const XLF_CAN_BE_LOADED_ABOVE_4G: u16 = 1 << 1;

/// What the setup header says, beyond `bzimage::SetupHeader`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct BzImageInfo {
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
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BzImageLoadError {
    #[error(transparent)]
    Header(#[from] BzImageError),
    #[error("kernel_alignment {0:#x} is not a power of two")]
    BadAlignment(u32),
    #[error("the command line is {len} bytes; this kernel takes at most {max}")]
    CmdlineTooLong { len: usize, max: u32 },
    #[error(transparent)]
    Layout(#[from] ImageError),
    #[error(transparent)]
    ZeroPage(#[from] zero_page::ZeroPageError),
}

impl From<ImageError> for LoaderError {
    fn from(e: ImageError) -> Self {
        LoaderError::BzImage(e.into())
    }
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
pub fn parse(kernel: &[u8]) -> Result<BzImageInfo, BzImageLoadError> {
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
    })
}

pub struct BzImageLoader;

impl Loader for BzImageLoader {
    fn name(&self) -> &'static str {
        "bzImage"
    }

    fn probe(&self, kernel: &[u8]) -> bool {
        kernel.len() > 0x206 && &kernel[0x202..0x206] == b"HdrS"
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
    let kernel_addr = image.segments[kernel_index].mem;

    let ramdisk_bytes = image.ramdisk.len() as u64;
    let ramdisk_addr = if ramdisk_bytes == 0 {
        0
    } else {
        let max_end = if info.xloadflags & XLF_CAN_BE_LOADED_ABOVE_4G != 0 {
            u64::MAX
        } else {
            u64::from(info.initrd_addr_max) + 1
        };
        let index = image.place(
            SegmentRole::Ramdisk,
            SegmentData::Ramdisk,
            0,
            Placement {
                align: PAGE_BYTES,
                min: LOW_LIMIT_BYTES,
                max_end,
                top_down: true,
            },
        )?;
        image.segments[index].mem
    };

    // Zero page, then the NUL-terminated command line on the next page.
    let cmdline_offset = zero_page::ZERO_PAGE_BYTES;
    let boot_params_bytes = cmdline_offset + image.cmdline.len() + 1;
    let low = Placement {
        align: PAGE_BYTES,
        min: LOW_LIMIT_BYTES,
        max_end: FOUR_GIB,
        top_down: false,
    };
    let params_index = image.place(
        SegmentRole::BootParams,
        SegmentData::Owned(Vec::new()),
        boot_params_bytes as u64,
        low,
    )?;
    let params_addr = image.segments[params_index].mem;
    let cmdline_addr = params_addr + cmdline_offset as u64;
    let mut boot_params = zero_page::build(
        &image.kernel,
        &zero_page::ZeroPageFields {
            ramdisk_addr,
            ramdisk_bytes,
            cmdline_addr,
            memmap: &image.memmap,
        },
    )?;
    boot_params.extend_from_slice(image.cmdline.as_bytes());
    boot_params.push(0);
    image.segments[params_index].data = SegmentData::Owned(boot_params);

    // Purgatory: code, then its stack up to the end of the segment.
    let code_bytes = purgatory::blob().len() as u64;
    let purgatory_memsz = code_bytes
        .checked_add(purgatory::STACK_BYTES)
        .ok_or(ImageError::Overflow("the purgatory size"))?;
    let purgatory_index = image.place(
        SegmentRole::Purgatory,
        SegmentData::Owned(Vec::new()),
        purgatory_memsz,
        low,
    )?;
    let purgatory_seg = &image.segments[purgatory_index];
    let (purgatory_addr, purgatory_end) = (purgatory_seg.mem, purgatory_seg.end());
    image.regs.rip = kernel_addr + ENTRY_64_OFFSET;
    image.regs.rsi = params_addr;
    image.regs.rsp = purgatory_end;
    image.segments[purgatory_index].data = SegmentData::Owned(purgatory::patched(
        image.regs.rip,
        image.regs.rsi,
        image.regs.rsp,
    ));
    image.entry = purgatory_addr + purgatory::entry_offset();
    image.parsed = Some(Parsed::BzImage(info));
    Ok(())
}
