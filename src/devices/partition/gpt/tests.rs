use super::*;
use crate::bytes::{put_le16, put_le32, put_le64};
use crate::devices::partition::mbr::MBR_TYPE_GPT_PROTECTIVE;
use crate::devices::partition::read_table;
use crate::devices::partition::tests::{
    flip_byte, gpt_script, read_bytes, read_file, sfdisk_image, DISK_BYTES,
};
use crate::devices::test_samples as samples;
use std::fs::File;

/// Byte offset of the primary header's "alternate LBA" field: changing it breaks
/// only the header CRC.
const PRIMARY_HEADER_BYTE: u64 = 512 + 32;

#[test]
fn gpt_with_corrupt_primary_header_uses_backup() {
    let (_dir, image) = sfdisk_image(&gpt_script());
    let good = read_file(&image).unwrap().unwrap();
    flip_byte(&image, PRIMARY_HEADER_BYTE);
    let mut file = File::open(&image).unwrap();
    let mut disk = Disk {
        dev: &mut file,
        size_bytes: DISK_BYTES,
    };
    let primary = read_gpt_header(&mut disk, 512, 1, DISK_BYTES / 512 - 1).unwrap();
    assert!(matches!(primary, Err(GptDefect::HeaderCrc { .. })));
    assert_eq!(read_file(&image).unwrap().unwrap(), good);
}

#[test]
fn gpt_with_corrupt_primary_entries_uses_backup() {
    let (_dir, image) = sfdisk_image(&gpt_script());
    let good = read_file(&image).unwrap().unwrap();
    // The first entry's name, in the primary entry array at LBA 2.
    flip_byte(&image, 2 * 512 + GPT_NAME_AT as u64);
    let mut file = File::open(&image).unwrap();
    let mut disk = Disk {
        dev: &mut file,
        size_bytes: DISK_BYTES,
    };
    let primary = read_gpt_header(&mut disk, 512, 1, DISK_BYTES / 512 - 1).unwrap();
    assert!(matches!(primary, Err(GptDefect::EntryArrayCrc { .. })));
    assert_eq!(read_file(&image).unwrap().unwrap(), good);
}

#[test]
fn gpt_with_both_headers_corrupt_is_an_error() {
    let (_dir, image) = sfdisk_image(&gpt_script());
    flip_byte(&image, PRIMARY_HEADER_BYTE);
    flip_byte(&image, DISK_BYTES - 512 + 32);
    let error = read_file(&image).unwrap_err();
    assert!(
        matches!(
            error,
            PartitionError::NoValidGpt {
                primary: GptDefect::HeaderCrc { .. },
                backup: GptDefect::HeaderCrc { .. },
            }
        ),
        "{error:?}"
    );
}

#[test]
fn gpt_with_both_signatures_broken_reports_signature() {
    let (_dir, image) = sfdisk_image(&gpt_script());
    flip_byte(&image, 512);
    flip_byte(&image, DISK_BYTES - 512);
    let error = read_file(&image).unwrap_err();
    assert!(matches!(
        error,
        PartitionError::NoValidGpt {
            primary: GptDefect::Signature { lba: 1 },
            backup: GptDefect::Signature { .. },
        }
    ));
}

#[test]
fn gpt_error_message_names_both_defects() {
    let error = PartitionError::NoValidGpt {
        primary: GptDefect::Signature { lba: 1 },
        backup: GptDefect::OutOfRange { lba: 99 },
    };
    let message = error.to_string();
    assert!(message.contains("sector 1"), "{message}");
    assert!(message.contains("sector 99"), "{message}");
}

/// A GPT disk with `sector_size_bytes` sectors, one partition per
/// `(first_lba, last_lba)`, headers patched by `edit` before their CRCs are
/// computed.
fn build_gpt(
    sector_size_bytes: usize,
    disk_sectors: usize,
    partitions: &[(u64, u64)],
    edit: impl Fn(&mut [u8]),
) -> Vec<u8> {
    let mut disk = vec![0u8; sector_size_bytes * disk_sectors];
    // Protective MBR.
    disk[0x1BE + 4] = MBR_TYPE_GPT_PROTECTIVE;
    put_le32(&mut disk, 0x1BE + 8, 1u32);
    put_le32(&mut disk, 0x1BE + 12, u32::MAX);
    disk[510] = 0x55;
    disk[511] = 0xAA;
    let mut entries = vec![0u8; 128 * 128];
    for (i, &(first_lba, last_lba)) in partitions.iter().enumerate() {
        let entry = &mut entries[i * 128..(i + 1) * 128];
        entry[0] = 0xAF; // any non-zero type GUID
        entry[16] = u8::try_from(i).unwrap() + 1;
        put_le64(entry, 32, first_lba);
        put_le64(entry, 40, last_lba);
        entry[56] = b'p';
    }
    let entries_sectors = entries.len().div_ceil(sector_size_bytes);
    let last_lba = (disk_sectors - 1) as u64;
    for (my_lba, alternate_lba, entries_lba) in [
        (1, last_lba, 2),
        (last_lba, 1, last_lba - entries_sectors as u64),
    ] {
        let mut header = vec![0u8; 92];
        header[..8].copy_from_slice(GPT_SIGNATURE);
        put_le32(&mut header, 8, 0x0001_0000u32);
        put_le32(&mut header, 12, 92u32);
        put_le64(&mut header, 24, my_lba);
        put_le64(&mut header, 32, alternate_lba);
        put_le64(&mut header, 40, 2 + entries_sectors as u64);
        put_le64(&mut header, 48, last_lba - 1 - entries_sectors as u64);
        header[56] = 0x42;
        put_le64(&mut header, 72, entries_lba);
        put_le32(&mut header, 80, 128u32);
        put_le32(&mut header, 84, 128u32);
        put_le32(&mut header, 88, crc32(&entries));
        edit(&mut header);
        let crc = crc32(&header);
        put_le32(&mut header, 16, crc);
        let at = my_lba as usize * sector_size_bytes;
        disk[at..at + 92].copy_from_slice(&header);
        let at = entries_lba as usize * sector_size_bytes;
        disk[at..at + entries.len()].copy_from_slice(&entries);
    }
    disk
}

#[test]
fn hand_built_gpt_is_read() {
    let table = read_bytes(build_gpt(512, 2048, &[(40, 99)], |_| {}))
        .unwrap()
        .unwrap();
    assert_eq!(table.disk_id, "00000042-0000-0000-0000-000000000000");
    assert_eq!(table.partitions.len(), 1);
    assert_eq!(table.partitions[0].start_bytes, 40 * 512);
    assert_eq!(table.partitions[0].size_bytes, 60 * 512);
    assert_eq!(table.partitions[0].partlabel.as_deref(), Some("p"));
}

#[test]
fn gpt_with_4096_byte_sectors_is_read() {
    let table = read_bytes(build_gpt(4096, 256, &[(6, 9), (10, 200)], |_| {}))
        .unwrap()
        .unwrap();
    assert_eq!(table.partitions.len(), 2);
    assert_eq!(table.partitions[0].start_bytes, 6 * 4096);
    assert_eq!(table.partitions[1].size_bytes, 191 * 4096);
}

#[test]
fn gpt_entries_past_the_disk_are_skipped() {
    let table = read_bytes(build_gpt(
        512,
        2048,
        &[(40, 99), (100, 5000), (90, 80)],
        |_| {},
    ))
    .unwrap()
    .unwrap();
    let numbers: Vec<u32> = table.partitions.iter().map(|p| p.number).collect();
    assert_eq!(numbers, [1]);
}

#[test]
fn gpt_with_huge_entry_count_is_rejected_without_allocating() {
    let disk = build_gpt(512, 2048, &[(40, 99)], |header| {
        put_le32(header, 80, u32::MAX);
    });
    let error = read_bytes(disk).unwrap_err();
    assert!(matches!(
        error,
        PartitionError::NoValidGpt {
            primary: GptDefect::EntryArrayTooLarge {
                count: u32::MAX,
                ..
            },
            backup: GptDefect::EntryArrayTooLarge { .. },
        }
    ));
}

#[test]
fn gpt_with_odd_entry_size_is_rejected() {
    let disk = build_gpt(512, 2048, &[(40, 99)], |header| {
        put_le32(header, 84, 129u32);
    });
    assert!(matches!(
        read_bytes(disk).unwrap_err(),
        PartitionError::NoValidGpt {
            primary: GptDefect::EntrySize { found_bytes: 129 },
            ..
        }
    ));
}

#[test]
fn gpt_header_claiming_another_lba_is_rejected() {
    let disk = build_gpt(512, 2048, &[(40, 99)], |header| {
        put_le64(header, 24, 7u64);
    });
    assert!(matches!(
        read_bytes(disk).unwrap_err(),
        PartitionError::NoValidGpt {
            primary: GptDefect::MyLba {
                expected: 1,
                found: 7
            },
            ..
        }
    ));
}

#[test]
fn gpt_header_with_oversized_header_size_is_rejected() {
    let disk = build_gpt(512, 2048, &[(40, 99)], |header| {
        put_le32(header, 12, 600u32);
    });
    assert!(matches!(
        read_bytes(disk).unwrap_err(),
        PartitionError::NoValidGpt {
            primary: GptDefect::HeaderSize { found_bytes: 600 },
            ..
        }
    ));
}

#[test]
fn gpt_entry_array_past_the_disk_is_rejected() {
    let disk = build_gpt(512, 2048, &[(40, 99)], |header| {
        put_le64(header, 72, u64::MAX);
    });
    assert!(matches!(
        read_bytes(disk).unwrap_err(),
        PartitionError::NoValidGpt {
            primary: GptDefect::EntryArrayOutOfRange { lba: u64::MAX },
            ..
        }
    ));
}

#[test]
fn gpt_name_decodes_utf16_and_trims_like_blkid() {
    let mut raw = [0u8; GPT_NAME_BYTES];
    for (i, unit) in "café ".encode_utf16().enumerate() {
        put_le16(&mut raw, 2 * i, unit);
    }
    assert_eq!(gpt_name(&raw).as_deref(), Some("café"));
    assert_eq!(gpt_name(&[0u8; GPT_NAME_BYTES]), None);
}

#[test]
fn crc32_is_the_ieee_polynomial() {
    // The standard check value for CRC-32/ISO-HDLC.
    assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
}

#[test]
fn guid_text_swaps_the_first_three_fields() {
    let guid = [
        0x28, 0x73, 0x2A, 0xC1, 0x1F, 0xF8, 0xD2, 0x11, 0xBA, 0x4B, 0x00, 0xA0, 0xC9, 0x3E, 0xC9,
        0x3B,
    ];
    // The EFI System Partition type GUID.
    assert_eq!(guid_string(&guid), "c12a7328-f81f-11d2-ba4b-00a0c93ec93b");
}

/// The GPT sets of `tests/data/md-lvm/` and their disk counts.
const SAMPLE_GPT_SETS: [(&str, u32); 3] = [("r1lvm", 2), ("r5", 3), ("stale", 3)];

/// The table `tests/vm-fixtures.sh` gave each member disk with sfdisk: label-id the
/// partition's uuid with -0001- made -0000-, one partition `memberN` from 1 MiB to
/// 1 MiB before the end.
fn sample_table(set: &str, disk: u32) -> PartitionTable {
    let partuuid = samples::env_value(set, &format!("DISK{disk}_PARTUUID"));
    PartitionTable {
        kind: TableKind::Gpt,
        disk_id: partuuid.replace("-0001-", "-0000-"),
        partitions: vec![Partition {
            number: 1,
            start_bytes: samples::env_u64(set, &format!("DISK{disk}_MEMBER_OFFSET_BYTES")),
            size_bytes: samples::PARTITION_BYTES,
            partuuid,
            partlabel: Some(format!("member{disk}")),
            extended_container: false,
        }],
    }
}

#[test]
fn reads_the_gpt_sfdisk_wrote_on_each_sampled_disk() {
    for (set, disks) in SAMPLE_GPT_SETS {
        for disk in 1..=disks {
            let mut dev = samples::SampledDisk::new(set, disk);
            let table = read_table(&mut dev, samples::DISK_BYTES).unwrap().unwrap();
            assert_eq!(table, sample_table(set, disk), "{set} disk{disk}");
            assert_eq!(table.partitions[0].start_bytes, 1 << 20);
        }
    }
}

#[test]
fn backup_gpt_in_the_sampled_tails_gives_the_same_table() {
    for (set, disks) in SAMPLE_GPT_SETS {
        for disk in 1..=disks {
            let mut dev = samples::SampledDisk::new(set, disk);
            // The backup header is the disk's last sector, its entries just before.
            assert_eq!(&dev.tail()[dev.tail().len() - 512..][..8], GPT_SIGNATURE);
            dev.head_mut()[512..1024].fill(0);
            let table = read_table(&mut dev, samples::DISK_BYTES).unwrap().unwrap();
            assert_eq!(table, sample_table(set, disk), "{set} disk{disk}");
            // Both gone: the error names both defects.
            let tail_len = dev.tail().len();
            dev.tail_mut()[tail_len - 512..].fill(0);
            let err = read_table(&mut dev, samples::DISK_BYTES).unwrap_err();
            assert!(
                matches!(
                    err,
                    PartitionError::NoValidGpt {
                        primary: GptDefect::Signature { lba: 1 },
                        backup: GptDefect::Signature { lba: 196_607 },
                    }
                ),
                "{err}"
            );
        }
    }
}
