//! Module files: the module name a file name stands for, how the file is compressed
//! (judged by its name, as kmod does), and reading the ELF bytes out of it.

use std::io::Read;
use std::path::Path;

use super::{normalize_name, ModulesError};

/// File name suffixes of module files, longest first so `.ko.xz` is not cut as `.ko`.
const MODULE_SUFFIXES: [&str; 4] = [".ko.xz", ".ko.zst", ".ko.gz", ".ko"];

/// The module name a file path stands for: `kernel/drivers/md/dm-mod.ko.xz` → `dm_mod`.
pub(crate) fn module_name_from_path(path: &Path) -> Option<String> {
    let file_name = path.file_name()?.to_str()?;
    MODULE_SUFFIXES
        .iter()
        .find_map(|suffix| file_name.strip_suffix(suffix))
        .filter(|stem| !stem.is_empty())
        .map(normalize_name)
}

/// How a module file is compressed, judged by its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Compression {
    None,
    Gzip,
    Xz,
    Zstd,
}

impl Compression {
    pub(crate) fn from_path(path: &Path) -> Compression {
        let name = path.to_string_lossy();
        if name.ends_with(".ko.gz") {
            Compression::Gzip
        } else if name.ends_with(".ko.xz") {
            Compression::Xz
        } else if name.ends_with(".ko.zst") {
            Compression::Zstd
        } else {
            Compression::None
        }
    }

    fn name(self) -> &'static str {
        match self {
            Compression::None => "uncompressed",
            Compression::Gzip => "gzip",
            Compression::Xz => "xz",
            Compression::Zstd => "zstd",
        }
    }
}

/// The ELF bytes of a module file, gunzipped if needed.
pub(crate) fn read_module_bytes(path: &Path) -> Result<Vec<u8>, ModulesError> {
    let read_error = |source| ModulesError::Read {
        path: path.to_path_buf(),
        source,
    };
    match Compression::from_path(path) {
        Compression::None => std::fs::read(path).map_err(read_error),
        Compression::Gzip => {
            let file = std::fs::File::open(path).map_err(read_error)?;
            let mut bytes = Vec::new();
            flate2::read::GzDecoder::new(file)
                .read_to_end(&mut bytes)
                .map_err(read_error)?;
            Ok(bytes)
        }
        compression @ (Compression::Xz | Compression::Zstd) => {
            Err(ModulesError::CompressedModinfo {
                path: path.to_path_buf(),
                compression: compression.name(),
            })
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
