//! Linux md RAID without mdadm: read a member's superblock, group members into
//! arrays, and decide which members to use and whether an array can run. The kernel
//! does the RAID itself; `md_assemble` hands it the plan made here.
//!
//! Formats: `include/uapi/linux/raid/md_p.h` (`mdp_super_t` for 0.90,
//! `mdp_superblock_1` for 1.x) and the checks in `drivers/md/md.c`
//! (`super_90_load`, `super_1_load`, `analyze_sbs`); section 1 of
//! `storage-formats.md`. Member choice follows mdadm's `Assemble.c`: the newest
//! event count wins, one behind is still accepted (the kernel allows the same), and
//! every member not used is named with the reason.
//!
//! Only one 4 KiB block is read per candidate location (1.2, 1.1, 1.0, then 0.90):
//! this runs on the boot path for every block device.

use super::bytes::{le16, le32, le64};
use std::collections::BTreeMap;
use std::fmt;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::PathBuf;

use thiserror::Error;

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
    #[error("cannot read {len_bytes} bytes at offset {offset_bytes}")]
    Read {
        offset_bytes: u64,
        len_bytes: usize,
        #[source]
        source: io::Error,
    },
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
}

/// The superblock format, as sysfs `metadata_version` and `mdadm -E` spell it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub(crate) enum MetadataVersion {
    V0_90,
    V1_0,
    V1_1,
    V1_2,
}

impl MetadataVersion {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            MetadataVersion::V0_90 => "0.90",
            MetadataVersion::V1_0 => "1.0",
            MetadataVersion::V1_1 => "1.1",
            MetadataVersion::V1_2 => "1.2",
        }
    }
}

impl fmt::Display for MetadataVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// RAID levels the kernel's native personalities handle and kboot assembles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub(crate) enum Level {
    Linear,
    Raid0,
    Raid1,
    Raid4,
    Raid5,
    Raid6,
    Raid10,
}

impl Level {
    /// From the superblock's signed `level` word; `None` for multipath (-4),
    /// faulty (-5) and anything unknown.
    pub(crate) fn from_raw(level: i32) -> Option<Level> {
        match level {
            -1 => Some(Level::Linear),
            0 => Some(Level::Raid0),
            1 => Some(Level::Raid1),
            4 => Some(Level::Raid4),
            5 => Some(Level::Raid5),
            6 => Some(Level::Raid6),
            10 => Some(Level::Raid10),
            _ => None,
        }
    }

    /// As `mdadm` prints "Raid Level" and sysfs `md/level` shows it.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Level::Linear => "linear",
            Level::Raid0 => "raid0",
            Level::Raid1 => "raid1",
            Level::Raid4 => "raid4",
            Level::Raid5 => "raid5",
            Level::Raid6 => "raid6",
            Level::Raid10 => "raid10",
        }
    }

    /// The kernel module holding the personality (`drivers/md/*.ko`).
    pub(crate) fn module(self) -> &'static str {
        match self {
            Level::Linear => "linear",
            Level::Raid0 => "raid0",
            Level::Raid1 => "raid1",
            Level::Raid4 | Level::Raid5 | Level::Raid6 => "raid456",
            Level::Raid10 => "raid10",
        }
    }

    /// How many members may be missing while the array still runs (raid10 depends
    /// on which ones; see [`raid10_runnable`]).
    fn max_missing(self, raid_disks: u32) -> u32 {
        match self {
            Level::Linear | Level::Raid0 => 0,
            Level::Raid1 => raid_disks.saturating_sub(1),
            Level::Raid4 | Level::Raid5 => 1,
            Level::Raid6 => 2,
            Level::Raid10 => raid_disks,
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What a member does in its array.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub(crate) enum Role {
    /// Holds data for slot n (0-based, `raid_disk`).
    Active(u32),
    /// Being rebuilt as the replacement of slot n.
    Replacement(u32),
    Spare,
    Faulty,
    /// raid4/5/6 write journal.
    Journal,
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
    dev.seek(SeekFrom::Start(offset_bytes))
        .and_then(|_| dev.read_exact(&mut block))
        .map_err(|source| MdError::Read {
            offset_bytes,
            len_bytes: SUPERBLOCK_BLOCK_BYTES,
            source,
        })?;
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
    let stored = le32(block, 216);
    let computed = fold_checksum(&block[..checked_len], 216);
    if stored != computed {
        return Err(MdError::BadChecksum {
            version,
            offset_bytes,
            stored,
            computed,
        });
    }
    let feature_map = le32(block, 8);
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
    let raw_level = le32(block, 72) as i32;
    let level = Level::from_raw(raw_level).ok_or(MdError::UnsupportedLevel {
        version,
        offset_bytes,
        level: raw_level,
    })?;

    let member_roles: Vec<Role> = (0..max_dev as usize)
        .map(|n| match le16(block, V1_HEADER_BYTES + 2 * n) {
            0xffff => Role::Spare,
            0xfffe => Role::Faulty,
            0xfffd => Role::Journal,
            slot if slot < 0xff00 => Role::Active(u32::from(slot)),
            _ => Role::Faulty,
        })
        .collect();
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

    let name_field = &block[32..64];
    let name_len = name_field.iter().position(|&b| b == 0).unwrap_or(32);
    let full_name = String::from_utf8_lossy(&name_field[..name_len]).into_owned();
    let name = match full_name.split_once(':') {
        Some((_host, name)) => name.to_owned(),
        None => full_name,
    };

    Ok(Some(MdSuperblock {
        version,
        uuid: uuid_text_v1(&block[16..32]),
        name: (!name.is_empty()).then_some(name),
        level,
        layout: le32(block, 76),
        chunk_size_bytes: u64::from(le32(block, 88)) * SECTOR_BYTES,
        raid_disks: le32(block, 92),
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
    let stored = word(block, 38);
    let computed = fold_checksum(block, 38 * 4);
    if stored != computed {
        return Err(MdError::BadChecksum {
            version,
            offset_bytes,
            stored,
            computed,
        });
    }
    let raw_level = word(block, 7) as i32;
    let level = Level::from_raw(raw_level).ok_or(MdError::UnsupportedLevel {
        version,
        offset_bytes,
        level: raw_level,
    })?;
    let raid_disks = word(block, 10);
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

/// A block device that carries an md superblock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MdMember {
    /// Kernel name, e.g. `vda1`.
    pub device: String,
    pub path: PathBuf,
    pub number: (u32, u32),
    pub superblock: MdSuperblock,
}

/// A member the plan uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PlannedMember {
    pub device: String,
    pub path: PathBuf,
    pub number: (u32, u32),
    pub slot: u32,
    pub events: u64,
}

/// A device with this array's UUID that the plan does not use, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LeftOut {
    pub device: String,
    pub reason: String,
}

impl fmt::Display for LeftOut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.device, self.reason)
    }
}

/// How to assemble one array: what `md_assemble` needs, decided before any write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ArrayPlan {
    pub uuid: String,
    pub name: Option<String>,
    pub version: MetadataVersion,
    pub level: Level,
    pub raid_disks: u32,
    /// The freshest member's event count.
    pub events: u64,
    pub preferred_minor: Option<u32>,
    /// By slot.
    pub members: Vec<PlannedMember>,
    pub missing_slots: Vec<u32>,
    pub left_out: Vec<LeftOut>,
    pub degraded: bool,
}

impl ArrayPlan {
    /// `NAME (UUID u)` or `UUID u`, for messages.
    pub(crate) fn display_name(&self) -> String {
        array_display_name(self.name.as_deref(), &self.uuid)
    }
}

fn array_display_name(name: Option<&str>, uuid: &str) -> String {
    match name {
        Some(name) => format!("{name} (UUID {uuid})"),
        None => format!("UUID {uuid}"),
    }
}

/// Why an array cannot be started.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub(crate) enum PlanError {
    #[error(
        "md array {array} ({level}, {raid_disks} devices) cannot start: slots {missing:?} \
         are missing; found {found}{left_out}"
    )]
    TooFewMembers {
        array: String,
        level: Level,
        raid_disks: u32,
        missing: Vec<u32>,
        found: String,
        left_out: String,
    },
    #[error(
        "md array {array} ({level}) is degraded (slots {missing:?} missing) and was not \
         shut down cleanly; the kernel will not start it (md_mod.start_dirty_degraded=1 \
         forces it, parity may be stale); found {found}{left_out}"
    )]
    DirtyDegraded {
        array: String,
        level: Level,
        missing: Vec<u32>,
        found: String,
        left_out: String,
    },
}

fn describe_members(members: &[PlannedMember]) -> String {
    if members.is_empty() {
        return "no usable members".to_owned();
    }
    members
        .iter()
        .map(|m| format!("{} (slot {})", m.device, m.slot))
        .collect::<Vec<_>>()
        .join(", ")
}

fn describe_left_out(left_out: &[LeftOut]) -> String {
    if left_out.is_empty() {
        return String::new();
    }
    let list = left_out
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    format!("; left out: {list}")
}

/// The kernel's `raid10` `enough()`: walking the slots in steps of the near-copy
/// count, every window of `near * far` consecutive slots needs one member present.
fn raid10_runnable(layout: u32, raid_disks: u32, present: &[bool]) -> bool {
    let near = (layout & 0xff).max(1);
    let far = ((layout >> 8) & 0xff).max(1);
    let copies = near * far;
    let disks = raid_disks.max(1);
    let mut first = 0u32;
    loop {
        let any = (0..copies).any(|i| {
            let slot = (first + i) % disks;
            present.get(slot as usize).copied().unwrap_or(false)
        });
        if !any {
            return false;
        }
        first = (first + near) % disks;
        if first == 0 {
            return true;
        }
    }
}

/// Group members by array UUID and plan each array. Arrays come out in a stable
/// order (by name, then UUID) so kernel names are given out the same way every boot.
pub(crate) fn plan_arrays(members: &[MdMember]) -> Vec<Result<ArrayPlan, PlanError>> {
    let mut by_uuid: BTreeMap<&str, Vec<&MdMember>> = BTreeMap::new();
    for member in members {
        by_uuid
            .entry(member.superblock.uuid.as_str())
            .or_default()
            .push(member);
    }
    let mut plans: Vec<_> = by_uuid
        .into_values()
        .map(|group| plan_array(&group))
        .collect();
    plans.sort_by_key(sort_key);
    plans
}

fn sort_key(plan: &Result<ArrayPlan, PlanError>) -> (Option<String>, String) {
    match plan {
        Ok(plan) => (plan.name.clone(), plan.uuid.clone()),
        Err(PlanError::TooFewMembers { array, .. } | PlanError::DirtyDegraded { array, .. }) => {
            (None, array.clone())
        }
    }
}

/// Plan one array from members that share a UUID (`group` is never empty).
fn plan_array(group: &[&MdMember]) -> Result<ArrayPlan, PlanError> {
    // The freshest superblock describes the array; on a tie the first device seen.
    let mut freshest = group[0];
    for member in group {
        if member.superblock.events > freshest.superblock.events {
            freshest = member;
        }
    }
    let array = &freshest.superblock;
    let mut left_out = Vec::new();
    let mut by_slot: BTreeMap<u32, &MdMember> = BTreeMap::new();
    for &member in group {
        let sb = &member.superblock;
        let leave = |reason: String| LeftOut {
            device: member.device.clone(),
            reason,
        };
        // Kernel and mdadm both accept a member one event behind (an update that
        // reached some members before a crash).
        if sb.events.saturating_add(1) < array.events {
            left_out.push(leave(format!(
                "events {} behind {} on {}",
                sb.events, array.events, freshest.device
            )));
            continue;
        }
        if member.device != freshest.device
            && array.member_roles.get(sb.dev_number as usize) == Some(&Role::Faulty)
        {
            left_out.push(leave(format!(
                "{} records device {} as faulty",
                freshest.device, sb.dev_number
            )));
            continue;
        }
        let slot = match sb.role {
            Role::Active(slot) if slot < array.raid_disks => slot,
            Role::Active(slot) => {
                left_out.push(leave(format!(
                    "slot {slot} is beyond raid_disks {}",
                    array.raid_disks
                )));
                continue;
            }
            Role::Replacement(slot) => {
                left_out.push(leave(format!("replacement for slot {slot}, not in sync")));
                continue;
            }
            Role::Spare => {
                left_out.push(leave("spare".to_owned()));
                continue;
            }
            Role::Faulty => {
                left_out.push(leave("faulty".to_owned()));
                continue;
            }
            Role::Journal => {
                left_out.push(leave("write journal (not used read-only)".to_owned()));
                continue;
            }
        };
        if let Some(recovered) = sb.recovery_offset_sectors {
            left_out.push(leave(format!(
                "only rebuilt up to sector {recovered} of slot {slot}"
            )));
            continue;
        }
        match by_slot.get(&slot) {
            Some(&other) if other.superblock.events >= sb.events => {
                left_out.push(leave(format!(
                    "slot {slot} is also on {}, which is as fresh or fresher",
                    other.device
                )));
            }
            Some(&other) => {
                left_out.push(LeftOut {
                    device: other.device.clone(),
                    reason: format!("slot {slot} is also on {}, which is fresher", member.device),
                });
                by_slot.insert(slot, member);
            }
            None => {
                by_slot.insert(slot, member);
            }
        }
    }

    let planned: Vec<PlannedMember> = by_slot
        .iter()
        .map(|(&slot, member)| PlannedMember {
            device: member.device.clone(),
            path: member.path.clone(),
            number: member.number,
            slot,
            events: member.superblock.events,
        })
        .collect();
    let present: Vec<bool> = (0..array.raid_disks)
        .map(|slot| by_slot.contains_key(&slot))
        .collect();
    let missing_slots: Vec<u32> = (0..array.raid_disks)
        .filter(|slot| !by_slot.contains_key(slot))
        .collect();
    let missing = missing_slots.len() as u32;
    let runnable = !planned.is_empty()
        && match array.level {
            Level::Raid10 => raid10_runnable(array.layout, array.raid_disks, &present),
            level => missing <= level.max_missing(array.raid_disks),
        };
    let name = array_display_name(array.name.as_deref(), &array.uuid);
    if !runnable {
        return Err(PlanError::TooFewMembers {
            array: name,
            level: array.level,
            raid_disks: array.raid_disks,
            missing: missing_slots,
            found: describe_members(&planned),
            left_out: describe_left_out(&left_out),
        });
    }
    let degraded = missing > 0;
    let parity = matches!(array.level, Level::Raid4 | Level::Raid5 | Level::Raid6);
    if degraded && parity && !array.clean {
        return Err(PlanError::DirtyDegraded {
            array: name,
            level: array.level,
            missing: missing_slots,
            found: describe_members(&planned),
            left_out: describe_left_out(&left_out),
        });
    }
    Ok(ArrayPlan {
        uuid: array.uuid.clone(),
        name: array.name.clone(),
        version: array.version,
        level: array.level,
        raid_disks: array.raid_disks,
        events: array.events,
        preferred_minor: array.preferred_minor,
        members: planned,
        missing_slots,
        left_out,
        degraded,
    })
}

/// The highest md minor mdadm counts down from when an array has no number of its own.
const FIRST_FREE_MINOR: u32 = 127;

/// The kernel name (`mdN`) for an array, given which names are taken.
///
/// Like mdadm without an mdadm.conf: a 0.90 array gets its preferred minor, a 1.x
/// array named like a number (`0`, `md0`, as `mdadm --create /dev/md0` names it)
/// gets that number, and everything else counts down from `md127`. Numbered
/// `mdN` nodes (rather than the kernel's `md_NAME`) keep major 9 minors that every
/// tool understands; the name lives in the `/dev/md/NAME` link.
pub(crate) fn choose_kernel_name(plan: &ArrayPlan, taken: &dyn Fn(&str) -> bool) -> Option<String> {
    let wanted = plan.preferred_minor.or_else(|| {
        let name = plan.name.as_deref()?;
        let digits = name.strip_prefix("md").unwrap_or(name);
        digits.parse::<u32>().ok()
    });
    if let Some(minor) = wanted.filter(|&m| m <= 255) {
        let kernel_name = format!("md{minor}");
        if !taken(&kernel_name) {
            return Some(kernel_name);
        }
    }
    (0..=FIRST_FREE_MINOR)
        .rev()
        .map(|minor| format!("md{minor}"))
        .find(|kernel_name| !taken(kernel_name))
}

/// Which arrays the command line allows: dracut's `rd.md=0` (none) and
/// `rd.md.uuid=U` (only these; may repeat).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MdFilter {
    pub assemble: bool,
    /// Normalised UUIDs (see [`normalize_uuid`]); empty means every array.
    pub uuids: Vec<String>,
}

impl Default for MdFilter {
    fn default() -> Self {
        MdFilter {
            assemble: true,
            uuids: Vec::new(),
        }
    }
}

/// dracut compares md UUIDs with ':' and '-' removed, ignoring case.
pub(crate) fn normalize_uuid(uuid: &str) -> String {
    uuid.chars()
        .filter(|c| *c != ':' && *c != '-')
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

impl MdFilter {
    /// From command-line parameters `(param, value)`; others are ignored.
    pub(crate) fn from_params<'a>(
        params: impl IntoIterator<Item = (&'a str, Option<&'a str>)>,
    ) -> Self {
        let mut filter = MdFilter::default();
        for (param, value) in params {
            match (param, value) {
                ("rd.md", Some(value)) => filter.assemble = !matches!(value, "0" | "no" | "off"),
                ("rd.md.uuid", Some(uuid)) => filter.uuids.push(normalize_uuid(uuid)),
                _ => {}
            }
        }
        filter
    }

    pub(crate) fn allows(&self, uuid: &str) -> bool {
        self.assemble && (self.uuids.is_empty() || self.uuids.contains(&normalize_uuid(uuid)))
    }
}

/// The superblocks in `tests/data/md-lvm/`, read in place on the sampled disks.
#[cfg(test)]
mod sample_tests;

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
