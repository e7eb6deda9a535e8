use super::*;
use crate::bytes::{put_le16, put_le32, put_le64};
use crate::devices::md::MdMember;
use std::io::{self, Cursor};
use std::path::{Path, PathBuf};

const UUID_BYTES: [u8; 16] = [
    0x4b, 0x42, 0x4f, 0x4f, 0x00, 0x01, 0x40, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
];
pub(crate) const UUID_TEXT: &str = "4b424f4f:00014000:80000000:00000001";

/// A 1.x superblock laid out byte by byte from `struct mdp_superblock_1`.
#[derive(Clone)]
pub(crate) struct V1Builder {
    pub version: MetadataVersion,
    pub size_bytes: u64,
    pub name: &'static str,
    pub level: i32,
    pub layout: u32,
    pub chunk_sectors: u32,
    pub raid_disks: u32,
    pub events: u64,
    pub dev_number: u32,
    pub roles: Vec<u16>,
    pub data_offset_sectors: u64,
    pub feature_map: u32,
    pub resync_offset: u64,
    pub recovery_offset: u64,
}

impl V1Builder {
    pub(crate) fn new(version: MetadataVersion) -> Self {
        V1Builder {
            version,
            size_bytes: 8 * 1024 * 1024,
            name: "kboot:data",
            level: 1,
            layout: 0,
            chunk_sectors: 0,
            raid_disks: 2,
            events: 17,
            dev_number: 1,
            roles: vec![0, 1],
            data_offset_sectors: match version {
                MetadataVersion::V1_0 => 0,
                _ => 2048,
            },
            feature_map: 0,
            resync_offset: u64::MAX,
            recovery_offset: 0,
        }
    }

    pub(crate) fn super_sector(&self) -> u64 {
        match self.version {
            MetadataVersion::V1_2 => 8,
            MetadataVersion::V1_1 => 0,
            _ => ((self.size_bytes / 512) - 16) & !7,
        }
    }

    pub(crate) fn data_size_sectors(&self) -> u64 {
        let sectors = self.size_bytes / 512;
        match self.version {
            MetadataVersion::V1_0 => self.super_sector() - 8,
            _ => sectors - self.data_offset_sectors,
        }
    }

    pub(crate) fn block(&self) -> [u8; 4096] {
        let mut b = [0u8; 4096];
        put_le32(&mut b, 0, MD_MAGIC);
        put_le32(&mut b, 4, 1);
        put_le32(&mut b, 8, self.feature_map);
        b[16..32].copy_from_slice(&UUID_BYTES);
        b[32..32 + self.name.len()].copy_from_slice(self.name.as_bytes());
        put_le64(&mut b, 64, 1_700_000_000);
        put_le32(&mut b, 72, self.level as u32);
        put_le32(&mut b, 76, self.layout);
        put_le64(&mut b, 80, self.data_size_sectors());
        put_le32(&mut b, 88, self.chunk_sectors);
        put_le32(&mut b, 92, self.raid_disks);
        put_le64(&mut b, 128, self.data_offset_sectors);
        put_le64(&mut b, 136, self.data_size_sectors());
        put_le64(&mut b, 144, self.super_sector());
        put_le64(&mut b, 152, self.recovery_offset);
        put_le32(&mut b, 160, self.dev_number);
        b[168..184].copy_from_slice(&[0x11; 16]);
        put_le64(&mut b, 192, 1_700_000_100);
        put_le64(&mut b, 200, self.events);
        put_le64(&mut b, 208, self.resync_offset);
        put_le32(&mut b, 220, self.roles.len() as u32);
        for (n, role) in self.roles.iter().enumerate() {
            put_le16(&mut b, 256 + 2 * n, *role);
        }
        let len = 256 + 2 * self.roles.len();
        let csum = fold_checksum(&b[..len], 216);
        put_le32(&mut b, 216, csum);
        b
    }

    pub(crate) fn image(&self) -> Vec<u8> {
        let mut image = vec![0u8; self.size_bytes as usize];
        let at = (self.super_sector() * 512) as usize;
        image[at..at + 4096].copy_from_slice(&self.block());
        image
    }
}

/// A 0.90 superblock laid out word by word from `mdp_super_t` (little-endian).
#[derive(Clone)]
pub(crate) struct V090Builder {
    pub size_bytes: u64,
    pub level: i32,
    pub layout: u32,
    pub chunk_bytes: u32,
    pub raid_disks: u32,
    pub events: u64,
    pub md_minor: u32,
    pub this_number: u32,
    /// (raid_disk, state) per table entry.
    pub disks: Vec<(u32, u32)>,
    pub clean: bool,
    pub minor_version: u32,
}

const SYNCED: u32 = DISK_ACTIVE | DISK_SYNC;

impl V090Builder {
    pub(crate) fn new() -> Self {
        V090Builder {
            size_bytes: 8 * 1024 * 1024 + 12345,
            level: 1,
            layout: 0,
            chunk_bytes: 0,
            raid_disks: 2,
            events: 0x1_0000_0005,
            md_minor: 3,
            this_number: 1,
            disks: vec![(0, SYNCED), (1, SYNCED)],
            clean: true,
            minor_version: 90,
        }
    }

    pub(crate) fn offset_bytes(&self) -> u64 {
        (self.size_bytes & !0xffff) - 0x10000
    }

    pub(crate) fn block(&self) -> [u8; 4096] {
        let mut b = [0u8; 4096];
        let mut put = |n: usize, v: u32| put_le32(&mut b, n * 4, v);
        put(0, MD_MAGIC);
        put(1, 0);
        put(2, self.minor_version);
        put(5, 0x4b424f4f);
        put(6, 1_700_000_000);
        put(7, self.level as u32);
        put(8, (self.offset_bytes() / 1024) as u32);
        put(9, self.disks.len() as u32);
        put(10, self.raid_disks);
        put(11, self.md_minor);
        put(13, 0x00014000);
        put(14, 0x80000000);
        put(15, 0x00000001);
        put(32, 1_700_000_100);
        put(33, u32::from(self.clean));
        put(34, self.raid_disks);
        put(35, self.raid_disks);
        put(39, self.events as u32);
        put(40, (self.events >> 32) as u32);
        put(64, self.layout);
        put(65, self.chunk_bytes);
        for (n, &(raid_disk, state)) in self.disks.iter().enumerate() {
            let w = 128 + 32 * n;
            put(w, n as u32);
            put(w + 1, 8);
            put(w + 2, 16 * (n as u32 + 1));
            put(w + 3, raid_disk);
            put(w + 4, state);
            if n as u32 == self.this_number {
                put(992, n as u32);
                put(993, 8);
                put(994, 16 * (n as u32 + 1));
                put(995, raid_disk);
                put(996, state);
            }
        }
        let csum = fold_checksum(&b, 38 * 4);
        b[38 * 4..39 * 4].copy_from_slice(&csum.to_le_bytes());
        b
    }

    pub(crate) fn image(&self) -> Vec<u8> {
        let mut image = vec![0u8; self.size_bytes as usize];
        let at = self.offset_bytes() as usize;
        image[at..at + 4096].copy_from_slice(&self.block());
        image
    }
}

pub(crate) fn read(image: &[u8]) -> Result<Option<MdSuperblock>, MdError> {
    read_superblock(&mut Cursor::new(image), image.len() as u64)
}

#[test]
fn v1_2_fields_are_read() {
    let builder = V1Builder::new(MetadataVersion::V1_2);
    let sb = read(&builder.image()).unwrap().unwrap();
    assert_eq!(sb.version, MetadataVersion::V1_2);
    assert_eq!(sb.uuid, UUID_TEXT);
    assert_eq!(sb.name.as_deref(), Some("data"));
    assert_eq!(sb.level, Level::Raid1);
    assert_eq!(sb.raid_disks, 2);
    assert_eq!(sb.events, 17);
    assert_eq!(sb.dev_number, 1);
    assert_eq!(sb.role, Role::Active(1));
    assert_eq!(sb.member_roles, vec![Role::Active(0), Role::Active(1)]);
    assert_eq!(sb.data_offset_sectors, 2048);
    assert_eq!(sb.data_size_sectors, 16384 - 2048);
    assert_eq!(sb.super_offset_sectors, 8);
    assert_eq!(sb.feature_map, 0);
    assert!(sb.clean);
    assert_eq!(sb.preferred_minor, None);
    assert_eq!(sb.recovery_offset_sectors, None);
}

#[test]
fn v1_1_is_found_at_sector_0() {
    let sb = read(&V1Builder::new(MetadataVersion::V1_1).image())
        .unwrap()
        .unwrap();
    assert_eq!(sb.version, MetadataVersion::V1_1);
    assert_eq!(sb.super_offset_sectors, 0);
}

#[test]
fn v1_0_is_found_at_the_end() {
    let mut builder = V1Builder::new(MetadataVersion::V1_0);
    builder.size_bytes = 8 * 1024 * 1024 + 3 * 512;
    let sb = read(&builder.image()).unwrap().unwrap();
    assert_eq!(sb.version, MetadataVersion::V1_0);
    assert_eq!(sb.super_offset_sectors, (16384 + 3 - 16) & !7);
    assert_eq!(sb.data_offset_sectors, 0);
}

#[test]
fn v1_name_without_homehost_is_kept_whole() {
    let mut builder = V1Builder::new(MetadataVersion::V1_2);
    builder.name = "root";
    let sb = read(&builder.image()).unwrap().unwrap();
    assert_eq!(sb.name.as_deref(), Some("root"));
    builder.name = "";
    let sb = read(&builder.image()).unwrap().unwrap();
    assert_eq!(sb.name, None);
}

#[test]
fn v1_roles_spare_faulty_journal_replacement() {
    let mut builder = V1Builder::new(MetadataVersion::V1_2);
    builder.roles = vec![0, 1, 0xffff, 0xfffe, 0xfffd];
    for (dev_number, role) in [
        (2, Role::Spare),
        (3, Role::Faulty),
        (4, Role::Journal),
        (9, Role::Spare),
    ] {
        builder.dev_number = dev_number;
        assert_eq!(read(&builder.image()).unwrap().unwrap().role, role);
    }
    builder.dev_number = 1;
    builder.feature_map = feature::REPLACEMENT;
    assert_eq!(
        read(&builder.image()).unwrap().unwrap().role,
        Role::Replacement(1)
    );
}

#[test]
fn v1_dirty_and_recovering_are_reported() {
    let mut builder = V1Builder::new(MetadataVersion::V1_2);
    builder.resync_offset = 0;
    builder.feature_map = feature::RECOVERY_OFFSET;
    builder.recovery_offset = 4096;
    let sb = read(&builder.image()).unwrap().unwrap();
    assert!(!sb.clean);
    assert_eq!(sb.recovery_offset_sectors, Some(4096));
}

#[test]
fn v1_raid5_chunk_and_layout() {
    let mut builder = V1Builder::new(MetadataVersion::V1_2);
    builder.level = 5;
    builder.layout = 2;
    builder.chunk_sectors = 1024;
    builder.raid_disks = 3;
    builder.roles = vec![0, 1, 2];
    let sb = read(&builder.image()).unwrap().unwrap();
    assert_eq!(sb.level, Level::Raid5);
    assert_eq!(sb.layout, 2);
    assert_eq!(sb.chunk_size_bytes, 512 * 1024);
}

#[test]
fn v1_one_bit_off_is_a_bad_checksum() {
    let builder = V1Builder::new(MetadataVersion::V1_2);
    let mut image = builder.image();
    let stored = le32(&image, 4096 + 216);
    image[4096 + 200] ^= 1; // events 17 -> 16
    match read(&image) {
        Err(MdError::BadChecksum {
            version: MetadataVersion::V1_2,
            offset_bytes: 4096,
            stored: s,
            computed,
        }) => {
            assert_eq!(s, stored);
            assert_eq!(computed, stored.wrapping_sub(1));
        }
        other => panic!("expected BadChecksum, got {other:?}"),
    }
}

#[test]
fn v1_checksum_covers_the_role_table() {
    let mut image = V1Builder::new(MetadataVersion::V1_2).image();
    image[4096 + 256] ^= 0x01;
    assert!(matches!(read(&image), Err(MdError::BadChecksum { .. })));
}

#[test]
fn v1_unknown_level_is_an_error() {
    for level in [-4, -5, 2, 3, 7] {
        let mut builder = V1Builder::new(MetadataVersion::V1_2);
        builder.level = level;
        match read(&builder.image()) {
            Err(MdError::UnsupportedLevel { level: l, .. }) => assert_eq!(l, level),
            other => panic!("level {level}: expected UnsupportedLevel, got {other:?}"),
        }
    }
}

#[test]
fn v1_reshape_clustered_and_unknown_features_are_refused() {
    let mut builder = V1Builder::new(MetadataVersion::V1_2);
    builder.feature_map = feature::RESHAPE_ACTIVE;
    assert!(matches!(
        read(&builder.image()),
        Err(MdError::ReshapeActive {
            version: MetadataVersion::V1_2,
            offset_bytes: 4096
        })
    ));
    builder.feature_map = feature::CLUSTERED | feature::BITMAP_OFFSET;
    assert!(matches!(
        read(&builder.image()),
        Err(MdError::Clustered { .. })
    ));
    builder.feature_map = 0x4000 | feature::BITMAP_OFFSET;
    assert!(matches!(
        read(&builder.image()),
        Err(MdError::UnknownFeatures {
            bits: 0x4000,
            feature_map: 0x4001,
            ..
        })
    ));
}

#[test]
fn v1_with_wrong_super_offset_is_not_a_superblock() {
    let builder = V1Builder::new(MetadataVersion::V1_2);
    let mut image = vec![0u8; builder.size_bytes as usize];
    // The 1.2 block copied to the 1.1 location: super_offset says 8, found at 0.
    image[..4096].copy_from_slice(&builder.block());
    assert!(read(&image).unwrap().is_none());
}

#[test]
fn empty_device_has_no_superblock() {
    assert!(read(&vec![0u8; 1024 * 1024]).unwrap().is_none());
    assert!(read(&[0u8; 100]).unwrap().is_none());
}

#[test]
fn device_shorter_than_its_size_is_a_read_error() {
    let image = V1Builder::new(MetadataVersion::V1_0).image();
    let truncated = &image[..image.len() - 8192];
    match read_superblock(&mut Cursor::new(truncated), image.len() as u64) {
        Err(MdError::Read(RegionReadError {
            offset_bytes,
            len_bytes: 4096,
            source,
        })) => {
            assert_eq!(offset_bytes, image.len() as u64 - 16 * 512);
            assert_eq!(source.kind(), io::ErrorKind::UnexpectedEof);
        }
        other => panic!("expected Read, got {other:?}"),
    }
}

#[test]
fn v090_fields_are_read() {
    let builder = V090Builder::new();
    let sb = read(&builder.image()).unwrap().unwrap();
    assert_eq!(sb.version, MetadataVersion::V0_90);
    assert_eq!(sb.uuid, UUID_TEXT);
    assert_eq!(sb.name, None);
    assert_eq!(sb.level, Level::Raid1);
    assert_eq!(sb.events, 0x1_0000_0005);
    assert_eq!(sb.raid_disks, 2);
    assert_eq!(sb.role, Role::Active(1));
    assert_eq!(sb.dev_number, 1);
    assert_eq!(sb.preferred_minor, Some(3));
    assert_eq!(sb.super_offset_sectors, builder.offset_bytes() / 512);
    assert_eq!(sb.super_offset_sectors, (8 * 1024 * 1024 - 65536) / 512);
    assert_eq!(sb.data_offset_sectors, 0);
    assert_eq!(sb.data_size_sectors, builder.offset_bytes() / 512);
    assert!(sb.clean);
    assert_eq!(
        sb.this_disk,
        Some(DiskEntry090 {
            number: 1,
            major: 8,
            minor: 32,
            raid_disk: 1,
            state: SYNCED
        })
    );
}

#[test]
fn v090_faulty_spare_and_dirty() {
    let mut builder = V090Builder::new();
    builder.disks = vec![(0, SYNCED), (1, DISK_FAULTY), (2, 0)];
    builder.clean = false;
    let sb = read(&builder.image()).unwrap().unwrap();
    assert_eq!(sb.role, Role::Faulty);
    assert_eq!(sb.member_roles[2], Role::Spare);
    assert!(!sb.clean);
    builder.this_number = 2;
    assert_eq!(read(&builder.image()).unwrap().unwrap().role, Role::Spare);
}

#[test]
fn v090_one_bit_off_is_a_bad_checksum() {
    let builder = V090Builder::new();
    let mut image = builder.image();
    image[builder.offset_bytes() as usize + 4 * 10] ^= 0x80;
    match read(&image) {
        Err(MdError::BadChecksum {
            version: MetadataVersion::V0_90,
            offset_bytes,
            ..
        }) => assert_eq!(offset_bytes, builder.offset_bytes()),
        other => panic!("expected BadChecksum, got {other:?}"),
    }
}

#[test]
fn v090_reshape_and_unknown_level_are_refused() {
    let mut builder = V090Builder::new();
    builder.minor_version = 91;
    assert!(matches!(
        read(&builder.image()),
        Err(MdError::ReshapeActive { .. })
    ));
    let mut builder = V090Builder::new();
    builder.level = -4;
    assert!(matches!(
        read(&builder.image()),
        Err(MdError::UnsupportedLevel { level: -4, .. })
    ));
}

#[test]
fn checksum_folds_the_carry_and_adds_a_trailing_half_word() {
    let bytes = [0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0, 0x34, 0x12];
    // 0xffffffff + 2 = 0x1_00000001 -> 1 + 1 = 2, then + 0x1234.
    assert_eq!(fold_checksum(&bytes, 99), 2 + 0x1234);
    // Skipping the 2: 0xffffffff + 0x1234 = 0x1_00001233 -> 0x1233 + 1.
    assert_eq!(fold_checksum(&bytes, 4), 0x1234);
}

/// `mdadm --examine FILE` as "Key : value" pairs (mdadm reads image files
/// without the md driver, so it checks our hand-built bytes independently).
fn mdadm_examine(image: &[u8]) -> std::collections::HashMap<String, String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("member.img");
    std::fs::write(&path, image).unwrap();
    let text =
        crate::devices::probe::tests::tools::run("mdadm", &["--examine", path.to_str().unwrap()]);
    text.lines()
        .filter_map(|line| line.split_once(" : "))
        .map(|(key, value)| (key.trim().to_owned(), value.trim().to_owned()))
        .collect()
}

#[test]
fn v1_hand_built_superblocks_match_mdadm_examine() {
    for version in [
        MetadataVersion::V1_0,
        MetadataVersion::V1_1,
        MetadataVersion::V1_2,
    ] {
        let mut builder = V1Builder::new(version);
        builder.level = 5;
        builder.raid_disks = 3;
        builder.chunk_sectors = 128;
        builder.layout = 2;
        builder.roles = vec![0, 1, 2];
        builder.dev_number = 2;
        let image = builder.image();
        let sb = read(&image).unwrap().unwrap();
        let examine = mdadm_examine(&image);
        assert_eq!(examine["Version"], sb.version.as_str());
        assert_eq!(examine["Array UUID"], sb.uuid);
        assert_eq!(examine["Name"], format!("kboot:{}", sb.name.unwrap()));
        assert_eq!(examine["Raid Level"], sb.level.name());
        assert_eq!(examine["Raid Devices"], sb.raid_disks.to_string());
        assert_eq!(examine["Events"], sb.events.to_string());
        assert_eq!(
            examine["Chunk Size"],
            format!("{}K", sb.chunk_size_bytes / 1024)
        );
        assert_eq!(examine["Layout"], "left-symmetric");
        assert_eq!(examine["Device Role"], "Active device 2");
        assert_eq!(
            examine["Super Offset"],
            format!("{} sectors", sb.super_offset_sectors)
        );
        assert!(examine["Checksum"].ends_with("- correct"), "{examine:?}");
    }
}

#[test]
fn v090_hand_built_superblock_matches_mdadm_examine() {
    let builder = V090Builder::new();
    let image = builder.image();
    let sb = read(&image).unwrap().unwrap();
    let examine = mdadm_examine(&image);
    assert_eq!(examine["Version"], "0.90.00");
    assert_eq!(examine["UUID"], sb.uuid);
    assert_eq!(examine["Raid Level"], "raid1");
    assert_eq!(examine["Events"], sb.events.to_string());
    assert_eq!(examine["Preferred Minor"], "3");
    assert_eq!(examine["State"], "clean");
    assert!(examine["Checksum"].ends_with("- correct"), "{examine:?}");
}

#[test]
fn bad_checksum_values_match_what_mdadm_expects() {
    let builder = V1Builder::new(MetadataVersion::V1_2);
    let mut image = builder.image();
    image[4096 + 92] ^= 0x04; // raid_disks 2 -> 6
    let Err(MdError::BadChecksum {
        stored, computed, ..
    }) = read(&image)
    else {
        panic!("expected BadChecksum");
    };
    let examine = mdadm_examine(&image);
    assert_eq!(
        examine["Checksum"],
        format!("{stored:x} - expected {computed:x}")
    );
}

/// A device of `size_bytes` that reads as zeros except for one 4 KiB block
/// (a committed sample) at `block_offset_bytes`: real superblock bytes at their
/// real place without committing whole disk images.
fn sample_device(name: &str, size_bytes: u64, block_offset_bytes: u64) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/md")
        .join(name);
    let block = std::fs::read(&path).unwrap();
    assert_eq!(block.len(), 4096, "{}", path.display());
    let mut image = vec![0u8; size_bytes as usize];
    let at = block_offset_bytes as usize;
    image[at..at + 4096].copy_from_slice(&block);
    image
}

/// The GPT partitions of the VM fixtures: 192512 sectors from sector 2048.
const PARTITION_BYTES: u64 = 192_512 * 512;

pub(crate) fn sample_member(device: &str, name: &str) -> MdMember {
    let image = sample_device(name, PARTITION_BYTES, 4096);
    MdMember {
        device: device.to_owned(),
        path: PathBuf::from(format!("/dev/{device}")),
        number: (254, 1),
        superblock: read(&image).unwrap().unwrap(),
    }
}

#[test]
fn mdadm_1_2_raid1_with_bitmap_sample() {
    // Values from `mdadm --examine /dev/vda1` in the VM (tests/data/md/README.md).
    let sb = sample_member("vda1", "r1lvm-vda1.sb").superblock;
    assert_eq!(sb.version, MetadataVersion::V1_2);
    assert_eq!(sb.feature_map, feature::BITMAP_OFFSET);
    assert_eq!(sb.uuid, "4b424f4f:00000001:00000000:00000001");
    assert_eq!(sb.name.as_deref(), Some("sysraid"));
    assert_eq!(sb.level, Level::Raid1);
    assert_eq!(sb.raid_disks, 2);
    assert_eq!(sb.data_size_sectors, 190_464);
    assert_eq!(sb.data_offset_sectors, 2048);
    assert_eq!(sb.super_offset_sectors, 8);
    assert!(sb.clean);
    assert_eq!(sb.events, 2);
    assert_eq!(sb.role, Role::Active(0));
}

#[test]
fn mdadm_1_2_raid5_sample() {
    let sb = sample_member("vdb1", "r5-vdb1.sb").superblock;
    assert_eq!(sb.uuid, "4b424f4f:00000003:00000000:00000003");
    assert_eq!(sb.name.as_deref(), Some("r5root"));
    assert_eq!(sb.level, Level::Raid5);
    assert_eq!(sb.raid_disks, 3);
    assert_eq!(sb.layout, 2); // left-symmetric
    assert_eq!(sb.chunk_size_bytes, 512 * 1024);
    assert_eq!(sb.data_size_sectors, 188_416);
    assert_eq!(sb.data_offset_sectors, 4096);
    assert_eq!(sb.events, 2);
    assert_eq!(sb.feature_map, 0);
    assert_eq!(sb.role, Role::Active(1));
}

#[test]
fn mdadm_0_90_raid1_whole_disk_sample() {
    // Whole 96 MiB disk: the superblock is in its last 64 KiB.
    let size_bytes = 100_663_296;
    let image = sample_device("r1090-vdb.sb", size_bytes, 100_597_760);
    let sb = read(&image).unwrap().unwrap();
    assert_eq!(sb.version, MetadataVersion::V0_90);
    assert_eq!(sb.uuid, "4b424f4f:00000002:00000000:00000002");
    assert_eq!(sb.name, None);
    assert_eq!(sb.level, Level::Raid1);
    assert_eq!(sb.raid_disks, 2);
    assert_eq!(sb.preferred_minor, Some(0));
    assert_eq!(sb.events, 1);
    assert!(sb.clean);
    assert_eq!(sb.data_size_sectors, 2 * 98_240);
    assert_eq!(sb.role, Role::Active(1));
    assert_eq!(
        sb.this_disk,
        Some(DiskEntry090 {
            number: 1,
            major: 254,
            minor: 16,
            raid_disk: 1,
            state: SYNCED
        })
    );
    assert_eq!(sb.member_roles[..2], [Role::Active(0), Role::Active(1)]);
}

/// A valid superblock claiming more members than its metadata can name: refused at
/// once (planning a million slots hung PID 1 before), at both formats' ceilings.
#[test]
fn absurd_raid_disks_is_refused_at_the_metadata_ceiling() {
    let mut builder = V1Builder::new(MetadataVersion::V1_2);
    builder.raid_disks = 1_000_000;
    let error = read(&builder.image()).unwrap_err();
    assert!(
        matches!(
            error,
            MdError::BadRaidDisks {
                raid_disks: 1_000_000,
                limit: 1920,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(error
        .to_string()
        .contains("raid_disks 1000000 is more than"));
    builder.raid_disks = 1920;
    assert_eq!(read(&builder.image()).unwrap().unwrap().raid_disks, 1920);

    let mut builder = V090Builder::new();
    builder.raid_disks = 28;
    assert!(matches!(
        read(&builder.image()).unwrap_err(),
        MdError::BadRaidDisks {
            raid_disks: 28,
            limit: 27,
            ..
        }
    ));
}
