//! A module's own `.modinfo` section (NUL-separated `key=value`, as modpost lays it
//! out): what depmod would have written to its tables, for trees without them.

use std::path::Path;

use super::tables::Softdep;
use super::{normalize_name, ModulesError};

/// What a module's `.modinfo` section says about loading it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ModInfo {
    /// `name=`, normalised; absent in modules built before Linux 4.x.
    pub name: Option<String>,
    pub depends: Vec<String>,
    pub aliases: Vec<String>,
    pub softdep: Softdep,
}

/// Parses the raw bytes of a `.modinfo` section (NUL-separated `key=value`).
pub(crate) fn parse_modinfo_section(section: &[u8]) -> ModInfo {
    let mut info = ModInfo::default();
    let fields = section
        .split(|&byte| byte == 0)
        .filter_map(|field| std::str::from_utf8(field).ok());
    for field in fields {
        let Some((key, value)) = field.split_once('=') else {
            continue;
        };
        match key {
            "name" => info.name = Some(normalize_name(value)),
            "depends" => info.depends.extend(
                value
                    .split(',')
                    .filter(|dep| !dep.is_empty())
                    .map(normalize_name),
            ),
            "alias" => info.aliases.push(value.to_string()),
            "softdep" => info.softdep.merge(Softdep::parse_body(value)),
            _ => {}
        }
    }
    info
}

/// Reads `.modinfo` from the bytes of an uncompressed `.ko` (an ELF relocatable).
/// `path` only labels errors.
pub(crate) fn read_modinfo(path: &Path, elf_bytes: &[u8]) -> Result<ModInfo, ModulesError> {
    let elf = goblin::elf::Elf::parse(elf_bytes).map_err(|source| ModulesError::Elf {
        path: path.to_path_buf(),
        source,
    })?;
    let header = elf
        .section_headers
        .iter()
        .find(|header| elf.shdr_strtab.get_at(header.sh_name) == Some(".modinfo"))
        .ok_or_else(|| ModulesError::NoModinfo {
            path: path.to_path_buf(),
        })?;
    let out_of_bounds = || ModulesError::ModinfoOutOfBounds {
        path: path.to_path_buf(),
        offset_bytes: header.sh_offset,
        size_bytes: header.sh_size,
    };
    let start = usize::try_from(header.sh_offset).map_err(|_| out_of_bounds())?;
    let size = usize::try_from(header.sh_size).map_err(|_| out_of_bounds())?;
    let end = start.checked_add(size).ok_or_else(out_of_bounds)?;
    let section = elf_bytes.get(start..end).ok_or_else(out_of_bounds)?;
    Ok(parse_modinfo_section(section))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
