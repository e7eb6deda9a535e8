use super::*;
use std::process::Command;

fn root(mode_bits: u32) -> Ownership {
    Ownership {
        mode_bits,
        uid: 0,
        gid: 0,
    }
}

fn tiny_archive() -> Vec<u8> {
    let mut writer = CpioWriter::new(Vec::new());
    writer.dir("/dev", root(0o755)).unwrap();
    writer
        .node("/dev/console", root(0o600), NodeKind::Char, 5, 1)
        .unwrap();
    writer
        .file("/init", root(0o755), 3, &mut &b"hi\n"[..], "init".into())
        .unwrap();
    writer.symlink("/sh", "init", root(0o777)).unwrap();
    writer.finish().unwrap()
}

#[test]
fn tiny_archive_has_exact_newc_bytes() {
    let mut expected = Vec::new();
    let mut member = |fields: [u32; 13], name: &str, data: &[u8]| {
        let mut header = String::from("070701");
        for field in fields {
            header.push_str(&format!("{field:08X}"));
        }
        expected.extend_from_slice(header.as_bytes());
        expected.extend_from_slice(name.as_bytes());
        expected.push(0);
        while expected.len() % 4 != 0 {
            expected.push(0);
        }
        expected.extend_from_slice(data);
        while expected.len() % 4 != 0 {
            expected.push(0);
        }
    };
    // ino mode uid gid nlink mtime size devmaj devmin rdevmaj rdevmin namesize check
    member([1, 0o40755, 0, 0, 2, 0, 0, 0, 0, 0, 0, 4, 0], "dev", b"");
    member(
        [2, 0o20600, 0, 0, 1, 0, 0, 0, 0, 5, 1, 12, 0],
        "dev/console",
        b"",
    );
    member(
        [3, 0o100755, 0, 0, 1, 0, 3, 0, 0, 0, 0, 5, 0],
        "init",
        b"hi\n",
    );
    member(
        [4, 0o120777, 0, 0, 1, 0, 4, 0, 0, 0, 0, 3, 0],
        "sh",
        b"init",
    );
    member([0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 11, 0], "TRAILER!!!", b"");
    expected.resize(expected.len().next_multiple_of(512), 0);

    let archive = tiny_archive();
    // 604 bytes of members, rounded up to two blocks.
    assert_eq!(archive.len(), 1024);
    // Spot-check one header by hand, so the test does not only mirror the code.
    assert_eq!(
        &archive[..110],
        b"07070100000001000041ED0000000000000000000000020000000000000000\
           000000000000000000000000000000000000000400000000"
            .as_slice()
    );
    assert_eq!(archive, expected);
}

#[test]
fn a_short_source_is_an_error() {
    let mut writer = CpioWriter::new(Vec::new());
    let error = writer
        .file("/x", root(0o644), 10, &mut &b"short"[..], "src/x".into())
        .unwrap_err();
    assert!(
        matches!(
            error,
            CpioError::SizeChanged {
                expected_bytes: 10,
                read_bytes: 5,
                ..
            }
        ),
        "{error}"
    );
}

/// The archive must mean the same to GNU cpio: list it and extract it.
#[test]
fn gnu_cpio_lists_and_extracts_the_archive() {
    let dir = tempfile::tempdir().unwrap();
    let archive_path = dir.path().join("a.cpio");
    std::fs::write(&archive_path, tiny_archive()).unwrap();

    let listing = Command::new("cpio")
        .args(["-itv", "--quiet", "-F"])
        .arg(&archive_path)
        .output()
        .unwrap();
    assert!(listing.status.success(), "{listing:?}");
    let listing = String::from_utf8(listing.stdout).unwrap();
    let lines: Vec<&str> = listing.lines().collect();
    assert_eq!(lines.len(), 4, "{listing}");
    assert!(lines[0].starts_with("drwxr-xr-x") && lines[0].ends_with(" dev"));
    assert!(
        lines[1].starts_with("crw-------") && lines[1].contains("5,   1"),
        "{}",
        lines[1]
    );
    assert!(lines[1].ends_with(" dev/console"));
    assert!(lines[2].starts_with("-rwxr-xr-x") && lines[2].ends_with(" init"));
    assert!(lines[3].starts_with("lrwxrwxrwx") && lines[3].ends_with(" sh -> init"));

    // Extract all but the device node (making one needs CAP_MKNOD).
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let extract = Command::new("cpio")
        .args(["-idmv", "--quiet", "--no-absolute-filenames", "-F"])
        .arg(&archive_path)
        .args(["dev", "init", "sh"])
        .current_dir(&out)
        .output()
        .unwrap();
    assert!(extract.status.success(), "{extract:?}");
    assert_eq!(std::fs::read(out.join("init")).unwrap(), b"hi\n");
    assert_eq!(
        std::fs::read_link(out.join("sh")).unwrap(),
        Path::new("init")
    );
    assert!(out.join("dev").is_dir());
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(out.join("init"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o7777, 0o755);
}

use std::path::Path;
