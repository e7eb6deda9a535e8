//! Kernel image loaders: one per format, each with a cheap `probe` (from headers) and
//! a `load` that lays the image out in a `DomImage`. `load` walks `LOADERS` in order
//! and uses the first that recognises the image (the Xen domain builder's loader list).

pub mod bzimage;

use super::image::DomImage;

pub trait Loader: Sync {
    fn name(&self) -> &'static str;
    /// Whether this loader takes the image: header checks only, no layout.
    fn probe(&self, kernel: &[u8]) -> bool;
    /// Lays the image out: segments, entry, registers, parse results.
    fn load(&self, image: &mut DomImage) -> Result<(), LoaderError>;
}

/// In the order they are tried.
pub static LOADERS: &[&dyn Loader] = &[&bzimage::BzImageLoader];

#[derive(Debug, thiserror::Error)]
pub enum LoaderError {
    #[error("no loader recognises the image (tried: {tried}): not a 64-bit bzImage")]
    Unrecognised { tried: String },
    #[error(transparent)]
    BzImage(#[from] bzimage::BzImageLoadError),
}

/// Lays out `image` with the first loader whose probe accepts it; returns its name.
pub fn load(image: &mut DomImage) -> Result<&'static str, LoaderError> {
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
