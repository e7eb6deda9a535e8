//! kboot's own image builder for `kexec_load`, in three steps, each in one place:
//!
//! 1. the loader lays the kernel out (`loader/`): the first whose probe takes it, or
//!    the one a kexec-tools `--type` names;
//! 2. the boot protocol it speaks places and writes the boot parameters (`protocol/`);
//! 3. the purgatory is added last, once for every format and protocol: it checks the
//!    other segments and enters the kernel as the protocol's [`Handoff`] says.
//!
//! Pure: the `DomImage` holds the bytes (kernel, ramdisk, command line) and the
//! memory map; reading them from files and `/sys` is `kexec::build_image`'s.

use super::arch::x86_64::purgatory;
use super::image::{
    DomImage, EntryMode, EntryRegs, ImageError, SegmentData, SegmentRole, BELOW_4G, FOUR_GIB,
};
use super::loader::{self, LoaderError};
use super::protocol::{self, Handoff, ProtocolError};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum BuildError {
    #[error(transparent)]
    Loader(#[from] LoaderError),
    #[error(transparent)]
    Protocol(#[from] ProtocolError),
    #[error(transparent)]
    Layout(#[from] ImageError),
    #[error(transparent)]
    Purgatory(#[from] purgatory::PurgatoryError),
    #[error(
        "the {role} segment ends at {end:#x}, above 4 GiB: a kernel entered in 32-bit \
         mode reaches only the first 4 GiB"
    )]
    Above4G { role: SegmentRole, end: u64 },
}

/// Lays out `image` (made with `DomImage::new`: nothing placed yet): its segments,
/// entry and registers, the loader's name and what it parsed.
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) fn build(image: &mut DomImage) -> Result<(), BuildError> {
    build_as(image, None)
}

/// [`build`] with the loader `loader_type` (a kexec-tools `--type` name) names, if any.
pub(crate) fn build_as(image: &mut DomImage, loader_type: Option<&str>) -> Result<(), BuildError> {
    let handoff = lay_out(image, loader_type)?;
    add_purgatory(image, handoff)
}

/// Steps 1 and 2: the kernel's segments and the boot protocol's, without the purgatory;
/// returns how the purgatory is to enter the kernel.
pub(crate) fn lay_out(
    image: &mut DomImage,
    loader_type: Option<&str>,
) -> Result<Handoff, BuildError> {
    let loader = loader::choose(&image.kernel, loader_type)?;
    let layout = loader.layout(&image.kernel, &image.memmap)?;
    image.segments = layout.segments;
    let handoff = protocol::configure(image, &layout.boot)?;
    image.loader = Some(loader.name());
    image.parsed = Some(layout.parsed);
    Ok(handoff)
}

/// Places the purgatory (its code, then its stack up to the end of the segment) and
/// has it check every other segment's data before it jumps as `handoff` says. A 32-bit
/// handoff runs with paging off: every segment must then lie below 4 GiB.
fn add_purgatory(image: &mut DomImage, handoff: Handoff) -> Result<(), BuildError> {
    if let Handoff::Protected32 { .. } = handoff {
        if let Some(segment) = image.segments.iter().find(|s| s.end() > FOUR_GIB) {
            return Err(BuildError::Above4G {
                role: segment.role,
                end: segment.end(),
            });
        }
    }
    let code_bytes = purgatory::blob().len() as u64;
    let purgatory_memsz = code_bytes
        .checked_add(purgatory::STACK_BYTES)
        .ok_or(ImageError::Overflow("the purgatory size"))?;
    let purgatory_index = image.place(
        SegmentRole::Purgatory,
        SegmentData::Owned(Vec::new()),
        purgatory_memsz,
        BELOW_4G,
    )?;
    let purgatory_seg = &image.segments[purgatory_index];
    let (purgatory_addr, purgatory_end) = (purgatory_seg.mem, purgatory_seg.end());
    image.regs = entry_regs(handoff, purgatory_end);
    // Everything but the purgatory itself, data only: hashing the kernel's zero fill
    // (init_size is ~4x the file) would cost seconds under emulation.
    let check = purgatory::check_for(
        image
            .segments
            .iter()
            .filter(|s| s.role != SegmentRole::Purgatory)
            .map(|s| (s.mem, image.bytes(&s.data))),
    );
    image.segments[purgatory_index].data =
        SegmentData::Owned(purgatory::patched(&image.regs, &check)?);
    image.entry = purgatory_addr + purgatory::entry_offset();
    Ok(())
}

/// The registers the purgatory sets for `handoff`, on its stack ending at `rsp`.
fn entry_regs(handoff: Handoff, rsp: u64) -> EntryRegs {
    match handoff {
        Handoff::Long64 { rip, rsi } => EntryRegs {
            mode: EntryMode::Long64,
            rip,
            rsi,
            rsp,
            eax: 0,
            ebx: 0,
        },
        Handoff::Protected32 { eip, eax, ebx, esi } => EntryRegs {
            mode: EntryMode::Protected32,
            rip: u64::from(eip),
            rsi: u64::from(esi),
            rsp,
            eax,
            ebx,
        },
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
