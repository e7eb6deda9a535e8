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
mod tests {
    use super::*;

    /// `/proc/iomem` of a Debian 6.1 guest under `qemu-system-x86_64 -m 1024` (SeaBIOS).
    const QEMU_IOMEM: &str = "\
00000000-00000fff : Reserved
00001000-0009fbff : System RAM
0009fc00-0009ffff : Reserved
000a0000-000bffff : PCI Bus 0000:00
000c0000-000c99ff : Video ROM
000f0000-000fffff : Reserved
  000f0000-000fffff : System ROM
00100000-3ffdffff : System RAM
  0b000000-0bc02b16 : Kernel code
3ffe0000-3fffffff : Reserved
fd000000-fdffffff : PCI Bus 0000:00
feffc000-feffffff : Reserved
fffc0000-ffffffff : Reserved
";

    #[test]
    fn iomem_top_level_lines_become_ranges() {
        let ranges = parse_iomem(QEMU_IOMEM);
        let ram: Vec<_> = ranges.iter().filter(|r| r.is_ram()).collect();
        assert_eq!(ram.len(), 2);
        assert_eq!((ram[1].start, ram[1].end), (0x10_0000, 0x3ffe_0000));
        assert!(
            ranges.iter().all(|r| r.start != 0x0b00_0000),
            "nested line kept"
        );
        let pci = ranges.iter().find(|r| r.start == 0xa_0000).unwrap();
        assert_eq!(pci.e820_type, E820_RESERVED);
    }

    #[test]
    fn iomem_without_root_has_no_ram() {
        let text = "00000000-00000000 : Reserved\n00000000-00000000 : System RAM\n";
        assert!(parse_iomem(text).is_empty());
    }

    #[test]
    fn sysfs_entry_end_is_inclusive() {
        let r = parse_sysfs_entry("0x100000\n", "0x3ffdffff\n", "System RAM\n").unwrap();
        assert_eq!(
            r,
            MemRange {
                start: 0x10_0000,
                end: 0x3ffe_0000,
                e820_type: E820_RAM
            }
        );
        assert_eq!(parse_sysfs_entry("zz", "0x1", "System RAM"), None);
        let nvs = parse_sysfs_entry("0x0", "0xfff", "ACPI Non-volatile Storage").unwrap();
        assert_eq!(nvs.e820_type, E820_NVS);
    }

    #[test]
    fn read_prefers_sysfs_and_falls_back_to_iomem() {
        let root = tempfile::tempdir().unwrap();
        fs::create_dir_all(root.path().join("proc")).unwrap();
        fs::write(root.path().join("proc/iomem"), QEMU_IOMEM).unwrap();
        let from_iomem = read(root.path()).unwrap();
        assert_eq!(from_iomem.iter().filter(|r| r.is_ram()).count(), 2);

        for (n, (start, end, kind)) in [
            ("0x100000", "0x3ffdffff", "System RAM"),
            ("0x0", "0x9fbff", "System RAM"),
            ("0x9fc00", "0x9ffff", "Reserved"),
        ]
        .iter()
        .enumerate()
        {
            let dir = root.path().join(format!("sys/firmware/memmap/{n}"));
            fs::create_dir_all(&dir).unwrap();
            fs::write(dir.join("start"), format!("{start}\n")).unwrap();
            fs::write(dir.join("end"), format!("{end}\n")).unwrap();
            fs::write(dir.join("type"), format!("{kind}\n")).unwrap();
        }
        let from_sysfs = read(root.path()).unwrap();
        assert_eq!(from_sysfs.len(), 3);
        assert_eq!(from_sysfs[0].start, 0, "sorted by start");
        assert_eq!(from_sysfs[2].end, 0x3ffe_0000);
    }

    #[test]
    fn no_ram_anywhere_is_an_error() {
        let root = tempfile::tempdir().unwrap();
        assert!(matches!(read(root.path()), Err(MemMapError::NoRam { .. })));
    }
}
