//! Kernel image loaders: one per format, each with a cheap `probe` (from headers) and
//! a `load` that lays the image out in a `DomImage`. `load` walks `LOADERS` in order
//! and uses the first that recognises the image (the Xen domain builder's loader list).

pub(crate) mod bzimage;
pub(crate) mod elf;
pub(crate) mod linux;

use super::image::{DomImage, Parsed};

pub(crate) trait Loader: Sync {
    fn name(&self) -> &'static str;
    /// Whether this loader takes the image: header checks only, no layout.
    fn probe(&self, kernel: &[u8]) -> bool;
    /// The parse results alone, without a layout (`kboot kexec --info`).
    fn describe(&self, kernel: &[u8]) -> Result<Parsed, LoaderError>;
    /// Lays the image out: segments, entry, registers, parse results.
    fn load(&self, image: &mut DomImage) -> Result<(), LoaderError>;
}

/// In the order they are tried.
pub(crate) static LOADERS: &[&dyn Loader] = &[&bzimage::BzImageLoader, &elf::ElfLoader];

#[derive(Debug, thiserror::Error)]
pub(crate) enum LoaderError {
    #[error("no loader recognises the image (tried: {tried}): not a 64-bit bzImage or x86_64 ELF")]
    Unrecognised { tried: String },
    #[error(transparent)]
    BzImage(#[from] bzimage::BzImageLoadError),
    #[error(transparent)]
    Elf(#[from] elf::ElfLoadError),
}

fn unrecognised() -> LoaderError {
    LoaderError::Unrecognised {
        tried: LOADERS
            .iter()
            .map(|l| l.name())
            .collect::<Vec<_>>()
            .join(", "),
    }
}

/// The first accepting loader's name and parse results.
pub(crate) fn describe(kernel: &[u8]) -> Result<(&'static str, Parsed), LoaderError> {
    let loader = LOADERS
        .iter()
        .find(|l| l.probe(kernel))
        .ok_or_else(unrecognised)?;
    Ok((loader.name(), loader.describe(kernel)?))
}

/// Lays out `image` with the first loader whose probe accepts it; returns its name.
pub(crate) fn load(image: &mut DomImage) -> Result<&'static str, LoaderError> {
    for loader in LOADERS {
        if loader.probe(&image.kernel) {
            loader.load(image)?;
            image.loader = Some(loader.name());
            return Ok(loader.name());
        }
    }
    Err(LoaderError::Unrecognised {
        tried: LOADERS
            .iter()
            .map(|l| l.name())
            .collect::<Vec<_>>()
            .join(", "),
    })
}
