//! Linux md RAID without mdadm: read a member's superblock, group members into
//! arrays, and decide which members to use and whether an array can run. The kernel
//! does the RAID itself; `assemble` hands it the plan made here.
//!
//! Formats: `include/uapi/linux/raid/md_p.h` (`mdp_super_t` for 0.90,
//! `mdp_superblock_1` for 1.x) and the checks in `drivers/md/md.c`
//! (`super_90_load`, `super_1_load`, `analyze_sbs`); section 1 of
//! `storage-formats.md`. Member choice follows mdadm's `Assemble.c`: the newest
//! event count wins, one behind is still accepted (the kernel allows the same), and
//! every member not used is named with the reason.
//!
//! - `superblock`: one member's 0.90 or 1.x superblock, parsed from one 4 KiB block.
//! - `plan`: members grouped into arrays, the members each array uses, whether it
//!   can start, and its kernel name (pure).
//! - `assemble`: the sysfs side that starts a planned array read-only.

use std::fmt;

pub(crate) mod assemble;
pub(crate) mod plan;
pub(crate) mod superblock;

pub(crate) use plan::{plan_arrays, ArrayPlan, MdFilter, MdMember};
pub(crate) use superblock::{read_superblock, MdSuperblock};

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
    /// on which ones; see `plan::raid10_runnable`).
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
