use super::*;
use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{self, SeekFrom};
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

use tools::blkid_export;

pub(crate) fn probe_file(path: &Path) -> Option<FsInfo> {
    let mut file = File::open(path).unwrap();
    let size_bytes = file.metadata().unwrap().len();
    probe(&mut file, size_bytes).unwrap()
}

/// Probe the image and check TYPE, UUID and LABEL field by field against blkid.
pub(crate) fn probe_and_compare(path: &Path) -> FsInfo {
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

pub(crate) fn patch(path: &Path, offset_bytes: u64, bytes: &[u8]) {
    let mut file = OpenOptions::new().write(true).open(path).unwrap();
    file.seek(SeekFrom::Start(offset_bytes)).unwrap();
    file.write_all(bytes).unwrap();
}

/// A fixed UUID for the tools that take one.
pub(crate) const UUID: &str = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";

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
    const HEAD_LEN_BYTES_U64: u64 = HEAD_LEN_BYTES as u64;
    let error = probe(&mut FailingDevice, 1 << 20).unwrap_err();
    assert!(matches!(
        error,
        ProbeError::Read(RegionReadError {
            offset_bytes: 0,
            len_bytes: HEAD_LEN_BYTES_U64,
            ..
        })
    ));
}

#[test]
fn device_shorter_than_its_claimed_size_is_a_read_error() {
    let mut short = Cursor::new(vec![0u8; 512]);
    let error = probe(&mut short, 1 << 20).unwrap_err();
    assert!(matches!(
        error,
        ProbeError::Read(RegionReadError {
            offset_bytes: 0,
            ..
        })
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
fn a_read_error_reaches_the_report_once_with_its_cause() {
    let error = probe(&mut FailingDevice, 1 << 20).unwrap_err();
    assert_eq!(
        crate::report::report(&error),
        "cannot read 4096 bytes at offset 0: medium error"
    );
}
