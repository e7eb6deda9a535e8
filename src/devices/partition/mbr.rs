//! The MBR (DOS) partition table and its chain of extended boot records, numbered
//! the way Linux's `block/partitions/msdos.c` does (logical partitions from 5).

use std::io::{Read, Seek};

use super::{Disk, Partition, PartitionError, PartitionTable, TableKind};
use crate::bytes::{field, le32};

/// The MBR and EBRs are always 512 bytes at the start of their sector (the kernel
/// reads them the same way on 4 KiB-sector disks, with LBAs in 512-byte units only
/// for 512-byte disks; kboot assumes 512-byte logical sectors for MBR).
pub(super) const MBR_SECTOR_BYTES: usize = 512;
const MBR_SECTOR_BYTES_U64: u64 = 512;
const MBR_ENTRIES_AT: usize = 0x1BE;
const MBR_ENTRY_BYTES: usize = 16;
const MBR_DISK_SIGNATURE_AT: usize = 0x1B8;
pub(super) const MBR_TYPE_GPT_PROTECTIVE: u8 = 0xEE;
/// The kernel stops following the chain after about a hundred logicals; anything
/// beyond this is corruption, not a real layout.
const MAX_LOGICAL_PARTITIONS: usize = 128;
const FIRST_LOGICAL_NUMBER: u32 = 5;

/// One 16-byte MBR/EBR entry; LBAs in 512-byte sectors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct MbrEntry {
    pub(super) type_code: u8,
    start_lba: u64,
    size_sectors: u64,
}

impl MbrEntry {
    fn is_extended(self) -> bool {
        // DOS, Windows (LBA) and Linux extended partitions.
        matches!(self.type_code, 0x05 | 0x0F | 0x85)
    }
}

/// The four entries of an MBR or EBR sector; `None` when the sector is not a
/// partition table.
pub(super) fn parse_mbr_entries(sector: &[u8]) -> Option<[MbrEntry; 4]> {
    if field(sector, 510, 2) != [0x55, 0xAA] {
        return None;
    }
    let mut entries = [MbrEntry {
        type_code: 0,
        start_lba: 0,
        size_sectors: 0,
    }; 4];
    for (slot, entry) in entries.iter_mut().enumerate() {
        let raw = field(
            sector,
            MBR_ENTRIES_AT + slot * MBR_ENTRY_BYTES,
            MBR_ENTRY_BYTES,
        );
        // A boot flag other than 0 or 0x80 means these bytes are boot code, not a
        // table (the kernel's test).
        if !matches!(field(raw, 0, 1), [0x00] | [0x80]) {
            return None;
        }
        *entry = MbrEntry {
            type_code: *field(raw, 4, 1).first()?,
            start_lba: u64::from(le32(raw, 8)),
            size_sectors: u64::from(le32(raw, 12)),
        };
    }
    Some(entries)
}

/// A FAT boot sector also ends in 0x55AA; on an unpartitioned FAT disk it must not
/// be read as a partition table.
pub(super) fn is_fat_boot_sector(sector: &[u8]) -> bool {
    matches!(field(sector, 0, 1), [0xEB] | [0xE9])
        && (field(sector, 0x36, 3) == b"FAT" || field(sector, 0x52, 3) == b"FAT")
}

pub(super) fn read_mbr<R: Read + Seek>(
    disk: &mut Disk<'_, R>,
    mbr: &[u8],
    entries: &[MbrEntry; 4],
) -> Result<PartitionTable, PartitionError> {
    let signature = le32(mbr, MBR_DISK_SIGNATURE_AT);
    let mut builder = MbrTableBuilder {
        table: PartitionTable {
            kind: TableKind::Mbr,
            disk_id: format!("{signature:08x}"),
            partitions: Vec::new(),
        },
        disk_size_bytes: disk.size_bytes,
        signature,
        next_logical: FIRST_LOGICAL_NUMBER,
    };
    for (number, entry) in (1u32..).zip(entries.iter().copied()) {
        if entry.size_sectors == 0 {
            continue;
        }
        builder.push(
            number,
            entry.start_lba,
            entry.size_sectors,
            entry.is_extended(),
        );
        if entry.is_extended() {
            read_logicals(disk, &mut builder, entry)?;
        }
    }
    let mut table = builder.table;
    table.partitions.sort_by_key(|partition| partition.number);
    Ok(table)
}

/// The MBR table being assembled from the MBR and the EBR chains.
struct MbrTableBuilder {
    table: PartitionTable,
    disk_size_bytes: u64,
    signature: u32,
    /// Logical partitions are numbered in chain order across all extended
    /// partitions.
    next_logical: u32,
}

impl MbrTableBuilder {
    /// Add a partition the way the kernel would expose it: dropped when it starts
    /// past the end of the disk, cut short when it runs past it.
    fn push(&mut self, number: u32, start_lba: u64, size_sectors: u64, extended_container: bool) {
        // LBAs here are sums of at most three 32-bit table fields, so the products
        // stay far below u64::MAX.
        let start_bytes = start_lba * MBR_SECTOR_BYTES_U64;
        let size_bytes = size_sectors * MBR_SECTOR_BYTES_U64;
        if start_bytes >= self.disk_size_bytes {
            return;
        }
        let signature = self.signature;
        self.table.partitions.push(Partition {
            number,
            start_bytes,
            size_bytes: size_bytes.min(self.disk_size_bytes - start_bytes),
            partuuid: format!("{signature:08x}-{number:02x}"),
            partlabel: None,
            extended_container,
        });
    }

    fn push_logical(&mut self, start_lba: u64, size_sectors: u64) {
        self.push(self.next_logical, start_lba, size_sectors, false);
        self.next_logical += 1;
    }
}

/// Follow the chain of extended boot records inside `extended`. Each EBR holds a
/// data partition (start relative to the EBR) and a link to the next EBR (start
/// relative to the extended partition).
fn read_logicals<R: Read + Seek>(
    disk: &mut Disk<'_, R>,
    builder: &mut MbrTableBuilder,
    extended: MbrEntry,
) -> Result<(), PartitionError> {
    let container_first_lba = extended.start_lba;
    let container_end_lba = extended.start_lba + extended.size_sectors;
    let mut ebr_lba = container_first_lba;
    let mut ebr_size_sectors = extended.size_sectors;
    let mut visited: Vec<u64> = Vec::new();
    loop {
        if visited.contains(&ebr_lba) {
            return Err(PartitionError::EbrLoop { ebr_lba });
        }
        if visited.len() >= MAX_LOGICAL_PARTITIONS {
            return Err(PartitionError::TooManyLogicals {
                limit: MAX_LOGICAL_PARTITIONS,
            });
        }
        visited.push(ebr_lba);
        let sector = disk
            .read_at(ebr_lba * MBR_SECTOR_BYTES_U64, MBR_SECTOR_BYTES)?
            .ok_or(PartitionError::EbrOutOfRange { ebr_lba })?;
        // An EBR without the signature ends the chain, as in the kernel.
        let Some(entries) = parse_mbr_entries(&sector) else {
            return Ok(());
        };
        for (slot, entry) in entries.iter().enumerate() {
            if entry.size_sectors == 0 || entry.is_extended() {
                continue;
            }
            let start_lba = ebr_lba + entry.start_lba;
            // The third and fourth entries often hold garbage: take them only when
            // they lie inside this EBR's part of the extended partition.
            if slot >= 2
                && (entry.start_lba + entry.size_sectors > ebr_size_sectors
                    || start_lba < container_first_lba
                    || start_lba + entry.size_sectors > container_end_lba)
            {
                continue;
            }
            builder.push_logical(start_lba, entry.size_sectors);
        }
        let Some(link) = entries
            .iter()
            .find(|entry| entry.size_sectors != 0 && entry.is_extended())
        else {
            return Ok(());
        };
        ebr_lba = container_first_lba + link.start_lba;
        ebr_size_sectors = link.size_sectors;
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) mod tests;
