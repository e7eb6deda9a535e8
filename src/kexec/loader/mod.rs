//! Kernel image loaders: one per *format* (bzImage, multiboot 2 and 1 images such as
//! Xen, ELF vmlinux). A new kernel format
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
//! that recognises the image (the Xen domain builder's loader list); [`named`] takes
//! the one a kexec-tools `--type` names instead, which must still recognise the image.
//! The `pvh` type (kboot's own) is only ever named, never probed.

pub(crate) mod bzimage;
pub(crate) mod elf;
pub(crate) mod multiboot;
pub(crate) mod pvh;

use super::image::{Parsed, Segment};
use super::memmap::MemRange;
use super::protocol::multiboot::MultibootVersion;
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

/// In the order they are tried: a multiboot image is often an ELF too, and with both
/// headers (Xen) the multiboot 2 one is preferred.
pub(crate) static LOADERS: &[&dyn Loader] = &[
    &bzimage::BzImageLoader,
    &MULTIBOOT2,
    &MULTIBOOT1,
    &elf::ElfLoader,
];

static MULTIBOOT2: multiboot::MultibootLoader = multiboot::MultibootLoader(MultibootVersion::V2);
static MULTIBOOT1: multiboot::MultibootLoader = multiboot::MultibootLoader(MultibootVersion::V1);

/// kexec-tools' `--type` names (kexec/arch/x86_64/kexec-x86_64.c) and kboot's loader
/// for each.
pub(crate) static TYPE_NAMES: &[(&str, &dyn Loader)] = &[
    ("bzImage64", &bzimage::BzImageLoader),
    ("bzImage", &bzimage::BzImageLoader),
    ("multiboot2-x86", &MULTIBOOT2),
    ("multiboot-x86", &MULTIBOOT1),
    ("elf-x86_64", &elf::ElfLoader),
    // kboot's own: never probed, see `pvh`.
    ("pvh", &pvh::PvhLoader),
];

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum LoaderError {
    #[error(
        "no loader recognises the image (tried: {tried}): not a 64-bit bzImage, multiboot \
         image or x86_64 ELF"
    )]
    Unrecognised { tried: String },
    #[error(transparent)]
    BzImage(#[from] bzimage::BzImageLoadError),
    #[error(transparent)]
    Elf(#[from] elf::ElfLoadError),
    #[error(transparent)]
    Multiboot(#[from] multiboot::MultibootLoadError),
    #[error(transparent)]
    Pvh(#[from] pvh::PvhLoadError),
    #[error("unknown kernel type {name:?}: kboot knows {}", type_names())]
    UnknownType { name: String },
    #[error(
        "the kernel is not of type {name} (the {loader} loader does not recognise it); \
         leave out --type to let kboot pick the loader"
    )]
    NotOfType { name: String, loader: &'static str },
}

/// The `--type` names, for messages.
pub(crate) fn type_names() -> String {
    TYPE_NAMES
        .iter()
        .map(|(name, _)| *name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The loader a kexec-tools `--type` names.
pub(crate) fn named(name: &str) -> Result<&'static dyn Loader, LoaderError> {
    TYPE_NAMES
        .iter()
        .find(|(type_name, _)| *type_name == name)
        .map(|&(_, loader)| loader)
        .ok_or_else(|| LoaderError::UnknownType {
            name: name.to_string(),
        })
}

/// The loader named `loader_type` if it recognises `kernel`, else the first that does.
pub(crate) fn choose(
    kernel: &[u8],
    loader_type: Option<&str>,
) -> Result<&'static dyn Loader, LoaderError> {
    let Some(name) = loader_type else {
        return probe(kernel);
    };
    let loader = named(name)?;
    if !loader.probe(kernel) {
        return Err(LoaderError::NotOfType {
            name: name.to_string(),
            loader: loader.name(),
        });
    }
    Ok(loader)
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
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) fn describe(kernel: &[u8]) -> Result<(&'static str, Parsed), LoaderError> {
    describe_as(kernel, None)
}

/// [`describe`] with the loader `loader_type` names, if any ([`choose`]).
pub(crate) fn describe_as(
    kernel: &[u8],
    loader_type: Option<&str>,
) -> Result<(&'static str, Parsed), LoaderError> {
    let loader = choose(kernel, loader_type)?;
    Ok((loader.name(), loader.describe(kernel)?))
}
