//! md superblocks mdadm 4.2 wrote in the helper VM, read where they lie on the
//! sampled disks (`tests/data/md-lvm/`), against what `mdadm --examine`/`--detail`
//! printed (`SET.env`, `SET-build.log.gz`).

#![allow(clippy::unwrap_used)]

use super::*;
use crate::devices::blockdev::Window;
use crate::devices::md::plan::{plan_arrays, LeftOut, MdMember};
use crate::devices::test_samples::{
    env, env_u64, env_value, SampledDisk, DISK_BYTES, PARTITION_BYTES,
};
use std::path::PathBuf;

/// Member `n` (1-based) of a set's array, as kboot finds it: the whole disk for
/// 0.90, partition 1 for 1.2.
fn sample_member(set: &str, n: u32) -> MdMember {
    let disk = SampledDisk::new(set, n);
    let offset_bytes = env_u64(set, &format!("DISK{n}_MEMBER_OFFSET_BYTES"));
    let size_bytes = if offset_bytes == 0 {
        DISK_BYTES
    } else {
        PARTITION_BYTES
    };
    let mut window = Window::new(disk, offset_bytes, size_bytes);
    let device = env_value(set, &format!("MD_MEMBER{n}"));
    MdMember {
        path: PathBuf::from(format!("/dev/{device}")),
        device,
        // virtio-blk numbers as the VM had them: vda 254:0, vda1 254:1, vdb 254:16.
        number: (254, 16 * (n - 1) + u32::from(offset_bytes != 0)),
        superblock: read_superblock(&mut window, size_bytes).unwrap().unwrap(),
    }
}

/// How many members the env lists (`MD_MEMBERn=vda1`): the array's raid disks.
fn md_member_count(set: &str) -> u32 {
    let env = env(set);
    let prefix = set.to_uppercase();
    (1..)
        .take_while(|n| env.contains_key(&format!("{prefix}_MD_MEMBER{n}")))
        .count() as u32
}

/// What `mdadm --detail --export` and `--examine` printed, field by field.
fn assert_superblock_matches_env(sb: &MdSuperblock, set: &str, n: u32) {
    let member = |field: &str| format!("MD_MEMBER{n}_{field}");
    assert_eq!(sb.version.as_str(), env_value(set, "MD_METADATA"));
    assert_eq!(sb.uuid, env_value(set, "MD_UUID"));
    // mdadm prints `homehost:name`; kboot keeps the name.
    let full_name = env_value(set, "MD_NAME");
    let name = full_name.split_once(':').map(|(_, name)| name.to_owned());
    assert_eq!(sb.name, name);
    assert_eq!(sb.level.name(), env_value(set, "MD_LEVEL"));
    assert_eq!(sb.events, env_u64(set, &member("EVENTS")));
    assert_eq!(sb.raid_disks, md_member_count(set));
    // mdadm created each array from its disks in order: member n is in slot n-1.
    assert_eq!(sb.role, Role::Active(n - 1));
    let data_disks = match sb.level {
        Level::Raid5 => u64::from(sb.raid_disks) - 1,
        _ => 1,
    };
    assert_eq!(
        sb.data_size_sectors * data_disks * SECTOR_BYTES,
        env_u64(set, "MD_SIZE_BYTES")
    );
}

#[test]
fn v0_90_superblock_is_in_the_last_aligned_64_kib_of_each_whole_disk() {
    // 0.90 sits in the last 64 KiB-aligned 64 KiB: on a 96 MiB disk at 96 MiB - 64 KiB,
    // which is 64 KiB before the end of the 2 MiB tail sample.
    let offset_bytes = (DISK_BYTES & !(V090_RESERVED_BYTES - 1)) - V090_RESERVED_BYTES;
    assert_eq!(offset_bytes, 100_597_760);
    for n in [1, 2] {
        let disk = SampledDisk::new("r1090", n);
        let at = (offset_bytes - disk.tail_offset_bytes()) as usize;
        assert_eq!(at, (2 << 20) - (64 << 10));
        let block: &[u8; 4096] = disk.tail()[at..at + 4096].try_into().unwrap();
        let sb = parse_v090(block, offset_bytes).unwrap().unwrap();
        assert_superblock_matches_env(&sb, "r1090", n);
        assert_eq!(sb.super_offset_sectors, offset_bytes / SECTOR_BYTES);
        assert_eq!(sb.data_offset_sectors, 0);
        // mdadm --examine: Used Dev Size 98240 (KiB), Preferred Minor 0, clean,
        // `this` = number n-1, 254:0 for vda and 254:16 for vdb, active sync.
        assert_eq!(sb.data_size_sectors, 2 * 98_240);
        assert_eq!(sb.preferred_minor, Some(0));
        assert!(sb.clean);
        assert_eq!(sb.feature_map, 0);
        assert_eq!(
            sb.this_disk,
            Some(DiskEntry090 {
                number: n - 1,
                major: 254,
                minor: 16 * (n - 1),
                raid_disk: n - 1,
                state: DISK_ACTIVE | DISK_SYNC,
            })
        );
        assert_eq!(sb.member_roles[..2], [Role::Active(0), Role::Active(1)]);
        assert!(sb.member_roles[2..].iter().all(|r| *r == Role::Spare));
        // Found the same way when the whole disk is searched.
        assert_eq!(sample_member("r1090", n).superblock, sb);
    }
}

#[test]
fn bare_pv_disk_of_the_0_90_set_has_no_superblock() {
    let mut disk = SampledDisk::new("r1090", 3);
    assert_eq!(read_superblock(&mut disk, DISK_BYTES).unwrap(), None);
}

#[test]
fn v1_2_superblocks_are_4_kib_into_each_member() {
    for (set, members) in [("r1lvm", 2), ("r5", 3), ("stale", 3)] {
        for n in 1..=members {
            let disk = SampledDisk::new(set, n);
            let member_bytes = env_u64(set, &format!("DISK{n}_MEMBER_OFFSET_BYTES"));
            let super_sectors = env_u64(set, &format!("MD_MEMBER{n}_SUPER_OFFSET_SECTORS"));
            let at = (member_bytes + super_sectors * SECTOR_BYTES) as usize;
            assert_eq!(at, (1 << 20) + 4096);
            let block: &[u8; 4096] = disk.head()[at..at + 4096].try_into().unwrap();
            let sb = parse_v1(block, MetadataVersion::V1_2, super_sectors)
                .unwrap()
                .unwrap();
            assert_superblock_matches_env(&sb, set, n);
            assert_eq!(sb.super_offset_sectors, super_sectors);
            assert_eq!(
                sb.data_offset_sectors,
                env_u64(set, &format!("MD_MEMBER{n}_DATA_OFFSET_SECTORS"))
            );
            assert_eq!(sb.dev_number, n - 1);
            assert!(sb.recovery_offset_sectors.is_none());
            // Feature Map: 0x1 (internal bitmap) for r1lvm, 0x0 for the others.
            let bitmap = if set == "r1lvm" {
                feature::BITMAP_OFFSET
            } else {
                0
            };
            assert_eq!(sb.feature_map, bitmap, "{set} member {n}");
            if sb.level == Level::Raid5 {
                assert_eq!(
                    sb.chunk_size_bytes,
                    env_u64(set, "MD_CHUNK_SECTORS") * SECTOR_BYTES
                );
                assert_eq!(u64::from(sb.layout), env_u64(set, "MD_LAYOUT"));
            }
            // Found the same way when the partition is searched.
            assert_eq!(sample_member(set, n).superblock, sb);
        }
    }
}

#[test]
fn complete_arrays_are_planned_with_every_member() {
    for (set, members) in [("r1090", 2), ("r1lvm", 2), ("r5", 3)] {
        let found: Vec<MdMember> = (1..=members).rev().map(|n| sample_member(set, n)).collect();
        let plans = plan_arrays(&found);
        assert_eq!(plans.len(), 1);
        let plan = plans[0].as_ref().unwrap();
        assert_eq!(plan.uuid, env_value(set, "MD_UUID"));
        let by_slot: Vec<_> = plan
            .members
            .iter()
            .map(|m| (m.slot, m.device.clone()))
            .collect();
        let expected: Vec<_> = (1..=members)
            .map(|n| (n - 1, env_value(set, &format!("MD_MEMBER{n}"))))
            .collect();
        assert_eq!(by_slot, expected, "{set}");
        assert!(!plan.degraded && plan.missing_slots.is_empty() && plan.left_out.is_empty());
    }
}

#[test]
fn stale_member_is_left_out_by_its_event_count() {
    // vdc1 was stopped at events 4; vda1 and vdb1 ran on degraded to events 8.
    let found: Vec<MdMember> = (1..=3).rev().map(|n| sample_member("stale", n)).collect();
    let stale = env_value("stale", "STALE_MEMBER");
    assert_eq!(found[0].device, stale);
    let plans = plan_arrays(&found);
    assert_eq!(plans.len(), 1);
    let plan = plans[0].as_ref().unwrap();
    assert_eq!(plan.name.as_deref(), Some("stale"));
    assert_eq!(plan.events, env_u64("stale", "MD_MEMBER1_EVENTS"));
    let used: Vec<_> = plan
        .members
        .iter()
        .map(|m| (m.slot, m.device.as_str()))
        .collect();
    assert_eq!(used, [(0, "vda1"), (1, "vdb1")]);
    assert_eq!(plan.missing_slots, [2]);
    assert!(plan.degraded);
    assert_eq!(
        plan.left_out,
        [LeftOut {
            device: stale,
            reason: "events 4 behind 8 on vdb1".into(),
        }]
    );
}
