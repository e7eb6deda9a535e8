//! Kernel image loaders: one per *format* (bzImage, ELF vmlinux). A new kernel format
//! goes here, as a module with a type implementing [`Loader`], added to [`LOADERS`].
//!
//! A loader only reads its format and lays the kernel out: it has a cheap `probe`
//! (header checks), a `describe` (`kboot kexec --info`) and a `layout` that places the
//! kernel's segments in the target's RAM and returns them as a [`KernelLayout`], with
//! what it parsed and what the boot protocol needs from the image (for Linux: the
//! entry point, the setup header to copy, the ramdisk and command line limits). It
//! writes no boot parameters: that is the boot protocol's job (`kexec/protocol/`),
//! and the purgatory is added after both (`kexec/build.rs`). This is rust-vmm
//! linux-loader's split between `loader/` and `configurator/`.
//!
//! `probe` picks the loader: [`probe`] walks `LOADERS` in order and takes the first
//! that recognises the image (the Xen domain builder's loader list).

pub(crate) mod bzimage;
pub(crate) mod elf;

use super::image::{Parsed, Segment};
use super::memmap::MemRange;
use super::protocol::KernelBoot;

pub(crate) trait Loader: Sync {
    fn name(&self) -> &'static str;
    /// Whether this loader takes the image: header checks only, no layout.
    fn probe(&self, kernel: &[u8]) -> bool;
    /// The parse results alone, without a layout (`kboot kexec --info`).
    fn describe(&self, kernel: &[u8]) -> Result<Parsed, LoaderError>;
    /// Places the kernel's segments in the RAM of `memmap` (the first segments of the
    /// image: nothing else is placed yet) and says how the kernel is booted.
    fn layout(&self, kernel: &[u8], memmap: &[MemRange]) -> Result<KernelLayout, LoaderError>;
}

/// What a loader returns: the kernel laid out, not yet bootable.
#[derive(Debug)]
pub(crate) struct KernelLayout {
    /// The kernel's segments, placed (their data ranges of the kernel file, or copies).
    pub segments: Vec<Segment>,
    /// The boot protocol the kernel speaks and what that protocol needs from the image.
    pub boot: KernelBoot,
    /// What the loader parsed, for `--dry-run`, `--dump` and the tests.
    pub parsed: Parsed,
}

/// In the order they are tried.
pub(crate) static LOADERS: &[&dyn Loader] = &[&bzimage::BzImageLoader, &elf::ElfLoader];

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum LoaderError {
    #[error("no loader recognises the image (tried: {tried}): not a 64-bit bzImage or x86_64 ELF")]
    Unrecognised { tried: String },
    #[error(transparent)]
    BzImage(#[from] bzimage::BzImageLoadError),
    #[error(transparent)]
    Elf(#[from] elf::ElfLoadError),
}

/// The first loader whose probe accepts `kernel`.
pub(crate) fn probe(kernel: &[u8]) -> Result<&'static dyn Loader, LoaderError> {
    LOADERS
        .iter()
        .copied()
        .find(|l| l.probe(kernel))
        .ok_or_else(|| LoaderError::Unrecognised {
            tried: LOADERS
                .iter()
                .map(|l| l.name())
                .collect::<Vec<_>>()
                .join(", "),
        })
}

/// The first accepting loader's name and parse results.
pub(crate) fn describe(kernel: &[u8]) -> Result<(&'static str, Parsed), LoaderError> {
    let loader = probe(kernel)?;
    Ok((loader.name(), loader.describe(kernel)?))
}
