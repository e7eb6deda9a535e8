//! The Linux x86 64-bit boot protocol (Documentation/arch/x86/boot.rst), whatever the
//! kernel's format (bzImage, ELF vmlinux): the ramdisk, the zero page (`boot_params`:
//! a copy of the setup header, ramdisk, command line pointer, e820 map, ACPI RSDP; its
//! bytes are `arch/x86_64/zero_page.rs`) with the command line on the page after it.
//! The kernel is entered at its 64-bit entry with `rsi` = zero page, or, when the
//! image asks for it (`kboot kexec --entry-32bit`, kexec-tools' option of that name),
//! a bzImage at its 32-bit entry (`startup_32`, the protected-mode kernel's load
//! address; the "32-bit boot protocol": flat `__BOOT_CS` 0x10 / `__BOOT_DS` 0x18,
//! paging off, `esi` = zero page, `ebx`, `ebp`, `edi` zero), with the zero page and
//! ramdisk below 4 GiB.

use crate::kexec::arch::x86_64::zero_page;
use crate::kexec::image::{
    DomImage, ImageError, Placement, SegmentData, SegmentRole, BELOW_4G, FOUR_GIB, LOW_LIMIT_BYTES,
    PAGE_BYTES,
};

use super::Handoff;

/// What the protocol needs from the kernel's image, as its loader read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LinuxKernel {
    /// The placed kernel's 64-bit entry point (physical).
    pub entry_64: u64,
    /// Its 32-bit entry (physical), when the format has one kboot can use: a
    /// bzImage's protected-mode kernel starts with `startup_32`. None for an ELF
    /// vmlinux, whose 32-bit entry wants a zero page set up by the real-mode code.
    pub entry_32: Option<u64>,
    /// The file's first bytes with the setup header at 0x1f1 (a bzImage's own, or one
    /// synthesised for a vmlinux), copied into the zero page.
    pub setup_header: Vec<u8>,
    /// The longest command line the kernel takes (`cmdline_size`), when it says.
    pub cmdline_max_bytes: Option<u32>,
    /// The ramdisk must end at or below this address.
    pub ramdisk_max_end: u64,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum LinuxBootError {
    #[error("the command line is {len} bytes; this kernel takes at most {max}")]
    CmdlineTooLong { len: usize, max: u32 },
    #[error(transparent)]
    Layout(#[from] ImageError),
    #[error(transparent)]
    ZeroPage(#[from] zero_page::ZeroPageError),
    #[error(
        "this kernel has no 32-bit entry kboot can use (only a bzImage's is): boot it \
         without --entry-32bit"
    )]
    No32BitEntry,
    #[error("the kernel's 32-bit entry {entry:#x} is above 4 GiB")]
    Entry32Above4G { entry: u64 },
}

/// Places the ramdisk (top-down, ending at or below `ramdisk_max_end`) and the zero
/// page built from the setup header with the command line on the page after it.
pub(crate) fn configure(
    image: &mut DomImage,
    kernel: &LinuxKernel,
) -> Result<Handoff, LinuxBootError> {
    if let Some(max) = kernel.cmdline_max_bytes {
        if image.cmdline.len() > max as usize {
            return Err(LinuxBootError::CmdlineTooLong {
                len: image.cmdline.len(),
                max,
            });
        }
    }
    let entry_32 = if image.entry_32bit {
        let entry = kernel.entry_32.ok_or(LinuxBootError::No32BitEntry)?;
        Some(u32::try_from(entry).map_err(|_| LinuxBootError::Entry32Above4G { entry })?)
    } else {
        None
    };
    // Entered in 32-bit mode, the kernel gets the ramdisk where 32-bit code reaches it.
    let ramdisk_max_end = match entry_32 {
        Some(_) => kernel.ramdisk_max_end.min(FOUR_GIB),
        None => kernel.ramdisk_max_end,
    };
    let ramdisk_addr = place_ramdisk(image, ramdisk_max_end)?;

    // Zero page, then the NUL-terminated command line on the next page.
    let cmdline_offset = zero_page::ZERO_PAGE_BYTES;
    let boot_params_bytes = cmdline_offset + image.cmdline.len() + 1;
    let params_index = image.place(
        SegmentRole::BootParams,
        SegmentData::Owned(Vec::new()),
        boot_params_bytes as u64,
        BELOW_4G,
    )?;
    let params_addr = image.segments[params_index].mem;
    let mut boot_params = zero_page::build(
        &kernel.setup_header,
        &zero_page::ZeroPageFields {
            ramdisk_addr,
            ramdisk_bytes: image.ramdisk.len() as u64,
            cmdline_addr: params_addr + cmdline_offset as u64,
            memmap: &image.memmap,
            acpi_rsdp_addr: image.acpi_rsdp_addr.unwrap_or(0),
        },
    )?;
    boot_params.extend_from_slice(image.cmdline.as_bytes());
    boot_params.push(0);
    image.segments[params_index].data = SegmentData::Owned(boot_params);
    Ok(match entry_32 {
        // Placed with BELOW_4G: the zero page's address fits.
        Some(eip) => Handoff::Protected32 {
            eip,
            eax: 0,
            ebx: 0,
            esi: u32::try_from(params_addr).map_err(|_| ImageError::Overflow("esi"))?,
        },
        None => Handoff::Long64 {
            rip: kernel.entry_64,
            rsi: params_addr,
        },
    })
}

/// Places the ramdisk, if any, as high as it may go; its address, or 0 for none.
fn place_ramdisk(image: &mut DomImage, ramdisk_max_end: u64) -> Result<u64, ImageError> {
    if image.ramdisk.is_empty() {
        return Ok(0);
    }
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
    Ok(image.segments[index].mem)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
