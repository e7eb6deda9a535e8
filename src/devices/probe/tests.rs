use super::*;
use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::SeekFrom;
use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Helpers shared with the partition table tests: build images with the real
/// tools and read back what blkid says about them.
pub(crate) mod tools {
    use super::*;

    /// Run a tool, failing the test (never skipping) when it is missing or fails.
    pub(crate) fn run(program: &str, args: &[&str]) -> String {
        run_with_input(program, args, None)
    }

    pub(crate) fn run_with_input(program: &str, args: &[&str], input: Option<&str>) -> String {
        let mut command = Command::new(program);
        command.args(args).env("LC_ALL", "C");
        // Tools in /sbin are not on every user's PATH.
        let path = std::env::var("PATH").unwrap_or_default();
        command.env("PATH", format!("{path}:/usr/sbin:/sbin:/usr/bin:/bin"));
        command.stdin(std::process::Stdio::piped());
        command.stdout(std::process::Stdio::piped());
        command.stderr(std::process::Stdio::piped());
        let mut child = command.spawn().unwrap_or_else(|e| {
            panic!("{program} is needed by this test and could not be run: {e}")
        });
        {
            let mut stdin = child.stdin.take().unwrap();
            if let Some(input) = input {
                stdin.write_all(input.as_bytes()).unwrap();
            }
        }
        let output = child.wait_with_output().unwrap();
        assert!(
            output.status.success(),
            "{program} {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// A sparse file of `size_bytes` in `dir`.
    pub(crate) fn sparse_file(dir: &Path, name: &str, size_bytes: u64) -> PathBuf {
        let path = dir.join(name);
        File::create(&path).unwrap().set_len(size_bytes).unwrap();
        path
    }

    /// `blkid -p -o export FILE` as a map. blkid exits 2 when it finds nothing,
    /// which is an empty map here.
    pub(crate) fn blkid_export(path: &Path) -> HashMap<String, String> {
        let output = Command::new("blkid")
            .env("PATH", "/usr/sbin:/sbin:/usr/bin:/bin")
            .args(["-p", "-o", "export"])
            .arg(path)
            .output()
            .unwrap_or_else(|e| panic!("blkid is needed by this test: {e}"));
        assert!(
            output.status.success() || output.status.code() == Some(2),
            "blkid failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        parse_export(&String::from_utf8_lossy(&output.stdout))
    }

    /// blkid's export format escapes shell-special characters with a backslash.
    pub(crate) fn parse_export(text: &str) -> HashMap<String, String> {
        text.lines()
            .filter_map(|line| line.split_once('='))
            .map(|(key, value)| {
                let mut unescaped = String::new();
                let mut chars = value.chars();
                while let Some(c) = chars.next() {
                    if c == '\\' {
                        unescaped.extend(chars.next());
                    } else {
                        unescaped.push(c);
                    }
                }
                (key.to_owned(), unescaped)
            })
            .collect()
    }
}

use tools::{blkid_export, run, sparse_file};

fn probe_file(path: &Path) -> Option<FsInfo> {
    let mut file = File::open(path).unwrap();
    let size_bytes = file.metadata().unwrap().len();
    probe(&mut file, size_bytes).unwrap()
}

/// Probe the image and check TYPE, UUID and LABEL field by field against blkid.
fn probe_and_compare(path: &Path) -> FsInfo {
    let info = probe_file(path).expect("a filesystem");
    let blkid = blkid_export(path);
    assert_eq!(
        Some(info.fs_type.name()),
        blkid.get("TYPE").map(String::as_str)
    );
    assert_eq!(info.uuid.as_ref(), blkid.get("UUID"), "UUID of {path:?}");
    assert_eq!(info.label.as_ref(), blkid.get("LABEL"), "LABEL of {path:?}");
    info
}

fn patch(path: &Path, offset_bytes: u64, bytes: &[u8]) {
    let mut file = OpenOptions::new().write(true).open(path).unwrap();
    file.seek(SeekFrom::Start(offset_bytes)).unwrap();
    file.write_all(bytes).unwrap();
}

const UUID: &str = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";

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

#[test]
fn ext4_recover_flag_sets_needs_recovery() {
    let (_dir, image) = mke2fs_image("ext4", &[]);
    let incompat_at = 1024 + 0x60;
    let mut file = File::open(&image).unwrap();
    let mut incompat = [0u8; 4];
    file.seek(SeekFrom::Start(incompat_at)).unwrap();
    file.read_exact(&mut incompat).unwrap();
    let flags = u32::from_le_bytes(incompat) | EXT_INCOMPAT_RECOVER;
    patch(&image, incompat_at, &flags.to_le_bytes());
    let info = probe_and_compare(&image);
    assert_eq!(info.fs_type, FsType::Ext4);
    assert!(info.needs_recovery);
}

#[test]
fn ext3_recover_flag_stays_ext3_and_needs_recovery() {
    let (_dir, image) = mke2fs_image("ext3", &[]);
    let incompat_at = 1024 + 0x60;
    let mut file = File::open(&image).unwrap();
    let mut incompat = [0u8; 4];
    file.seek(SeekFrom::Start(incompat_at)).unwrap();
    file.read_exact(&mut incompat).unwrap();
    let flags = u32::from_le_bytes(incompat) | EXT_INCOMPAT_RECOVER;
    patch(&image, incompat_at, &flags.to_le_bytes());
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
fn xfs_matches_blkid() {
    let dir = tempfile::tempdir().unwrap();
    let image = sparse_file(dir.path(), "xfs.img", 300 << 20);
    let uuid_option = format!("uuid={UUID}");
    run(
        "mkfs.xfs",
        &[
            "-q",
            "-f",
            "-L",
            "xfsroot",
            "-m",
            &uuid_option,
            image.to_str().unwrap(),
        ],
    );
    let info = probe_and_compare(&image);
    assert_eq!(info.fs_type, FsType::Xfs);
    assert_eq!(info.uuid.as_deref(), Some(UUID));
}

#[test]
fn btrfs_matches_blkid() {
    let dir = tempfile::tempdir().unwrap();
    let image = sparse_file(dir.path(), "btrfs.img", 128 << 20);
    run(
        "mkfs.btrfs",
        &[
            "-q",
            "-f",
            "-L",
            "btrfs root",
            "-U",
            UUID,
            image.to_str().unwrap(),
        ],
    );
    let info = probe_and_compare(&image);
    assert_eq!(info.fs_type, FsType::Btrfs);
    assert_eq!(info.label.as_deref(), Some("btrfs root"));
}

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

#[test]
fn swap_matches_blkid() {
    let dir = tempfile::tempdir().unwrap();
    let image = sparse_file(dir.path(), "swap.img", 1 << 20);
    run(
        "mkswap",
        &["-L", "swap0", "-U", UUID, image.to_str().unwrap()],
    );
    let info = probe_and_compare(&image);
    assert_eq!(info.fs_type, FsType::Swap);
    assert!(!info.fs_type.mountable());
}

#[test]
fn swap_with_bad_version_is_unknown() {
    let dir = tempfile::tempdir().unwrap();
    let image = sparse_file(dir.path(), "swap.img", 1 << 20);
    run("mkswap", &[image.to_str().unwrap()]);
    patch(&image, 0x400, &[2]);
    assert_eq!(probe_file(&image), None);
}

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
fn zeros_are_unknown() {
    let zeros = vec![0u8; 1 << 20];
    let size_bytes = zeros.len() as u64;
    assert_eq!(probe(&mut Cursor::new(zeros), size_bytes).unwrap(), None);
}

#[test]
fn device_shorter_than_any_superblock_is_unknown() {
    let short = vec![0u8; 100];
    assert_eq!(probe(&mut Cursor::new(short), 100).unwrap(), None);
}

#[test]
fn truncated_ext_superblock_is_unknown() {
    let (_dir, image) = mke2fs_image("ext4", &[]);
    let mut head = vec![0u8; 1500];
    File::open(&image).unwrap().read_exact(&mut head).unwrap();
    // The magic is inside the first 1500 bytes but the superblock is not whole.
    assert_eq!(probe(&mut Cursor::new(head), 1500).unwrap(), None);
}

/// A device whose reads fail, like a disk with a bad sector.
struct FailingDevice;

impl Read for FailingDevice {
    fn read(&mut self, _buf: &mut [u8]) -> io::Result<usize> {
        Err(io::Error::other("medium error"))
    }
}

impl Seek for FailingDevice {
    fn seek(&mut self, _pos: SeekFrom) -> io::Result<u64> {
        Ok(0)
    }
}

#[test]
fn read_error_is_reported_with_offset() {
    let error = probe(&mut FailingDevice, 1 << 20).unwrap_err();
    assert!(matches!(
        error,
        ProbeError::Read {
            offset_bytes: 0,
            len_bytes: HEAD_LEN_BYTES,
            ..
        }
    ));
}

#[test]
fn device_shorter_than_its_claimed_size_is_a_read_error() {
    let mut short = Cursor::new(vec![0u8; 512]);
    let error = probe(&mut short, 1 << 20).unwrap_err();
    assert!(matches!(
        error,
        ProbeError::Read {
            offset_bytes: 0,
            ..
        }
    ));
}

#[test]
fn fs_type_names_round_trip() {
    for fs_type in FsType::ALL {
        assert_eq!(fs_type.to_string().parse::<FsType>().unwrap(), fs_type);
    }
    assert!(FsType::Vfat.mountable());
}

#[test]
fn unknown_fs_type_name_is_an_error() {
    let error = "ntfs".parse::<FsType>().unwrap_err();
    assert!(matches!(error, ProbeError::UnknownFsType { ref name } if name == "ntfs"));
}

#[test]
fn joliet_merge_rejects_disagreeing_labels() {
    let mut utf16 = [0u8; 32];
    utf16[1] = b'X';
    assert_eq!(merge_joliet_label(&utf16, b"Y"), None);
}
