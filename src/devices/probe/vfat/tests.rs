use super::*;
use crate::devices::probe::tests::tools::{blkid_export, run, sparse_file};
use crate::devices::probe::tests::{patch, probe_and_compare, probe_file};
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

fn mkfs_vfat(size_bytes: u64, args: &[&str]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let image = sparse_file(dir.path(), "fat.img", size_bytes);
    let mut all_args = args.to_vec();
    all_args.push(image.to_str().unwrap());
    run("mkfs.vfat", &all_args);
    (dir, image)
}

#[test]
fn fat12_matches_blkid() {
    let (_dir, image) = mkfs_vfat(2 << 20, &["-F", "12", "-n", "ESP", "-i", "1234ABCD"]);
    let info = probe_and_compare(&image);
    assert_eq!(info.fs_type, FsType::Vfat);
    assert_eq!(info.uuid.as_deref(), Some("1234-ABCD"));
}

#[test]
fn fat16_matches_blkid() {
    let (_dir, image) = mkfs_vfat(16 << 20, &["-F", "16", "-n", "BOOT PART", "-i", "00c0ffee"]);
    let info = probe_and_compare(&image);
    assert_eq!(info.uuid.as_deref(), Some("00C0-FFEE"));
    assert_eq!(info.label.as_deref(), Some("BOOT PART"));
}

#[test]
fn fat32_matches_blkid() {
    let (_dir, image) = mkfs_vfat(40 << 20, &["-F", "32", "-n", "EFI", "-i", "DEADBEEF"]);
    let info = probe_and_compare(&image);
    assert_eq!(info.uuid.as_deref(), Some("DEAD-BEEF"));
    assert_eq!(info.label.as_deref(), Some("EFI"));
}

#[test]
fn fat32_without_label_has_none() {
    let (_dir, image) = mkfs_vfat(40 << 20, &["-F", "32"]);
    assert_eq!(probe_and_compare(&image).label, None);
}

/// Where the FAT12/16 root directory starts in an image mkfs.vfat made.
fn fat16_root_offset_bytes(image: &Path) -> u64 {
    let mut head = vec![0u8; 512];
    File::open(image).unwrap().read_exact(&mut head).unwrap();
    let geometry = fat_geometry(&head).unwrap();
    fat16_root_region(&geometry, u64::from(le16(&head, 0x16)), 1)
        .unwrap()
        .0
}

#[test]
fn fat_root_directory_label_wins_over_boot_sector() {
    let (_dir, image) = mkfs_vfat(2 << 20, &["-F", "12", "-n", "BOOTSECT"]);
    patch(&image, fat16_root_offset_bytes(&image), b"ROOTDIR    ");
    let info = probe_and_compare(&image);
    assert_eq!(info.label.as_deref(), Some("ROOTDIR"));
}

#[test]
fn fat_without_root_label_falls_back_to_boot_sector_label() {
    let (_dir, image) = mkfs_vfat(2 << 20, &["-F", "12", "-n", "BOOTSECT"]);
    // Mark the label entry deleted: blkid 2.38 then has no LABEL, only
    // LABEL_FATBOOT; we deliberately report that (see probe_vfat).
    patch(&image, fat16_root_offset_bytes(&image), &[0xE5]);
    let blkid = blkid_export(&image);
    let info = probe_file(&image).unwrap();
    assert_eq!(info.label.as_ref(), blkid.get("LABEL_FATBOOT"));
    assert_eq!(info.label.as_deref(), Some("BOOTSECT"));
}
