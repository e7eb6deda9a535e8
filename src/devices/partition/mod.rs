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
//!
//! `mbr` reads the MBR and its EBR chains, `gpt` the GUID partition table behind a
//! protective MBR.

use std::io::{Read, Seek};

use thiserror::Error;

use crate::bytes::{RegionReadError, SizedDevice};

mod gpt;
mod mbr;

pub(crate) use gpt::GptDefect;

/// Errors from reading a partition table.
#[derive(Debug, Error)]
pub(crate) enum PartitionError {
    #[error(transparent)]
    Read(#[from] RegionReadError),
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
    let Some(mbr) = disk.read_at(0, mbr::MBR_SECTOR_BYTES)? else {
        return Ok(None);
    };
    if mbr::is_fat_boot_sector(&mbr) {
        return Ok(None);
    }
    let Some(entries) = mbr::parse_mbr_entries(&mbr) else {
        return Ok(None);
    };
    // Like the kernel, trust GPT only behind a protective (or hybrid) MBR: a stale
    // GPT header on a disk since repartitioned with fdisk must not win.
    if entries
        .iter()
        .any(|entry| entry.type_code == mbr::MBR_TYPE_GPT_PROTECTIVE)
    {
        return gpt::read_gpt(&mut disk).map(Some);
    }
    mbr::read_mbr(&mut disk, &mbr, &entries).map(Some)
}

/// The disk with its size, so every read can first check it fits.
type Disk<'a, R> = SizedDevice<'a, R>;

#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) mod tests;
