//! FAT12/16/32: the BIOS parameter block, and the volume label entry in the root
//! directory.

use std::io::{Read, Seek};

use super::{label_string, Device, FsInfo, FsType, ProbeError};
use crate::bytes::{field, le16, le32};

const FAT_DIR_ENTRY_BYTES: usize = 32;
const FAT_ATTR_VOLUME_ID: u8 = 0x08;
const FAT_ATTR_DIR: u8 = 0x10;
const FAT_ATTR_LONG_NAME: u8 = 0x0F;
const FAT_ATTR_MASK: u8 = 0x3F;
/// How much of the root directory to scan for the volume label entry. mkfs.fat and
/// fatlabel put it first; the cap keeps a corrupt entry count from making us read
/// megabytes on the boot path.
const FAT_ROOT_SCAN_MAX_BYTES: u64 = 64 * 1024;
const FAT_NO_NAME: &[u8] = b"NO NAME    ";

/// The BIOS parameter block fields that locate the root directory.
struct FatGeometry {
    sector_size_bytes: u64,
    sectors_per_cluster: u64,
    reserved_sectors: u64,
    fat_count: u64,
}

pub(super) fn probe_vfat<R: Read + Seek>(
    device: &mut Device<'_, R>,
    head: &[u8],
) -> Result<Option<FsInfo>, ProbeError> {
    let Some(geometry) = fat_geometry(head) else {
        return Ok(None);
    };
    let fat16_size_sectors = u64::from(le16(head, 0x16));
    let fat32_size_sectors = u64::from(le32(head, 0x24));
    // FAT32 has no 16-bit FAT size; its extended BPB sits 0x1C bytes further on.
    let (is_fat32, ebpb_at) = if fat16_size_sectors != 0 {
        (false, 0x24)
    } else if fat32_size_sectors != 0 {
        (true, 0x40)
    } else {
        return Ok(None);
    };
    let has_ebpb = field(head, ebpb_at + 2, 1) == [0x29];
    let serial = field(head, ebpb_at + 3, 4);
    let boot_label = if has_ebpb {
        field(head, ebpb_at + 7, 11)
    } else {
        &[]
    };

    let root_label = if is_fat32 {
        let root_cluster = u64::from(le32(head, 0x2C));
        fat32_root_region(&geometry, fat32_size_sectors, root_cluster)
    } else {
        let root_entries = u64::from(le16(head, 0x11));
        fat16_root_region(&geometry, fat16_size_sectors, root_entries)
    };
    let root_label = match root_label {
        Some((offset_bytes, len_bytes)) => match device.read_at(offset_bytes, len_bytes)? {
            Some(dir) => find_volume_label_entry(&dir),
            None => None,
        },
        None => None,
    };

    // blkid 2.38 reports LABEL only from the root directory entry (and the boot
    // sector's as LABEL_FATBOOT); older blkid fell back to the boot sector label.
    // mkfs.fat and fatlabel write both, so we fall back too: a LABEL= that worked with
    // either version keeps working.
    let label = match root_label {
        Some(name) => label_string(&name),
        None if boot_label != FAT_NO_NAME => label_string(boot_label),
        None => None,
    };
    let uuid = match serial {
        [a, b, c, d] if serial.iter().any(|&x| x != 0) => {
            Some(format!("{d:02X}{c:02X}-{b:02X}{a:02X}"))
        }
        _ => None,
    };
    Ok(Some(FsInfo::new(FsType::Vfat, uuid, label)))
}

/// The BPB if the sector looks like a FAT boot sector: a jump instruction, the
/// 0x55AA signature and sane geometry. The geometry checks are what keep an MBR or an
/// NTFS/exFAT boot sector (which share the jump and signature) from matching.
fn fat_geometry(head: &[u8]) -> Option<FatGeometry> {
    if !matches!(field(head, 0, 1), [0xEB] | [0xE9]) || field(head, 510, 2) != [0x55, 0xAA] {
        return None;
    }
    let sector_size_bytes = le16(head, 0x0B);
    let sectors_per_cluster = *field(head, 0x0D, 1).first()?;
    let reserved_sectors = le16(head, 0x0E);
    let fat_count = *field(head, 0x10, 1).first()?;
    let media = *field(head, 0x15, 1).first()?;
    let sane = (512..=4096).contains(&sector_size_bytes)
        && sector_size_bytes.is_power_of_two()
        && sectors_per_cluster.is_power_of_two()
        && reserved_sectors != 0
        && fat_count != 0
        && (media == 0xF0 || media >= 0xF8);
    sane.then(|| FatGeometry {
        sector_size_bytes: u64::from(sector_size_bytes),
        sectors_per_cluster: u64::from(sectors_per_cluster),
        reserved_sectors: u64::from(reserved_sectors),
        fat_count: u64::from(fat_count),
    })
}

/// FAT12/16: the root directory is a fixed area right after the FATs.
fn fat16_root_region(
    geometry: &FatGeometry,
    fat_size_sectors: u64,
    root_entries: u64,
) -> Option<(u64, usize)> {
    let start_sectors = geometry
        .fat_count
        .checked_mul(fat_size_sectors)?
        .checked_add(geometry.reserved_sectors)?;
    let offset_bytes = start_sectors.checked_mul(geometry.sector_size_bytes)?;
    let len_bytes = root_entries
        .checked_mul(FAT_DIR_ENTRY_BYTES as u64)?
        .min(FAT_ROOT_SCAN_MAX_BYTES);
    Some((offset_bytes, usize::try_from(len_bytes).ok()?))
}

/// FAT32: the root directory is a cluster chain; only its first cluster is scanned.
fn fat32_root_region(
    geometry: &FatGeometry,
    fat_size_sectors: u64,
    root_cluster: u64,
) -> Option<(u64, usize)> {
    // Cluster numbering starts at 2, at the first sector after the FATs.
    let cluster_index = root_cluster.checked_sub(2)?;
    let data_start_sectors = geometry
        .fat_count
        .checked_mul(fat_size_sectors)?
        .checked_add(geometry.reserved_sectors)?;
    let root_sectors = cluster_index
        .checked_mul(geometry.sectors_per_cluster)?
        .checked_add(data_start_sectors)?;
    let offset_bytes = root_sectors.checked_mul(geometry.sector_size_bytes)?;
    let len_bytes = geometry
        .sectors_per_cluster
        .checked_mul(geometry.sector_size_bytes)?
        .min(FAT_ROOT_SCAN_MAX_BYTES);
    Some((offset_bytes, usize::try_from(len_bytes).ok()?))
}

/// The 11-byte name of the volume label entry in a directory, if there is one.
fn find_volume_label_entry(dir: &[u8]) -> Option<[u8; 11]> {
    for entry in dir.chunks_exact(FAT_DIR_ENTRY_BYTES) {
        let mut name: [u8; 11] = field(entry, 0, 11).try_into().ok()?;
        let attr = *field(entry, 11, 1).first()?;
        match name[0] {
            0x00 => return None, // end of directory
            0xE5 => continue,    // deleted entry
            _ => {}
        }
        if attr & FAT_ATTR_MASK == FAT_ATTR_LONG_NAME {
            continue;
        }
        if attr & (FAT_ATTR_VOLUME_ID | FAT_ATTR_DIR) == FAT_ATTR_VOLUME_ID {
            // 0x05 stands for a real 0xE5 first byte, which would read as "deleted".
            if name[0] == 0x05 {
                name[0] = 0xE5;
            }
            return Some(name);
        }
    }
    None
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
