use super::*;
use crate::devices::partition::mbr::tests::write_mbr_entry;
use crate::devices::partition::mbr::MBR_TYPE_GPT_PROTECTIVE;
use crate::devices::probe::tests::tools::{blkid_export, run_with_input, sparse_file};
use crate::devices::test_samples as samples;
use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::SeekFrom;
use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};

pub(crate) const DISK_BYTES: u64 = 32 << 20;
pub(crate) const DISK_GUID: &str = "8c9b7a6d-5e4f-4321-9876-fedcba012345";
pub(crate) const BOOT_GUID: &str = "11111111-2222-3333-4444-555555555555";
pub(crate) const ROOT_GUID: &str = "a1b2c3d4-e5f6-4789-8abc-def012345678";

pub(crate) fn sfdisk_image(script: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let image = sparse_file(dir.path(), "disk.img", DISK_BYTES);
    run_with_input("sfdisk", &["-q", image.to_str().unwrap()], Some(script));
    (dir, image)
}

pub(crate) fn gpt_script() -> String {
    format!(
        "label: gpt\nlabel-id: {DISK_GUID}\n\
         size=2MiB, type=U, name=\"EFI system\", uuid={BOOT_GUID}\n\
         size=4MiB, name=\"root fs\", uuid={ROOT_GUID}\n\
         size=1MiB\n\
         size=1MiB, name=\"trailing  \"\n"
    )
}

pub(crate) fn read_file(path: &Path) -> Result<Option<PartitionTable>, PartitionError> {
    let mut file = File::open(path).unwrap();
    let size_bytes = file.metadata().unwrap().len();
    read_table(&mut file, size_bytes)
}

pub(crate) fn patch(path: &Path, offset_bytes: u64, bytes: &[u8]) {
    let mut file = OpenOptions::new().write(true).open(path).unwrap();
    file.seek(SeekFrom::Start(offset_bytes)).unwrap();
    file.write_all(bytes).unwrap();
}

pub(crate) fn flip_byte(path: &Path, offset_bytes: u64) {
    let mut file = File::open(path).unwrap();
    let mut byte = [0u8];
    file.seek(SeekFrom::Start(offset_bytes)).unwrap();
    file.read_exact(&mut byte).unwrap();
    patch(path, offset_bytes, &[byte[0] ^ 0xFF]);
}

/// libblkid's view of the partitions (`partx -P`, which reads the table through
/// libblkid like blkid does for PARTUUID and PART_ENTRY_NAME), by number.
fn partx_partitions(path: &Path) -> HashMap<u32, HashMap<String, String>> {
    let output = run_with_input(
        "partx",
        &[
            "-o",
            "NR,START,SECTORS,UUID,NAME",
            "-P",
            path.to_str().unwrap(),
        ],
        None,
    );
    output
        .lines()
        .map(|line| {
            let fields = parse_pairs(line);
            (fields["NR"].parse().unwrap(), fields)
        })
        .collect()
}

/// `KEY="value" KEY="value"` as printed by `partx -P`.
fn parse_pairs(line: &str) -> HashMap<String, String> {
    let mut fields = HashMap::new();
    let mut rest = line;
    while let Some((key, after)) = rest.split_once("=\"") {
        let end = after.find('"').unwrap();
        fields.insert(key.trim().to_owned(), after[..end].to_owned());
        rest = &after[end + 1..];
    }
    fields
}

/// Check every partition against partx and the disk id against blkid's PTUUID.
fn compare_with_libblkid(path: &Path, table: &PartitionTable) {
    let blkid = blkid_export(path);
    assert_eq!(Some(&table.disk_id), blkid.get("PTUUID"));
    let expected_kind = match table.kind {
        TableKind::Gpt => "gpt",
        TableKind::Mbr => "dos",
    };
    assert_eq!(Some(expected_kind), blkid.get("PTTYPE").map(String::as_str));
    let partx = partx_partitions(path);
    assert_eq!(partx.len(), table.partitions.len());
    for partition in &table.partitions {
        let theirs = &partx[&partition.number];
        let start_sectors: u64 = theirs["START"].parse().unwrap();
        let size_sectors: u64 = theirs["SECTORS"].parse().unwrap();
        assert_eq!(partition.start_bytes, start_sectors * 512);
        assert_eq!(partition.size_bytes, size_sectors * 512);
        assert_eq!(partition.partuuid, theirs["UUID"]);
        let name = Some(theirs["NAME"].clone()).filter(|name| !name.is_empty());
        assert_eq!(partition.partlabel, name, "partition {}", partition.number);
    }
}

#[test]
fn gpt_with_named_partitions_matches_libblkid() {
    let (_dir, image) = sfdisk_image(&gpt_script());
    let table = read_file(&image).unwrap().unwrap();
    compare_with_libblkid(&image, &table);
    assert_eq!(table.kind, TableKind::Gpt);
    assert_eq!(table.disk_id, DISK_GUID);
    let numbers: Vec<u32> = table.partitions.iter().map(|p| p.number).collect();
    assert_eq!(numbers, [1, 2, 3, 4]);
    assert_eq!(
        table.partitions[0],
        Partition {
            number: 1,
            start_bytes: 1 << 20,
            size_bytes: 2 << 20,
            partuuid: BOOT_GUID.to_owned(),
            partlabel: Some("EFI system".to_owned()),
            extended_container: false,
        }
    );
    assert_eq!(table.partitions[2].partlabel, None);
    assert_eq!(table.partitions[3].partlabel.as_deref(), Some("trailing"));
}

#[test]
fn mbr_with_primaries_and_logicals_matches_libblkid() {
    let (_dir, image) = sfdisk_image(
        "label: dos\nlabel-id: 0x0badcafe\n\
         size=2MiB, type=83, bootable\n\
         size=2MiB, type=c\n\
         size=2MiB, type=82\n\
         type=5\n\
         size=4MiB, type=83\n\
         size=3MiB, type=83\n\
         size=2MiB, type=83\n",
    );
    let table = read_file(&image).unwrap().unwrap();
    compare_with_libblkid(&image, &table);
    assert_eq!(table.kind, TableKind::Mbr);
    assert_eq!(table.disk_id, "0badcafe");
    let numbers: Vec<u32> = table.partitions.iter().map(|p| p.number).collect();
    assert_eq!(numbers, [1, 2, 3, 4, 5, 6, 7]);
    assert!(table.partitions[3].extended_container);
    assert!(!table.partitions[4].extended_container);
    assert_eq!(table.partitions[4].partuuid, "0badcafe-05");
    assert_eq!(table.partitions[4].size_bytes, 4 << 20);
    assert_eq!(table.partitions[6].partuuid, "0badcafe-07");
}

pub(crate) fn read_bytes(disk: Vec<u8>) -> Result<Option<PartitionTable>, PartitionError> {
    let size_bytes = disk.len() as u64;
    read_table(&mut Cursor::new(disk), size_bytes)
}

#[test]
fn unpartitioned_fat_disk_has_no_table() {
    let dir = tempfile::tempdir().unwrap();
    let image = sparse_file(dir.path(), "fat.img", 2 << 20);
    run_with_input("mkfs.vfat", &[image.to_str().unwrap()], None);
    assert!(!blkid_export(&image).contains_key("PTTYPE"));
    assert!(read_file(&image).unwrap().is_none());
}

#[test]
fn zeros_have_no_table() {
    assert!(read_bytes(vec![0u8; 1 << 20]).unwrap().is_none());
}

#[test]
fn short_device_has_no_table() {
    assert!(read_bytes(vec![0u8; 100]).unwrap().is_none());
}

#[test]
fn protective_mbr_on_a_tiny_device_is_an_error_not_a_panic() {
    let mut disk = vec![0u8; 512];
    write_mbr_entry(&mut disk, 0, MBR_TYPE_GPT_PROTECTIVE, 1, 100);
    assert!(matches!(
        read_bytes(disk).unwrap_err(),
        PartitionError::NoValidGpt {
            primary: GptDefect::OutOfRange { lba: 1 },
            ..
        }
    ));
}

#[test]
fn read_error_is_reported_with_offset() {
    let mut short = Cursor::new(vec![0u8; 100]);
    let error = read_table(&mut short, 1 << 20).unwrap_err();
    assert!(matches!(
        error,
        PartitionError::Read(RegionReadError {
            offset_bytes: 0,
            len_bytes: 512,
            ..
        })
    ));
}

#[test]
fn whole_disk_members_of_the_0_90_set_have_no_table() {
    // md0's PV label is in sector 1, and sector 0 has no 0x55AA signature.
    for disk in 1..=3 {
        let mut dev = samples::SampledDisk::new("r1090", disk);
        assert_eq!(&dev.head()[512..520], b"LABELONE");
        assert!(read_table(&mut dev, samples::DISK_BYTES).unwrap().is_none());
    }
}
