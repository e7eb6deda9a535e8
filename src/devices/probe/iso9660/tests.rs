use super::*;
use crate::devices::probe::tests::probe_and_compare;
use crate::devices::probe::tests::tools::run;
use std::path::PathBuf;

fn genisoimage(args: &[&str]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let content = dir.path().join("content");
    std::fs::create_dir(&content).unwrap();
    std::fs::write(content.join("vmlinuz"), b"not a kernel").unwrap();
    let image = dir.path().join("cd.iso");
    let mut all_args = vec!["-quiet", "-o", image.to_str().unwrap()];
    all_args.extend_from_slice(args);
    all_args.push(content.to_str().unwrap());
    run("genisoimage", &all_args);
    (dir, image)
}

#[test]
fn iso9660_matches_blkid() {
    let (_dir, image) = genisoimage(&["-V", "INSTALL_CD"]);
    let info = probe_and_compare(&image);
    assert_eq!(info.fs_type, FsType::Iso9660);
    let uuid = info.uuid.unwrap();
    assert_eq!(uuid.len(), "YYYY-MM-DD-HH-MM-SS-CC".len());
}

#[test]
fn iso9660_joliet_keeps_lower_case_label() {
    let (_dir, image) = genisoimage(&["-J", "-V", "Debian live"]);
    let info = probe_and_compare(&image);
    assert_eq!(info.label.as_deref(), Some("Debian live"));
}

#[test]
fn iso9660_joliet_label_longer_than_16_is_rebuilt_from_primary() {
    let (_dir, image) = genisoimage(&["-J", "-joliet-long", "-V", "Debian 12.5.0 amd64 n"]);
    let info = probe_and_compare(&image);
    assert_eq!(info.label.as_deref(), Some("Debian 12.5.0 amd64 n"));
}

#[test]
fn joliet_merge_rejects_disagreeing_labels() {
    let mut utf16 = [0u8; 32];
    utf16[1] = b'X';
    assert_eq!(merge_joliet_label(&utf16, b"Y"), None);
}
