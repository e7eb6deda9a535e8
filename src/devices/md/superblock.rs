//! One md member's superblock: find it (1.2, 1.1, 1.0, then 0.90), check it the way
//! the kernel does (`super_90_load`, `super_1_load`) and read what it says about the
//! array and this member. Pure apart from reading one 4 KiB block per location.
//!
//! Formats: `include/uapi/linux/raid/md_p.h` (`mdp_super_t` for 0.90,
//! `mdp_superblock_1` for 1.x).
//!
//! Only one 4 KiB block is read per candidate location: this runs on the boot path
//! for every block device.

use std::io::{Read, Seek};

use thiserror::Error;

use super::{Level, MetadataVersion, Role};
use crate::bytes::{le16, le32, le64, read_exact_at, RegionReadError};

/// `MD_SB_MAGIC`, the first word of every native md superblock.
pub(crate) const MD_MAGIC: u32 = 0xa92b_4efc;
const SECTOR_BYTES: u64 = 512;
/// Both superblock formats fit in (and are read as) one 4 KiB block.
const SUPERBLOCK_BLOCK_BYTES: usize = 4096;
/// 0.90 lives in the last 64 KiB-aligned 64 KiB of the device.
const V090_RESERVED_BYTES: u64 = 64 * 1024;
/// `MD_SB_DISKS`: entries in the 0.90 disk table.
const V090_DISKS: usize = 27;
/// 1.x header size before `dev_roles[]`.
const V1_HEADER_BYTES: usize = 256;
/// `resync_offset` of a 1.x array that needs no resync (`MaxSector`).
const V1_RESYNC_DONE: u64 = u64::MAX;

/// 1.x `feature_map` bits (`MD_FEATURE_*` in md_p.h).
pub(crate) mod feature {
    #[cfg(test)]
    pub(crate) const BITMAP_OFFSET: u32 = 1;
    pub(crate) const RECOVERY_OFFSET: u32 = 2;
    pub(crate) const RESHAPE_ACTIVE: u32 = 4;
    pub(crate) const REPLACEMENT: u32 = 16;
    pub(crate) const CLUSTERED: u32 = 256;
    /// Every bit the 6.1 kernel knows (`MD_FEATURE_ALL`); kboot needs no other by
    /// name (8 bad blocks, 32 reshape backwards, 64 new offset, 128 recovery bitmap,
    /// 512 journal, 1024 PPL, 2048 multiple PPLs, 4096 RAID0 layout).
    pub(crate) const KNOWN: u32 = 0x1fff;
}

/// Errors from reading one member's superblock. `offset_bytes` is where on the
/// device the superblock was found.
#[derive(Debug, Error)]
pub(crate) enum MdError {
    #[error(transparent)]
    Read(#[from] RegionReadError),
    #[error(
        "md {version} superblock at offset {offset_bytes} has a bad checksum \
         (stored {stored:#010x}, computed {computed:#010x}); member left out"
    )]
    BadChecksum {
        version: MetadataVersion,
        offset_bytes: u64,
        stored: u32,
        computed: u32,
    },
    #[error("md {version} superblock at offset {offset_bytes}: unknown version {major}.{minor}")]
    UnknownVersion {
        version: MetadataVersion,
        offset_bytes: u64,
        major: u32,
        minor: u32,
    },
    #[error(
        "md {version} superblock at offset {offset_bytes}: RAID level {level} is not \
         supported (supported: linear, 0, 1, 4, 5, 6, 10)"
    )]
    UnsupportedLevel {
        version: MetadataVersion,
        offset_bytes: u64,
        level: i32,
    },
    #[error(
        "md {version} superblock at offset {offset_bytes}: a reshape is in progress; \
         assemble this array with mdadm on a running system to finish it"
    )]
    ReshapeActive {
        version: MetadataVersion,
        offset_bytes: u64,
    },
    #[error(
        "md {version} superblock at offset {offset_bytes}: clustered md arrays are \
         not supported"
    )]
    Clustered {
        version: MetadataVersion,
        offset_bytes: u64,
    },
    #[error(
        "md {version} superblock at offset {offset_bytes}: unknown feature bits \
         {bits:#x} (feature_map {feature_map:#x})"
    )]
    UnknownFeatures {
        version: MetadataVersion,
        offset_bytes: u64,
        feature_map: u32,
        bits: u32,
    },
    #[error(
        "md {version} superblock at offset {offset_bytes}: max_dev {max_dev} does \
         not fit in a 4 KiB superblock"
    )]
    BadMaxDev {
        version: MetadataVersion,
        offset_bytes: u64,
        max_dev: u32,
    },
    #[error(
        "md {version} superblock at offset {offset_bytes}: raid_disks {raid_disks} is more \
         than this metadata can describe ({limit})"
    )]
    BadRaidDisks {
        version: MetadataVersion,
        offset_bytes: u64,
        raid_disks: u32,
        limit: u32,
    },
}

/// A `raid_disks` no larger than `limit` (the role table's size: every slot needs a
/// member that can name it), so no plan ever walks billions of slots.
fn check_raid_disks(
    version: MetadataVersion,
    offset_bytes: u64,
    raid_disks: u32,
    limit: usize,
) -> Result<u32, MdError> {
    let limit = u32::try_from(limit).unwrap_or(u32::MAX);
    if raid_disks > limit {
        return Err(MdError::BadRaidDisks {
            version,
            offset_bytes,
            raid_disks,
            limit,
        });
    }
    Ok(raid_disks)
}

/// One entry of the 0.90 disk table (`mdp_disk_t`), including `this_disk`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub(crate) struct DiskEntry090 {
    pub number: u32,
    pub major: u32,
    pub minor: u32,
    pub raid_disk: u32,
    pub state: u32,
}

/// `mdp_disk_t.state` bits.
const DISK_FAULTY: u32 = 1 << 0;
const DISK_ACTIVE: u32 = 1 << 1;
const DISK_SYNC: u32 = 1 << 2;
const DISK_REMOVED: u32 = 1 << 3;

/// What one member's superblock says.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub(crate) struct MdSuperblock {
    pub version: MetadataVersion,
    /// As `mdadm --examine` prints "Array UUID" (1.x) / "UUID" (0.90).
    pub uuid: String,
    /// 1.x `set_name` without its `homehost:` prefix; `None` for 0.90 or empty.
    pub name: Option<String>,
    pub level: Level,
    pub layout: u32,
    pub chunk_size_bytes: u64,
    pub raid_disks: u32,
    pub events: u64,
    /// This member's index in the role table (1.x `dev_number`, 0.90 `this_disk.number`).
    pub dev_number: u32,
    pub role: Role,
    /// What this superblock says about every member, by device number. The
    /// freshest member's table decides whether an older member was failed.
    pub member_roles: Vec<Role>,
    pub data_offset_sectors: u64,
    pub data_size_sectors: u64,
    /// Where the superblock is, in sectors from the start of the device.
    pub super_offset_sectors: u64,
    /// 1.x `feature_map`; 0 for 0.90.
    pub feature_map: u32,
    /// Set when this member is only rebuilt up to here (1.x `recovery_offset`).
    pub recovery_offset_sectors: Option<u64>,
    /// No resync pending (0.90 `MD_SB_CLEAN`; 1.x `resync_offset == MaxSector`).
    pub clean: bool,
    /// 0.90 `md_minor`: the array wants to be `/dev/mdN`.
    pub preferred_minor: Option<u32>,
    /// 0.90 `this_disk`.
    pub this_disk: Option<DiskEntry090>,
}

/// The 0.90 u32 word `n` (host-endian, which is little-endian on x86).
fn word(buf: &[u8], n: usize) -> u32 {
    le32(buf, n * 4)
}

fn read_block<R: Read + Seek>(
    dev: &mut R,
    offset_bytes: u64,
) -> Result<[u8; SUPERBLOCK_BLOCK_BYTES], MdError> {
    let mut block = [0u8; SUPERBLOCK_BLOCK_BYTES];
    read_exact_at(dev, offset_bytes, &mut block)?;
    Ok(block)
}

/// Sum of little-endian u32 words with the 64-bit carry folded back in, as both
/// `calc_sb_csum` (0.90) and `calc_sb_1_csum` (1.x) compute it. `skip` is the byte
/// offset of the checksum field itself, counted as zero. A trailing half word is
/// added as a u16.
fn fold_checksum(bytes: &[u8], skip: usize) -> u32 {
    let mut sum: u64 = 0;
    let mut chunks = bytes.chunks_exact(4);
    for (index, chunk) in chunks.by_ref().enumerate() {
        if index * 4 != skip {
            sum += u64::from(le32(chunk, 0));
        }
    }
    let rest = chunks.remainder();
    if rest.len() >= 2 {
        sum += u64::from(le16(rest, 0));
    }
    // Fold: the result fits in 33 bits, the kernel keeps the low 32 of that.
    ((sum & 0xffff_ffff) + (sum >> 32)) as u32
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// 1.x UUID text: the 16 bytes in disk order, a ':' after every 4.
fn uuid_text_v1(bytes: &[u8]) -> String {
    bytes.chunks(4).map(hex).collect::<Vec<_>>().join(":")
}

/// Identify and parse an md superblock on `dev`, a device of `size_bytes` bytes.
///
/// Tries 1.2 (sector 8), 1.1 (sector 0), 1.0 (end) and then 0.90 (last 64 KiB).
/// `Ok(None)` when none is there. A block whose magic matches but whose
/// `super_offset` is not where it was found is not a superblock (an image copied
/// to another offset). A damaged or unsupported superblock is an error: the device
/// is an md member and must not be probed as a filesystem.
pub(crate) fn read_superblock<R: Read + Seek>(
    dev: &mut R,
    size_bytes: u64,
) -> Result<Option<MdSuperblock>, MdError> {
    let sectors = size_bytes / SECTOR_BYTES;
    let block_sectors = SUPERBLOCK_BLOCK_BYTES as u64 / SECTOR_BYTES;
    let v1_locations = [
        (MetadataVersion::V1_2, Some(8)),
        (MetadataVersion::V1_1, Some(0)),
        (
            MetadataVersion::V1_0,
            sectors.checked_sub(16).map(|s| s & !7),
        ),
    ];
    for (version, sector) in v1_locations {
        let Some(sector) = sector else { continue };
        if sector + block_sectors > sectors {
            continue;
        }
        let block = read_block(dev, sector * SECTOR_BYTES)?;
        if let Some(superblock) = parse_v1(&block, version, sector)? {
            return Ok(Some(superblock));
        }
    }
    let aligned = size_bytes & !(V090_RESERVED_BYTES - 1);
    if let Some(offset_bytes) = aligned.checked_sub(V090_RESERVED_BYTES) {
        let block = read_block(dev, offset_bytes)?;
        return parse_v090(&block, offset_bytes);
    }
    Ok(None)
}

/// Parse a 1.x superblock read at `sector`. `Ok(None)` when it is not one.
pub(crate) fn parse_v1(
    block: &[u8; SUPERBLOCK_BLOCK_BYTES],
    version: MetadataVersion,
    sector: u64,
) -> Result<Option<MdSuperblock>, MdError> {
    let offset_bytes = sector * SECTOR_BYTES;
    if le32(block, 0) != MD_MAGIC || le32(block, 4) != 1 || le64(block, 144) != sector {
        return Ok(None);
    }
    let max_dev = le32(block, 220);
    let max_dev_fits = (SUPERBLOCK_BLOCK_BYTES - V1_HEADER_BYTES) / 2;
    if max_dev as usize > max_dev_fits {
        return Err(MdError::BadMaxDev {
            version,
            offset_bytes,
            max_dev,
        });
    }
    let checked_len = V1_HEADER_BYTES + 2 * max_dev as usize;
    check_checksum(
        version,
        offset_bytes,
        le32(block, 216),
        fold_checksum(&block[..checked_len], 216),
    )?;
    let feature_map = le32(block, 8);
    check_v1_features(version, offset_bytes, feature_map)?;
    let level = supported_level(version, offset_bytes, le32(block, 72) as i32)?;
    let raid_disks = check_raid_disks(version, offset_bytes, le32(block, 92), max_dev_fits)?;

    let member_roles = v1_member_roles(block, max_dev);
    let dev_number = le32(block, 160);
    // The kernel treats a device number outside the table as a spare.
    let own_role = member_roles
        .get(dev_number as usize)
        .copied()
        .unwrap_or(Role::Spare);
    let role = match own_role {
        Role::Active(slot) if feature_map & feature::REPLACEMENT != 0 => Role::Replacement(slot),
        other => other,
    };
    let name = v1_array_name(block);

    Ok(Some(MdSuperblock {
        version,
        uuid: uuid_text_v1(&block[16..32]),
        name: (!name.is_empty()).then_some(name),
        level,
        layout: le32(block, 76),
        chunk_size_bytes: u64::from(le32(block, 88)) * SECTOR_BYTES,
        raid_disks,
        events: le64(block, 200),
        dev_number,
        role,
        member_roles,
        data_offset_sectors: le64(block, 128),
        data_size_sectors: le64(block, 136),
        super_offset_sectors: sector,
        feature_map,
        recovery_offset_sectors: (feature_map & feature::RECOVERY_OFFSET != 0)
            .then(|| le64(block, 152)),
        clean: le64(block, 208) == V1_RESYNC_DONE,
        preferred_minor: None,
        this_disk: None,
    }))
}

/// The stored checksum must be the one computed over the superblock.
fn check_checksum(
    version: MetadataVersion,
    offset_bytes: u64,
    stored: u32,
    computed: u32,
) -> Result<(), MdError> {
    if stored != computed {
        return Err(MdError::BadChecksum {
            version,
            offset_bytes,
            stored,
            computed,
        });
    }
    Ok(())
}

/// The RAID level from the superblock's signed `level` word, if kboot assembles it.
fn supported_level(
    version: MetadataVersion,
    offset_bytes: u64,
    raw_level: i32,
) -> Result<Level, MdError> {
    Level::from_raw(raw_level).ok_or(MdError::UnsupportedLevel {
        version,
        offset_bytes,
        level: raw_level,
    })
}

/// A 1.x `feature_map` kboot can assemble: only known bits, no reshape in progress,
/// not clustered.
fn check_v1_features(
    version: MetadataVersion,
    offset_bytes: u64,
    feature_map: u32,
) -> Result<(), MdError> {
    let unknown = feature_map & !feature::KNOWN;
    if unknown != 0 {
        return Err(MdError::UnknownFeatures {
            version,
            offset_bytes,
            feature_map,
            bits: unknown,
        });
    }
    if feature_map & feature::RESHAPE_ACTIVE != 0 {
        return Err(MdError::ReshapeActive {
            version,
            offset_bytes,
        });
    }
    if feature_map & feature::CLUSTERED != 0 {
        return Err(MdError::Clustered {
            version,
            offset_bytes,
        });
    }
    Ok(())
}

/// The 1.x `dev_roles[]` table: every member's role, by device number.
fn v1_member_roles(block: &[u8; SUPERBLOCK_BLOCK_BYTES], max_dev: u32) -> Vec<Role> {
    (0..max_dev as usize)
        .map(|n| match le16(block, V1_HEADER_BYTES + 2 * n) {
            0xffff => Role::Spare,
            0xfffe => Role::Faulty,
            0xfffd => Role::Journal,
            slot if slot < 0xff00 => Role::Active(u32::from(slot)),
            _ => Role::Faulty,
        })
        .collect()
}

/// The 1.x `set_name` up to its first NUL, without its `homehost:` prefix.
fn v1_array_name(block: &[u8; SUPERBLOCK_BLOCK_BYTES]) -> String {
    let name_field = &block[32..64];
    let name_len = name_field.iter().position(|&b| b == 0).unwrap_or(32);
    let full_name = String::from_utf8_lossy(&name_field[..name_len]).into_owned();
    match full_name.split_once(':') {
        Some((_host, name)) => name.to_owned(),
        None => full_name,
    }
}

fn disk_entry_090(block: &[u8], first_word: usize) -> DiskEntry090 {
    DiskEntry090 {
        number: word(block, first_word),
        major: word(block, first_word + 1),
        minor: word(block, first_word + 2),
        raid_disk: word(block, first_word + 3),
        state: word(block, first_word + 4),
    }
}

fn role_090(entry: &DiskEntry090, raid_disks: u32) -> Role {
    if entry.state & (DISK_FAULTY | DISK_REMOVED) != 0 {
        Role::Faulty
    } else if entry.state & DISK_ACTIVE != 0
        && entry.state & DISK_SYNC != 0
        && entry.raid_disk < raid_disks
    {
        Role::Active(entry.raid_disk)
    } else {
        Role::Spare
    }
}

/// Parse a 0.90 superblock read at `offset_bytes`. `Ok(None)` when it is not one.
pub(crate) fn parse_v090(
    block: &[u8; SUPERBLOCK_BLOCK_BYTES],
    offset_bytes: u64,
) -> Result<Option<MdSuperblock>, MdError> {
    let version = MetadataVersion::V0_90;
    if word(block, 0) != MD_MAGIC {
        return Ok(None);
    }
    let (major, minor) = (word(block, 1), word(block, 2));
    // 0.91 is 0.90 with a reshape in progress (md.c `super_90_load`).
    if major == 0 && minor == 91 {
        return Err(MdError::ReshapeActive {
            version,
            offset_bytes,
        });
    }
    if major != 0 || minor != 90 {
        return Err(MdError::UnknownVersion {
            version,
            offset_bytes,
            major,
            minor,
        });
    }
    check_checksum(
        version,
        offset_bytes,
        word(block, 38),
        fold_checksum(block, 38 * 4),
    )?;
    let level = supported_level(version, offset_bytes, word(block, 7) as i32)?;
    let raid_disks = check_raid_disks(version, offset_bytes, word(block, 10), V090_DISKS)?;
    let this_disk = disk_entry_090(block, 992);
    let member_roles = (0..V090_DISKS)
        .map(|n| role_090(&disk_entry_090(block, 128 + 32 * n), raid_disks))
        .collect();
    let uuid = [5, 13, 14, 15]
        .iter()
        .map(|&n| format!("{:08x}", word(block, n)))
        .collect::<Vec<_>>()
        .join(":");
    let events = u64::from(word(block, 40)) << 32 | u64::from(word(block, 39));
    Ok(Some(MdSuperblock {
        version,
        uuid,
        name: None,
        level,
        layout: word(block, 64),
        chunk_size_bytes: u64::from(word(block, 65)),
        raid_disks,
        events,
        dev_number: this_disk.number,
        role: role_090(&this_disk, raid_disks),
        member_roles,
        data_offset_sectors: 0,
        data_size_sectors: u64::from(word(block, 8)) * 2,
        super_offset_sectors: offset_bytes / SECTOR_BYTES,
        feature_map: 0,
        recovery_offset_sectors: None,
        clean: word(block, 33) & 1 != 0,
        preferred_minor: Some(word(block, 11)),
        this_disk: Some(this_disk),
    }))
}

/// The superblocks in `tests/data/md-lvm/`, read in place on the sampled disks.
#[cfg(test)]
mod sample_tests;

#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) mod tests;
