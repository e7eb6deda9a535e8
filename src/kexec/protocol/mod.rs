//! Boot protocols: how the next kernel is told about its memory, command line and
//! ramdisk or modules. One module per protocol; a new *boot protocol* goes here.
//!
//! A protocol takes a loader's [`KernelLayout`](super::loader::KernelLayout) (the
//! kernel's segments are placed already; [`KernelBoot`] carries what the protocol
//! needs from the image) and the entry's command line and ramdisk, held by the
//! `DomImage`. It places its own segments (boot parameters, ramdisk, modules), writes
//! the boot parameters, and returns the [`Handoff`]: the CPU state the purgatory
//! (added once, after the protocol, by `kexec/build.rs`) sets before it jumps.
//!
//! - `linux`: the Linux x86 boot protocol (Documentation/arch/x86/boot.rst): the zero
//!   page with the setup header, e820 map and ACPI RSDP, the command line, the ramdisk.
//! - `multiboot`: multiboot 1 and 2 (Xen): the modules (`DomImage::modules`, read as
//!   bytes by `files` from the `KexecPlan`'s `modules`), page-aligned, and the
//!   information structure, all between 1 MiB and 4 GiB; the kernel is entered by the
//!   [`Handoff::Protected32`] variant (`eip` the entry, `eax` the magic, `ebx` the
//!   information), which the purgatory's 32-bit exit carries out.
//! - `pvh`: Xen's PVH entry (`XEN_ELFNOTE_PHYS32_ENTRY`) of a Linux vmlinux: the
//!   ramdisk as module 0 and the `hvm_start_info` with the command line, memory map
//!   and ACPI RSDP, all below 4 GiB; entered as [`Handoff::Protected32`] with `ebx` =
//!   the start info.

pub(crate) mod linux;
pub(crate) mod multiboot;
pub(crate) mod pvh;

use super::image::DomImage;

/// The boot protocol a kernel speaks, with what the protocol needs from its image.
/// Loaders choose it; [`configure`] dispatches on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum KernelBoot {
    /// The Linux x86 64-bit boot protocol.
    Linux(linux::LinuxKernel),
    /// Multiboot 1 or 2 (the Xen hypervisor).
    Multiboot(multiboot::MultibootKernel),
    /// The PVH entry (a Linux vmlinux with `XEN_ELFNOTE_PHYS32_ENTRY`).
    Pvh(pvh::PvhKernel),
}

/// Where the purgatory jumps and the CPU state it hands over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Handoff {
    /// 64-bit long mode on the purgatory's identity map: `rip` the kernel's entry,
    /// `rsi` the boot parameters (the zero page for Linux).
    Long64 { rip: u64, rsi: u64 },
    /// 32-bit protected mode, paging off, flat segments (multiboot's machine state,
    /// Linux's 32-bit entry, PVH): `eip` the entry, then `eax`, `ebx` and `esi` as the
    /// protocol defines them (multiboot: magic and information; PVH: `ebx` = the
    /// start info; Linux 32-bit: `esi` = the zero page); other registers zero.
    Protected32 {
        eip: u32,
        eax: u32,
        ebx: u32,
        esi: u32,
    },
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum ProtocolError {
    #[error(transparent)]
    Linux(#[from] linux::LinuxBootError),
    #[error(transparent)]
    Multiboot(#[from] multiboot::MultibootBootError),
    #[error(transparent)]
    Pvh(#[from] pvh::PvhBootError),
}

/// Adds the boot parameters `boot` calls for to `image`, whose kernel segments are
/// placed.
pub(crate) fn configure(image: &mut DomImage, boot: &KernelBoot) -> Result<Handoff, ProtocolError> {
    match boot {
        KernelBoot::Linux(kernel) => Ok(linux::configure(image, kernel)?),
        KernelBoot::Multiboot(kernel) => Ok(multiboot::configure(image, kernel)?),
        KernelBoot::Pvh(kernel) => Ok(pvh::configure(image, kernel)?),
    }
}
