//! The GUID partition table (UEFI specification, chapter 5), checked the way the
//! kernel's `is_gpt_valid` does, with the backup header when the primary is damaged.

use std::io::{Read, Seek};

use thiserror::Error;

use super::{Disk, Partition, PartitionError, PartitionTable, TableKind};
use crate::bytes::{field, le16, le32, le64};

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

fn crc32(bytes: &[u8]) -> u32 {
    // flate2 exposes the IEEE CRC32 (via crc32fast) that GPT uses.
    let mut crc = flate2::Crc::new();
    crc.update(bytes);
    crc.sum()
}

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

pub(super) fn read_gpt<R: Read + Seek>(
    disk: &mut Disk<'_, R>,
) -> Result<PartitionTable, PartitionError> {
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
        .map(|pair| le16(pair, 0))
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
