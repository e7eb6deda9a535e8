//! The target's physical memory map: where segments may go, and the e820 table the
//! next kernel gets. Read from `/sys/firmware/memmap/N/{start,end,type}` (the
//! firmware's map as the running kernel received it, before it reserved anything of
//! its own: what kexec-tools reads too), falling back to the top-level lines of
//! `/proc/iomem`. The parsers are pure; `read` takes a root path.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// e820 type codes (arch/x86/include/asm/e820/types.h).
pub(crate) const E820_RAM: u32 = 1;
pub(crate) const E820_RESERVED: u32 = 2;
pub(crate) const E820_ACPI: u32 = 3;
pub(crate) const E820_NVS: u32 = 4;
pub(crate) const E820_UNUSABLE: u32 = 5;
pub(crate) const E820_PMEM: u32 = 7;
pub(crate) const E820_PRAM: u32 = 12;
pub(crate) const E820_SOFT_RESERVED: u32 = 0xefff_ffff;

/// One range of physical memory, `start..end` (end exclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub(crate) struct MemRange {
    pub start: u64,
    pub end: u64,
    pub e820_type: u32,
}

impl MemRange {
    pub(crate) fn size_bytes(&self) -> u64 {
        self.end - self.start
    }

    pub(crate) fn is_ram(&self) -> bool {
        self.e820_type == E820_RAM
    }
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum MemMapError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{path}: bad line {line:?}")]
    BadLine { path: PathBuf, line: String },
    #[error("no memory map: neither {sysfs} nor {iomem} lists any System RAM")]
    NoRam { sysfs: PathBuf, iomem: PathBuf },
}

/// The e820 type for a name as the kernel writes it in `/sys/firmware/memmap/*/type`
/// and `/proc/iomem` (arch/x86/kernel/e820.c `e820_type_to_string`). Unknown names are
/// reserved: never use memory we cannot name.
pub(crate) fn e820_type_from_name(name: &str) -> u32 {
    match name.trim() {
        "System RAM" => E820_RAM,
        "ACPI Tables" => E820_ACPI,
        "ACPI Non-volatile Storage" => E820_NVS,
        "Unusable memory" => E820_UNUSABLE,
        "Persistent Memory (legacy)" => E820_PRAM,
        "Persistent Memory" => E820_PMEM,
        "Soft Reserved" => E820_SOFT_RESERVED,
        _ => E820_RESERVED,
    }
}

/// One `/sys/firmware/memmap/N` entry from its three files' text (`end` inclusive,
/// both hex with `0x`).
pub(crate) fn parse_sysfs_entry(start: &str, end: &str, type_name: &str) -> Option<MemRange> {
    let start = parse_hex(start)?;
    let end_inclusive = parse_hex(end)?;
    Some(MemRange {
        start,
        end: end_inclusive.checked_add(1)?,
        e820_type: e820_type_from_name(type_name),
    })
}

fn parse_hex(text: &str) -> Option<u64> {
    let text = text.trim();
    let digits = text.strip_prefix("0x").unwrap_or(text);
    u64::from_str_radix(digits, 16).ok()
}

/// The top-level (unindented) lines of `/proc/iomem`: `00100000-3ffdffff : System RAM`.
/// Nested lines (kernel code, device windows inside) are skipped. Lines whose range
/// reads as `00000000-00000000` (iomem read without root) carry no information and
/// are dropped.
pub(crate) fn parse_iomem(text: &str) -> Vec<MemRange> {
    text.lines()
        .filter(|line| !line.starts_with(' '))
        .filter_map(|line| {
            let (range, name) = line.split_once(" : ")?;
            let (start, end) = range.trim().split_once('-')?;
            let start = parse_hex(start)?;
            let end = parse_hex(end)?.checked_add(1)?;
            (end > start && !(start == 0 && end == 1)).then(|| MemRange {
                start,
                end,
                e820_type: e820_type_from_name(name),
            })
        })
        .collect()
}

/// Sorts by start address. Overlaps are left alone: the firmware's map is what the
/// next kernel gets; the allocator only ever uses RAM ranges.
pub(crate) fn sorted(mut ranges: Vec<MemRange>) -> Vec<MemRange> {
    ranges.sort_by_key(|r| (r.start, r.end));
    ranges
}

/// Reads the map under `root` (`/` on a live system).
pub(crate) fn read(root: &Path) -> Result<Vec<MemRange>, MemMapError> {
    let sysfs = root.join("sys/firmware/memmap");
    let iomem = root.join("proc/iomem");
    let from_sysfs = read_sysfs(&sysfs)?;
    if from_sysfs.iter().any(MemRange::is_ram) {
        return Ok(sorted(from_sysfs));
    }
    let from_iomem = match fs::read_to_string(&iomem) {
        Ok(text) => parse_iomem(&text),
        Err(source) if source.kind() == io::ErrorKind::NotFound => Vec::new(),
        Err(source) => {
            return Err(MemMapError::Read {
                path: iomem,
                source,
            })
        }
    };
    if from_iomem.iter().any(MemRange::is_ram) {
        return Ok(sorted(from_iomem));
    }
    Err(MemMapError::NoRam { sysfs, iomem })
}

fn read_sysfs(dir: &Path) -> Result<Vec<MemRange>, MemMapError> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(source) if source.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(MemMapError::Read {
                path: dir.to_path_buf(),
                source,
            })
        }
    };
    let mut ranges = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| MemMapError::Read {
            path: dir.to_path_buf(),
            source,
        })?;
        let path = entry.path();
        let read = |name: &str| {
            let file = path.join(name);
            fs::read_to_string(&file).map_err(|source| MemMapError::Read { path: file, source })
        };
        let (start, end, type_name) = (read("start")?, read("end")?, read("type")?);
        let range =
            parse_sysfs_entry(&start, &end, &type_name).ok_or_else(|| MemMapError::BadLine {
                path: path.clone(),
                line: format!("{} {} {}", start.trim(), end.trim(), type_name.trim()),
            })?;
        ranges.push(range);
    }
    Ok(ranges)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
