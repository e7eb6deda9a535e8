//! Module files: the module name a file name stands for, how the file is compressed
//! (judged by its name, as kmod does), and reading the ELF bytes out of it.

use std::path::Path;

use super::{normalize_name, ModulesError};
use crate::compression::decompress_if_compressed;

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

/// Modules unpack to far less than this; a bound keeps a corrupt file from making PID 1
/// allocate without limit.
const MAX_MODULE_BYTES: u64 = 256 << 20;

/// Whether the file is compressed (`.ko.gz`, `.ko.xz`, `.ko.zst`), judged by its name as
/// kmod does: such a file goes to `init_module` unpacked, a plain `.ko` to
/// `finit_module` as it is.
pub(crate) fn is_compressed(path: &Path) -> bool {
    path.file_name()
        .and_then(|name| name.to_str())
        .is_some_and(|name| !name.ends_with(".ko"))
}

/// The ELF bytes of a module file, unpacked by the crate's one decompressor when the
/// file starts with a compression magic (gzip, xz, zstd: what distributions ship).
pub(crate) fn read_module_bytes(path: &Path) -> Result<Vec<u8>, ModulesError> {
    let bytes = std::fs::read(path).map_err(|source| ModulesError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    decompress_if_compressed(bytes, MAX_MODULE_BYTES).map_err(|source| ModulesError::Decompress {
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) mod tests;
