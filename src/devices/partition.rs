//! Read a disk's partition table (GPT or MBR/DOS) into the partitions the kernel
//! will expose, with the identifiers `root=PARTUUID=` and `PARTLABEL=` refer to.
//!
//! GPT is specified in the UEFI specification, chapter 5 ("GUID Partition Table
//! Disk Layout"); the MBR and its chain of extended boot records are de-facto
//! formats, implemented here the way Linux's `block/partitions/msdos.c` numbers them
//! (logical partitions from 5). Identifiers are formatted as libblkid prints them.
//! See section 3 of `storage-formats.md`.
//!
//! Every count and offset taken from the disk is bounds-checked before use: a corrupt
//! or hostile table yields an error or fewer partitions, never a panic or a huge
//! allocation.

use super::bytes::{field, le32, le64};
use std::io::{self, Read, Seek};

use thiserror::Error;

/// Errors from reading a partition table.
#[derive(Debug, Error)]
pub(crate) enum PartitionError {
    #[error("cannot read {len_bytes} bytes at offset {offset_bytes}")]
    Read {
        offset_bytes: u64,
        len_bytes: usize,
        #[source]
        source: io::Error,
    },
    #[error(
        "protective MBR announces GPT but no header is valid \
         (primary: {primary}; backup: {backup})"
    )]
    NoValidGpt {
        primary: GptDefect,
        backup: GptDefect,
    },
    #[error("extended boot record at sector {ebr_lba} lies outside the disk")]
    EbrOutOfRange { ebr_lba: u64 },
    #[error("extended boot record chain loops back to sector {ebr_lba}")]
    EbrLoop { ebr_lba: u64 },
    #[error("more than {limit} logical partitions; the extended boot record chain is corrupt")]
    TooManyLogicals { limit: usize },
}

/// Why one GPT header (with its entry array) was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub(crate) enum GptDefect {
    #[error("header at sector {lba} lies outside the disk")]
    OutOfRange { lba: u64 },
    #[error("no \"EFI PART\" signature at sector {lba}")]
    Signature { lba: u64 },
    #[error("header size {found_bytes} is not between 92 and the sector size")]
    HeaderSize { found_bytes: u32 },
    #[error("header CRC32 is {found:#010x}, expected {expected:#010x}")]
    HeaderCrc { expected: u32, found: u32 },
    #[error("header says it is at sector {found}, but it was read from sector {expected}")]
    MyLba { expected: u64, found: u64 },
    #[error("usable sectors {first_lba}..={last_lba} do not fit a disk whose last sector is {disk_last_lba}")]
    UsableRange {
        first_lba: u64,
        last_lba: u64,
        disk_last_lba: u64,
    },
    #[error("entry size {found_bytes} is not 128 times a power of two")]
    EntrySize { found_bytes: u32 },
    #[error("{count} entries of {entry_size_bytes} bytes exceed the {limit_bytes}-byte limit")]
    EntryArrayTooLarge {
        count: u32,
        entry_size_bytes: u32,
        limit_bytes: u64,
    },
    #[error("entry array at sector {lba} runs past the end of the disk")]
    EntryArrayOutOfRange { lba: u64 },
    #[error("entry array CRC32 is {found:#010x}, expected {expected:#010x}")]
    EntryArrayCrc { expected: u32, found: u32 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub(crate) enum TableKind {
    Gpt,
    Mbr,
}

/// One partition, as the kernel will number and expose it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub(crate) struct Partition {
    /// 1-based; MBR logical partitions count from 5.
    pub number: u32,
    pub start_bytes: u64,
    pub size_bytes: u64,
    /// GPT: the entry's unique GUID, lowercase; MBR: `<disk signature>-<number>`,
    /// as `%08x-%02x`.
    pub partuuid: String,
    /// GPT partition name; `None` for MBR or an empty name.
    pub partlabel: Option<String>,
    /// An MBR extended partition: a container for the logical partitions, never a
    /// filesystem. `size_bytes` is the table's size; the kernel's device node for it
    /// is only 1 KiB long.
    pub extended_container: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub(crate) struct PartitionTable {
    pub kind: TableKind,
    /// GPT disk GUID (lowercase) or MBR disk signature (`%08x`), as blkid's PTUUID.
    pub disk_id: String,
    /// In partition number order.
    pub partitions: Vec<Partition>,
}

/// Read the partition table of `dev`, a disk (or image) of `size_bytes` bytes.
///
/// `Ok(None)` when there is no table (no 0x55AA signature, or the first sector is a
/// FAT boot sector of an unpartitioned disk).
pub(crate) fn read_table<R: Read + Seek>(
    dev: &mut R,
    size_bytes: u64,
) -> Result<Option<PartitionTable>, PartitionError> {
    let mut disk = Disk { dev, size_bytes };
    let Some(mbr) = disk.read_at(0, MBR_SECTOR_BYTES)? else {
        return Ok(None);
    };
    if is_fat_boot_sector(&mbr) {
        return Ok(None);
    }
    let Some(entries) = parse_mbr_entries(&mbr) else {
        return Ok(None);
    };
    // Like the kernel, trust GPT only behind a protective (or hybrid) MBR: a stale
    // GPT header on a disk since repartitioned with fdisk must not win.
    if entries
        .iter()
        .any(|entry| entry.type_code == MBR_TYPE_GPT_PROTECTIVE)
    {
        return read_gpt(&mut disk).map(Some);
    }
    read_mbr(&mut disk, &mbr, &entries).map(Some)
}

/// The disk with its size, so every read can first check it fits.
struct Disk<'a, R> {
    dev: &'a mut R,
    size_bytes: u64,
}

impl<R: Read + Seek> Disk<'_, R> {
    /// `len_bytes` bytes at `offset_bytes`, or `None` when the region runs past the
    /// end of the disk.
    fn read_at(
        &mut self,
        offset_bytes: u64,
        len_bytes: usize,
    ) -> Result<Option<Vec<u8>>, PartitionError> {
        super::bytes::read_region(self.dev, self.size_bytes, offset_bytes, len_bytes).map_err(
            |source| PartitionError::Read {
                offset_bytes,
                len_bytes,
                source,
            },
        )
    }
}

fn crc32(bytes: &[u8]) -> u32 {
    // flate2 exposes the IEEE CRC32 (via crc32fast) that GPT uses.
    let mut crc = flate2::Crc::new();
    crc.update(bytes);
    crc.sum()
}

// ---------------------------------------------------------------------------------
// MBR

/// The MBR and EBRs are always 512 bytes at the start of their sector (the kernel
/// reads them the same way on 4 KiB-sector disks, with LBAs in 512-byte units only
/// for 512-byte disks; kboot assumes 512-byte logical sectors for MBR).
const MBR_SECTOR_BYTES: usize = 512;
const MBR_SECTOR_BYTES_U64: u64 = 512;
const MBR_ENTRIES_AT: usize = 0x1BE;
const MBR_ENTRY_BYTES: usize = 16;
const MBR_DISK_SIGNATURE_AT: usize = 0x1B8;
const MBR_TYPE_GPT_PROTECTIVE: u8 = 0xEE;
/// The kernel stops following the chain after about a hundred logicals; anything
/// beyond this is corruption, not a real layout.
const MAX_LOGICAL_PARTITIONS: usize = 128;
const FIRST_LOGICAL_NUMBER: u32 = 5;

/// One 16-byte MBR/EBR entry; LBAs in 512-byte sectors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct MbrEntry {
    type_code: u8,
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
fn parse_mbr_entries(sector: &[u8]) -> Option<[MbrEntry; 4]> {
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
fn is_fat_boot_sector(sector: &[u8]) -> bool {
    matches!(field(sector, 0, 1), [0xEB] | [0xE9])
        && (field(sector, 0x36, 3) == b"FAT" || field(sector, 0x52, 3) == b"FAT")
}

fn read_mbr<R: Read + Seek>(
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

// ---------------------------------------------------------------------------------
// GPT

/// Logical sector sizes tried, in order: "EFI PART" sits at LBA 1 of the disk's
/// logical sector size, which kboot does not know up front.
const GPT_SECTOR_SIZES_BYTES: [u64; 2] = [512, 4096];
const GPT_SIGNATURE: &[u8] = b"EFI PART";
const GPT_MIN_HEADER_BYTES: u32 = 92;
const GPT_HEADER_CRC_AT: usize = 16;
const GPT_ENTRY_MIN_BYTES: u32 = 128;
/// Real tables use 128 entries of 128 bytes (16 KiB); this bounds what a corrupt
/// header can make us allocate.
const GPT_MAX_ENTRY_ARRAY_BYTES: u64 = 1 << 20;
const GPT_NAME_AT: usize = 56;
const GPT_NAME_BYTES: usize = 72;

/// A header that passed every check, with its (CRC-checked) entry array.
struct GptHeader {
    disk_guid: [u8; 16],
    entry_count: u32,
    entry_size_bytes: u32,
    entries: Vec<u8>,
}

fn read_gpt<R: Read + Seek>(disk: &mut Disk<'_, R>) -> Result<PartitionTable, PartitionError> {
    let mut first_failure: Option<(GptDefect, GptDefect)> = None;
    for sector_size_bytes in GPT_SECTOR_SIZES_BYTES {
        let disk_last_lba = match (disk.size_bytes / sector_size_bytes).checked_sub(1) {
            Some(lba) => lba,
            None => continue,
        };
        let primary = read_gpt_header(disk, sector_size_bytes, 1, disk_last_lba)?;
        let primary_defect = match primary {
            Ok(header) => return Ok(gpt_table(&header, sector_size_bytes, disk_last_lba)),
            Err(defect) => defect,
        };
        // With the primary lost, the backup at the last sector is the only copy.
        let backup = read_gpt_header(disk, sector_size_bytes, disk_last_lba, disk_last_lba)?;
        let backup_defect = match backup {
            Ok(header) => return Ok(gpt_table(&header, sector_size_bytes, disk_last_lba)),
            Err(defect) => defect,
        };
        // Report the sector size where a header was at least present.
        let found_signature = !matches!(primary_defect, GptDefect::Signature { .. })
            || !matches!(backup_defect, GptDefect::Signature { .. });
        if first_failure.is_none() || found_signature {
            first_failure = Some((primary_defect, backup_defect));
        }
    }
    let (primary, backup) = first_failure.unwrap_or((
        GptDefect::OutOfRange { lba: 1 },
        GptDefect::OutOfRange { lba: 1 },
    ));
    Err(PartitionError::NoValidGpt { primary, backup })
}

/// Read and check the header at `lba` and its entry array. The outer `Result` is
/// an IO failure; the inner one says whether the header is usable.
fn read_gpt_header<R: Read + Seek>(
    disk: &mut Disk<'_, R>,
    sector_size_bytes: u64,
    lba: u64,
    disk_last_lba: u64,
) -> Result<Result<GptHeader, GptDefect>, PartitionError> {
    // Sector sizes are 512 or 4096, so the cast and the products are small.
    let sector_len = sector_size_bytes as usize;
    let Some(sector) = disk.read_at(lba * sector_size_bytes, sector_len)? else {
        return Ok(Err(GptDefect::OutOfRange { lba }));
    };
    let header = match check_gpt_header(&sector, lba, disk_last_lba) {
        Ok(header) => header,
        Err(defect) => return Ok(Err(defect)),
    };
    let entry_array_bytes = header.entry_array_bytes;
    let entries_lba = header.entries_lba;
    let entries = entries_lba
        .checked_mul(sector_size_bytes)
        .map(|offset| disk.read_at(offset, entry_array_bytes))
        .transpose()?
        .flatten();
    let Some(entries) = entries else {
        return Ok(Err(GptDefect::EntryArrayOutOfRange { lba: entries_lba }));
    };
    let found = crc32(&entries);
    if found != header.entries_crc32 {
        return Ok(Err(GptDefect::EntryArrayCrc {
            expected: header.entries_crc32,
            found,
        }));
    }
    Ok(Ok(GptHeader {
        disk_guid: header.disk_guid,
        entry_count: header.entry_count,
        entry_size_bytes: header.entry_size_bytes,
        entries,
    }))
}

/// The header fields, checked on their own (before the entry array is read).
struct CheckedHeader {
    disk_guid: [u8; 16],
    entries_lba: u64,
    entry_count: u32,
    entry_size_bytes: u32,
    entry_array_bytes: usize,
    entries_crc32: u32,
}

/// Check one header sector read from `lba`, as the kernel's `is_gpt_valid` does.
fn check_gpt_header(
    sector: &[u8],
    lba: u64,
    disk_last_lba: u64,
) -> Result<CheckedHeader, GptDefect> {
    if field(sector, 0, 8) != GPT_SIGNATURE {
        return Err(GptDefect::Signature { lba });
    }
    let header_size_bytes = le32(sector, 12);
    let header = usize::try_from(header_size_bytes)
        .ok()
        .filter(|_| header_size_bytes >= GPT_MIN_HEADER_BYTES)
        .and_then(|len| sector.get(..len))
        .ok_or(GptDefect::HeaderSize {
            found_bytes: header_size_bytes,
        })?;
    let expected = le32(header, GPT_HEADER_CRC_AT);
    let mut zeroed = header.to_vec();
    if let Some(crc_field) = zeroed.get_mut(GPT_HEADER_CRC_AT..GPT_HEADER_CRC_AT + 4) {
        crc_field.fill(0);
    }
    let found = crc32(&zeroed);
    if found != expected {
        return Err(GptDefect::HeaderCrc { expected, found });
    }
    let my_lba = le64(header, 24);
    if my_lba != lba {
        return Err(GptDefect::MyLba {
            expected: lba,
            found: my_lba,
        });
    }
    let first_lba = le64(header, 40);
    let last_lba = le64(header, 48);
    if first_lba > last_lba || last_lba > disk_last_lba {
        return Err(GptDefect::UsableRange {
            first_lba,
            last_lba,
            disk_last_lba,
        });
    }
    let entry_size_bytes = le32(header, 84);
    if entry_size_bytes < GPT_ENTRY_MIN_BYTES
        || !entry_size_bytes.is_multiple_of(GPT_ENTRY_MIN_BYTES)
        || !(entry_size_bytes / GPT_ENTRY_MIN_BYTES).is_power_of_two()
    {
        return Err(GptDefect::EntrySize {
            found_bytes: entry_size_bytes,
        });
    }
    let entry_count = le32(header, 80);
    let too_large = GptDefect::EntryArrayTooLarge {
        count: entry_count,
        entry_size_bytes,
        limit_bytes: GPT_MAX_ENTRY_ARRAY_BYTES,
    };
    // Both factors are u32, so the product fits u64.
    let entry_array_bytes = u64::from(entry_count) * u64::from(entry_size_bytes);
    if entry_array_bytes > GPT_MAX_ENTRY_ARRAY_BYTES {
        return Err(too_large);
    }
    let entry_array_bytes = usize::try_from(entry_array_bytes).map_err(|_| too_large)?;
    Ok(CheckedHeader {
        disk_guid: field(header, 56, 16).try_into().unwrap_or([0; 16]),
        entries_lba: le64(header, 72),
        entry_count,
        entry_size_bytes,
        entry_array_bytes,
        entries_crc32: le32(header, 88),
    })
}

fn gpt_table(header: &GptHeader, sector_size_bytes: u64, disk_last_lba: u64) -> PartitionTable {
    let entry_len = header.entry_size_bytes as usize;
    let partitions = header
        .entries
        .chunks_exact(entry_len)
        .take(header.entry_count as usize)
        .zip(1u32..)
        .filter_map(|(entry, number)| {
            gpt_partition(entry, number, sector_size_bytes, disk_last_lba)
        })
        .collect();
    PartitionTable {
        kind: TableKind::Gpt,
        disk_id: guid_string(&header.disk_guid),
        partitions,
    }
}

/// The partition in one entry; `None` for an unused entry (zero type GUID) or one
/// the kernel would reject (ends before it starts, or past the disk).
fn gpt_partition(
    entry: &[u8],
    number: u32,
    sector_size_bytes: u64,
    disk_last_lba: u64,
) -> Option<Partition> {
    if field(entry, 0, 16).iter().all(|&b| b == 0) {
        return None;
    }
    let first_lba = le64(entry, 32);
    let last_lba = le64(entry, 40);
    if first_lba > last_lba || last_lba > disk_last_lba {
        return None;
    }
    // last_lba <= disk_last_lba, which came from dividing the size by the sector
    // size, so these products stay within the disk size.
    let start_bytes = first_lba * sector_size_bytes;
    let size_bytes = (last_lba - first_lba + 1) * sector_size_bytes;
    let unique_guid: [u8; 16] = field(entry, 16, 16).try_into().ok()?;
    Some(Partition {
        number,
        start_bytes,
        size_bytes,
        partuuid: guid_string(&unique_guid),
        partlabel: gpt_name(field(entry, GPT_NAME_AT, GPT_NAME_BYTES)),
        extended_container: false,
    })
}

/// The UTF-16LE name up to its first NUL, trailing white space trimmed as blkid
/// does; `None` when empty.
fn gpt_name(bytes: &[u8]) -> Option<String> {
    let units: Vec<u16> = bytes
        .chunks_exact(2)
        .map(|pair| u16::from_le_bytes([pair[0], pair[1]]))
        .take_while(|&unit| unit != 0)
        .collect();
    let name = String::from_utf16_lossy(&units);
    let trimmed = name.trim_end_matches([' ', '\t', '\n', '\x0b', '\x0c', '\r']);
    (!trimmed.is_empty()).then(|| trimmed.to_owned())
}

/// A GUID as text: the first three fields are stored little-endian, the rest as
/// bytes; lowercase like blkid.
fn guid_string(guid: &[u8; 16]) -> String {
    let [a0, a1, a2, a3, b0, b1, c0, c1, rest @ ..] = *guid;
    let mut out = format!("{a3:02x}{a2:02x}{a1:02x}{a0:02x}-{b1:02x}{b0:02x}-{c1:02x}{c0:02x}-");
    for (i, byte) in rest.iter().enumerate() {
        if i == 2 {
            out.push('-');
        }
        out.push_str(&format!("{byte:02x}"));
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
