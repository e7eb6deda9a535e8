//! What every Linux x86_64 image needs once its kernel segments are placed, whatever
//! the format (bzImage, ELF vmlinux): the ramdisk, the zero page with the command
//! line, and the purgatory that enters the kernel through the 64-bit boot protocol
//! with `rsi` = zero page.

use crate::kexec::arch::x86_64::{purgatory, zero_page};
use crate::kexec::image::{
    DomImage, ImageError, Placement, SegmentData, SegmentRole, FOUR_GIB, LOW_LIMIT_BYTES,
    PAGE_BYTES,
};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum BootSetupError {
    #[error(transparent)]
    Layout(#[from] ImageError),
    #[error(transparent)]
    ZeroPage(#[from] zero_page::ZeroPageError),
    #[error(transparent)]
    Purgatory(#[from] purgatory::PurgatoryError),
}

/// Places the ramdisk (top-down, ending at or below `ramdisk_max_end`), the zero page
/// built from `header_bytes` (a bzImage's first bytes, or a synthesised header) with
/// the command line on the page after it, and the purgatory that jumps to `rip`.
pub(crate) fn place_boot(
    image: &mut DomImage,
    header_bytes: &[u8],
    rip: u64,
    ramdisk_max_end: u64,
) -> Result<(), BootSetupError> {
    let ramdisk_bytes = image.ramdisk.len() as u64;
    let ramdisk_addr = if ramdisk_bytes == 0 {
        0
    } else {
        let index = image.place(
            SegmentRole::Ramdisk,
            SegmentData::Ramdisk,
            0,
            Placement {
                align: PAGE_BYTES,
                min: LOW_LIMIT_BYTES,
                max_end: ramdisk_max_end,
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
        header_bytes,
        &zero_page::ZeroPageFields {
            ramdisk_addr,
            ramdisk_bytes,
            cmdline_addr,
            memmap: &image.memmap,
            acpi_rsdp_addr: image.acpi_rsdp_addr.unwrap_or(0),
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
    image.regs.rip = rip;
    image.regs.rsi = params_addr;
    image.regs.rsp = purgatory_end;
    // Everything but the purgatory itself, data only: hashing the kernel's zero fill
    // (init_size is ~4x the file) would cost seconds under emulation.
    let check = purgatory::check_for(
        image
            .segments
            .iter()
            .filter(|s| s.role != SegmentRole::Purgatory)
            .map(|s| (s.mem, image.bytes(&s.data))),
    );
    image.segments[purgatory_index].data = SegmentData::Owned(purgatory::patched(
        image.regs.rip,
        image.regs.rsi,
        image.regs.rsp,
        &check,
    )?);
    image.entry = purgatory_addr + purgatory::entry_offset();
    Ok(())
}
