use super::*;
use crate::devices::probe::probe;
use crate::devices::probe::tests::tools::{blkid_export, run, sparse_file};
use crate::devices::probe::tests::{patch, probe_and_compare, probe_file, UUID};
use std::fs::File;
use std::io::{Cursor, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

fn mke2fs_image(fs: &str, extra: &[&str]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let image = sparse_file(dir.path(), "ext.img", 8 << 20);
    let mut args = vec!["-q", "-F", "-t", fs];
    args.extend_from_slice(extra);
    args.push(image.to_str().unwrap());
    run("mke2fs", &args);
    (dir, image)
}

#[test]
fn ext2_matches_blkid() {
    let (_dir, image) = mke2fs_image("ext2", &["-L", "old root", "-U", UUID]);
    let info = probe_and_compare(&image);
    assert_eq!(info.fs_type, FsType::Ext2);
    assert_eq!(info.label.as_deref(), Some("old root"));
    assert!(!info.needs_recovery);
}

#[test]
fn ext3_matches_blkid() {
    let (_dir, image) = mke2fs_image("ext3", &["-L", "ext3root"]);
    let info = probe_and_compare(&image);
    assert_eq!(info.fs_type, FsType::Ext3);
}

#[test]
fn ext4_with_label_and_fixed_uuid_matches_blkid() {
    let (_dir, image) = mke2fs_image("ext4", &["-L", "rootfs", "-U", UUID]);
    let info = probe_and_compare(&image);
    assert_eq!(
        info,
        FsInfo {
            fs_type: FsType::Ext4,
            uuid: Some(UUID.to_owned()),
            label: Some("rootfs".to_owned()),
            needs_recovery: false,
        }
    );
}

#[test]
fn ext4_without_label_has_none() {
    let (_dir, image) = mke2fs_image("ext4", &[]);
    let info = probe_and_compare(&image);
    assert_eq!(info.label, None);
    assert!(info.uuid.is_some());
}

#[test]
fn ext2_with_only_extents_is_ext4_like_blkid() {
    let (_dir, image) = mke2fs_image("ext2", &["-O", "extents"]);
    assert_eq!(probe_and_compare(&image).fs_type, FsType::Ext4);
}

/// Sets the RECOVER incompat flag, as an unclean shutdown with a journal leaves it.
fn set_incompat_recover(image: &Path) {
    let incompat_at = 1024 + 0x60;
    let mut file = File::open(image).unwrap();
    let mut incompat = [0u8; 4];
    file.seek(SeekFrom::Start(incompat_at)).unwrap();
    file.read_exact(&mut incompat).unwrap();
    let flags = u32::from_le_bytes(incompat) | EXT_INCOMPAT_RECOVER;
    patch(image, incompat_at, &flags.to_le_bytes());
}

#[test]
fn ext4_recover_flag_sets_needs_recovery() {
    let (_dir, image) = mke2fs_image("ext4", &[]);
    set_incompat_recover(&image);
    let info = probe_and_compare(&image);
    assert_eq!(info.fs_type, FsType::Ext4);
    assert!(info.needs_recovery);
}

#[test]
fn ext3_recover_flag_stays_ext3_and_needs_recovery() {
    let (_dir, image) = mke2fs_image("ext3", &[]);
    set_incompat_recover(&image);
    let info = probe_and_compare(&image);
    assert_eq!(info.fs_type, FsType::Ext3);
    assert!(info.needs_recovery);
}

#[test]
fn ext_external_journal_is_not_a_filesystem() {
    let (_dir, image) = mke2fs_image("ext4", &["-O", "journal_dev", "-b", "4096"]);
    assert_eq!(
        blkid_export(&image).get("TYPE").map(String::as_str),
        Some("jbd")
    );
    assert_eq!(probe_file(&image), None);
}

#[test]
fn ext_with_one_magic_byte_changed_is_unknown() {
    let (_dir, image) = mke2fs_image("ext4", &[]);
    patch(&image, 1024 + 0x38, &[0x54]);
    assert_eq!(probe_file(&image), None);
}

#[test]
fn truncated_ext_superblock_is_unknown() {
    let (_dir, image) = mke2fs_image("ext4", &[]);
    let mut head = vec![0u8; 1500];
    File::open(&image).unwrap().read_exact(&mut head).unwrap();
    // The magic is inside the first 1500 bytes but the superblock is not whole.
    assert_eq!(probe(&mut Cursor::new(head), 1500).unwrap(), None);
}
