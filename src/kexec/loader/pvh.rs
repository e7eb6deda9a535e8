//! The PVH loader (`--type pvh`): a Linux kernel booted through its Xen PVH entry
//! (`XEN_ELFNOTE_PHYS32_ENTRY`), as Xen's domain builder and QEMU's `-kernel` start a
//! PVH guest. The kernel file is an x86_64 ELF vmlinux or a bzImage, whose payload
//! carries the vmlinux (unpacked here: the PVH entry is in it, not in the
//! decompressor). Either way the vmlinux's PT_LOADs go at their physical addresses
//! (the ELF loader's `place_loads`) and the `pvh` boot protocol writes the start info.
//!
//! It is never picked by probing (`LOADERS`): on bare metal and in HVM guests a Linux
//! kernel boots through the Linux boot protocol, which also works with
//! `kexec_file_load`. It is taken by name: `kboot kexec --type pvh`, or by kboot's
//! /init when it runs in a Xen PVH guest, where the Linux 64-bit entry would bring the
//! next kernel up as an HVM guest without ACPI.

use crate::kexec::image::{Parsed, SegmentData};
use crate::kexec::memmap::MemRange;
use crate::kexec::protocol::pvh::PvhKernel;
use crate::kexec::protocol::KernelBoot;

use super::bzimage::{self, BzImageLoadError, BzImageLoader, VmlinuxError};
use super::elf::{self, ElfLoadError, ElfLoader};
use super::{KernelLayout, Loader, LoaderError};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum PvhLoadError {
    #[error(
        "the kernel has no PVH entry (no Xen ELF note XEN_ELFNOTE_PHYS32_ENTRY{inside}): \
         it was built without CONFIG_PVH; boot a kernel built with it, or boot this one \
         without the pvh type"
    )]
    NoPvhEntry {
        /// Where the notes were looked for, for the message.
        inside: &'static str,
    },
    #[error(transparent)]
    BzImage(#[from] BzImageLoadError),
    #[error(transparent)]
    Vmlinux(#[from] VmlinuxError),
    #[error(transparent)]
    Elf(#[from] ElfLoadError),
}

pub(crate) struct PvhLoader;

impl Loader for PvhLoader {
    fn name(&self) -> &'static str {
        "PVH"
    }

    /// A 64-bit ELF or a bzImage; whether it has a PVH entry is `layout`'s to say
    /// (a bzImage's notes are in its compressed payload).
    fn probe(&self, kernel: &[u8]) -> bool {
        ElfLoader.probe(kernel) || BzImageLoader.probe(kernel)
    }

    /// The vmlinux's ELF headers and Xen notes.
    fn describe(&self, kernel: &[u8]) -> Result<Parsed, LoaderError> {
        let vmlinux = unpacked_vmlinux(kernel)?;
        let elf_bytes = vmlinux.as_deref().unwrap_or(kernel);
        Ok(Parsed::Elf(elf::parse(elf_bytes)?))
    }

    fn layout(&self, kernel: &[u8], memmap: &[MemRange]) -> Result<KernelLayout, LoaderError> {
        Ok(layout(kernel, memmap)?)
    }
}

/// The vmlinux inside a bzImage, unpacked; `None` for an ELF (used as it is).
fn unpacked_vmlinux(kernel: &[u8]) -> Result<Option<Vec<u8>>, PvhLoadError> {
    if !BzImageLoader.probe(kernel) {
        return Ok(None);
    }
    let header = bzimage::parse(kernel)?;
    Ok(Some(bzimage::vmlinux(kernel, &header)?))
}

/// Places the vmlinux's PT_LOADs at their physical addresses; the kernel is entered at
/// its PVH entry.
pub(crate) fn layout(kernel: &[u8], memmap: &[MemRange]) -> Result<KernelLayout, PvhLoadError> {
    let vmlinux = unpacked_vmlinux(kernel)?;
    let elf_bytes = vmlinux.as_deref().unwrap_or(kernel);
    let info = elf::parse(elf_bytes)?;
    let entry = info.xen.phys32_entry.ok_or(PvhLoadError::NoPvhEntry {
        inside: if vmlinux.is_some() {
            " in the vmlinux inside the bzImage"
        } else {
            ""
        },
    })?;
    let mut segments = elf::place_loads(elf_bytes, &info.loads, memmap)?;
    // The segments name ranges of the kernel file; for a bzImage they are ranges of
    // the unpacked vmlinux, which the image does not hold: copy them.
    if let Some(vmlinux) = &vmlinux {
        for segment in &mut segments {
            if let SegmentData::Kernel(range) = &segment.data {
                let bytes = vmlinux.get(range.clone()).unwrap_or_default().to_vec();
                segment.data = SegmentData::Owned(bytes);
            }
        }
    }
    Ok(KernelLayout {
        segments,
        boot: KernelBoot::Pvh(PvhKernel { entry }),
        parsed: Parsed::Elf(info),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
