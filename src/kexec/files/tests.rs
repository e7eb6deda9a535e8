use super::*;
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

/// Every compression a kernel file may carry, made by the real tools (xz with
/// CRC32 as kbuild does, zstd, bzip2, lz4 -l = the kernel's legacy format, gzip).
#[test]
fn kernels_compressed_by_the_real_tools_are_read_unpacked() {
    let dir = tempfile::tempdir().unwrap();
    let original: Vec<u8> = (0..300_000u32)
        .flat_map(|i| (i % 251).to_le_bytes())
        .collect();
    let plain = dir.path().join("vmlinux");
    std::fs::write(&plain, &original).unwrap();
    for (tool, args, expected) in [
        ("xz", &["--check=crc32", "-k", "-c"][..], Compression::Xz),
        ("zstd", &["-q", "-c"][..], Compression::Zstd),
        ("bzip2", &["-k", "-c"][..], Compression::Bzip2),
        ("lz4", &["-l", "-q", "-c"][..], Compression::Lz4Legacy),
        ("gzip", &["-c"][..], Compression::Gzip),
    ] {
        let out = std::process::Command::new(tool)
            .args(args)
            .arg(&plain)
            .output()
            .unwrap_or_else(|e| panic!("{tool} (tests/setup-debian.sh installs it): {e}"));
        assert!(out.status.success(), "{tool} failed");
        let packed = dir.path().join(format!("vmlinux.{tool}"));
        std::fs::write(&packed, &out.stdout).unwrap();
        assert_eq!(Compression::detect(&out.stdout), Some(expected), "{tool}");
        assert_eq!(read_decompressed(&packed).unwrap(), original, "{tool}");
        // Cut short: a clear error naming the file and the format, no panic.
        let cut = dir.path().join(format!("cut.{tool}"));
        std::fs::write(&cut, &out.stdout[..out.stdout.len() / 2]).unwrap();
        match read_decompressed(&cut) {
            Err(KexecError::Decompress { compression, .. }) => {
                assert_eq!(compression, expected.name())
            }
            // LZ4's legacy format has no end marker: a cut stream yields a prefix.
            Ok(prefix) if expected == Compression::Lz4Legacy => {
                assert!(prefix.len() < original.len())
            }
            other => panic!("{tool}: cut stream gave {other:?}"),
        }
    }
}

#[test]
fn ramdisks_join_padded_to_four_bytes() {
    let mut joined = Vec::new();
    append_ramdisk(&mut joined, b"abcde");
    append_ramdisk(&mut joined, b"xy");
    assert_eq!(joined, b"abcde\0\0\0xy\0\0");
}
