use super::*;
use crate::compression::{Compression, DecompressError};
use std::io::Write;

#[test]
fn gzip_kernels_are_read_decompressed_and_plain_ones_as_they_are() {
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("vmlinux");
    std::fs::write(&plain, b"plain bytes").unwrap();
    assert_eq!(read_decompressed(&plain).unwrap(), b"plain bytes");
    let gz = dir.path().join("vmlinux.gz");
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(b"inner bytes").unwrap();
    std::fs::write(&gz, enc.finish().unwrap()).unwrap();
    assert_eq!(read_decompressed(&gz).unwrap(), b"inner bytes");
    assert!(matches!(
        read_decompressed(&dir.path().join("nosuch")),
        Err(KexecError::ReadFile { .. })
    ));
}

/// A compressed kernel file is read unpacked (every format is tested in
/// `crate::compression`); one cut short is an error naming the file and the format.
#[test]
fn an_xz_kernel_is_read_unpacked_and_a_cut_one_named() {
    let dir = tempfile::tempdir().unwrap();
    let original: Vec<u8> = (0..300_000u32)
        .flat_map(|i| (i % 251).to_le_bytes())
        .collect();
    let plain = dir.path().join("vmlinux");
    std::fs::write(&plain, &original).unwrap();
    let out = std::process::Command::new("xz")
        .args(["--check=crc32", "-k", "-c"])
        .arg(&plain)
        .output()
        .expect("xz (tests/setup-debian.sh installs it)");
    let packed = dir.path().join("vmlinux.xz");
    std::fs::write(&packed, &out.stdout).unwrap();
    assert_eq!(read_decompressed(&packed).unwrap(), original);
    let cut = dir.path().join("cut.xz");
    std::fs::write(&cut, &out.stdout[..out.stdout.len() / 2]).unwrap();
    let error = read_decompressed(&cut).unwrap_err();
    assert!(matches!(
        &error,
        KexecError::Decompress {
            source: DecompressError::Corrupt {
                compression: Compression::Xz,
                ..
            },
            ..
        }
    ));
    assert!(
        error
            .to_string()
            .starts_with(&format!("cannot unpack {}: corrupt xz data", cut.display())),
        "{error}"
    );
}

#[test]
fn ramdisks_join_padded_to_four_bytes() {
    let mut joined = Vec::new();
    assert_eq!(append_ramdisk(&mut joined, &mut &b"abcde"[..]).unwrap(), 8);
    assert_eq!(append_ramdisk(&mut joined, &mut &b"xy"[..]).unwrap(), 4);
    assert_eq!(append_ramdisk(&mut joined, &mut &b"four"[..]).unwrap(), 4);
    assert_eq!(joined, b"abcde\0\0\0xy\0\0four");
}

#[test]
fn ramdisks_that_are_no_regular_file_are_refused_without_blocking() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("initrd.img");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
    for ramdisk in [fifo.as_path(), Path::new("/dev/zero")] {
        let error = append_ramdisk_file(&mut Vec::new(), ramdisk, 0).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidInput, "{error}");
    }
}

/// The ramdisks together stay within `untrusted::RAMDISKS`: one that does not fit in
/// what the others left is refused by its size, before it is read.
#[test]
fn a_ramdisk_past_the_joined_limit_is_refused_by_its_size() {
    let dir = tempfile::tempdir().unwrap();
    let ramdisk = dir.path().join("initrd.img");
    std::fs::write(&ramdisk, b"0707").unwrap();
    let mut joined = Vec::new();
    let almost_full = crate::untrusted::RAMDISKS.max_bytes - 3;
    let error = append_ramdisk_file(&mut joined, &ramdisk, almost_full).unwrap_err();
    assert_eq!(
        error.to_string(),
        "it is 4 bytes, more than the 3 bytes the ramdisks together may be"
    );
    assert!(joined.is_empty());
    assert_eq!(append_ramdisk_file(&mut joined, &ramdisk, 0).unwrap(), 4);
    assert_eq!(joined, b"0707");
}

#[test]
fn a_kernel_over_the_limit_is_refused_by_its_size_before_it_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let kernel = dir.path().join("vmlinuz");
    std::fs::File::create(&kernel)
        .unwrap()
        .set_len(crate::untrusted::KERNEL.max_bytes + 1)
        .unwrap();
    for error in [
        read_decompressed(&kernel).unwrap_err(),
        check_kernel(&kernel).unwrap_err(),
    ] {
        assert!(
            error.to_string().ends_with(
                "it is 536870913 bytes, more than the 536870912 bytes a kernel file may be"
            ),
            "{error}"
        );
    }
}
