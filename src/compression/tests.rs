use super::*;
use std::process::Command;

/// Bytes that compress well but not trivially.
fn sample() -> Vec<u8> {
    (0..300_000u32)
        .flat_map(|i| (i % 251).to_le_bytes())
        .collect()
}

/// `data` compressed by the real `tool` (tests/setup-debian.sh installs each).
fn compress_with(tool: &str, args: &[&str], data: &[u8]) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("data");
    std::fs::write(&plain, data).unwrap();
    let out = Command::new(tool)
        .args(args)
        .arg(&plain)
        .output()
        .unwrap_or_else(|e| panic!("{tool} (tests/setup-debian.sh installs it): {e}"));
    assert!(out.status.success(), "{tool} failed");
    out.stdout
}

/// The tools as the kernel's build (kernels, ramdisks) and kmod (`.ko.xz` with CRC32,
/// `.ko.zst`) call them.
const TOOLS: [(&str, &[&str], Compression); 5] = [
    ("xz", &["--check=crc32", "-k", "-c"], Compression::Xz),
    ("zstd", &["-q", "-c"], Compression::Zstd),
    ("bzip2", &["-k", "-c"], Compression::Bzip2),
    ("lz4", &["-l", "-q", "-c"], Compression::Lz4Legacy),
    ("gzip", &["-c"], Compression::Gzip),
];

#[test]
fn output_of_the_real_tools_is_recognised_and_unpacked() {
    let original = sample();
    for (tool, args, expected) in TOOLS {
        let packed = compress_with(tool, args, &original);
        assert_eq!(Compression::detect(&packed), Some(expected), "{tool}");
        assert_eq!(
            decompress(expected, &packed, 1 << 30).unwrap(),
            original,
            "{tool}"
        );
        assert_eq!(
            decompress_if_compressed(packed, 1 << 30).unwrap(),
            original,
            "{tool}"
        );
    }
}

#[test]
fn a_stream_cut_short_is_corrupt_not_a_panic() {
    let original = sample();
    for (tool, args, expected) in TOOLS {
        let packed = compress_with(tool, args, &original);
        match decompress(expected, &packed[..packed.len() / 2], 1 << 30) {
            Err(DecompressError::Corrupt { compression, .. }) => assert_eq!(compression, expected),
            // LZ4's legacy framing has no end marker: a cut stream yields a prefix.
            Ok(prefix) if expected == Compression::Lz4Legacy => {
                assert!(prefix.len() < original.len())
            }
            other => panic!("{tool}: a cut stream gave {other:?}"),
        }
    }
}

#[test]
fn output_past_the_limit_is_refused_for_every_format() {
    let zeros = vec![0u8; 4 << 20];
    for (tool, args, expected) in TOOLS {
        let packed = compress_with(tool, args, &zeros);
        let result = decompress(expected, &packed, 1 << 20);
        assert!(
            matches!(
                result,
                Err(DecompressError::TooBig { limit_bytes, .. }) if limit_bytes == 1 << 20
            ) || matches!(result, Err(DecompressError::Corrupt { .. })),
            "{tool}: {result:?}"
        );
        assert!(decompress(expected, &packed, 4 << 20).is_ok(), "{tool}");
    }
}

#[test]
fn plain_bytes_pass_through_and_unknown_formats_are_named() {
    assert_eq!(Compression::detect(b"\x7fELF...."), None);
    assert_eq!(
        decompress_if_compressed(b"plain".to_vec(), 10).unwrap(),
        b"plain"
    );
    assert_eq!(
        Compression::detect(&[0x5d, 0, 0, 0x80]),
        Some(Compression::Lzma)
    );
    assert_eq!(Compression::detect(b"\x89LZO\0"), Some(Compression::Lzo));
    let error = decompress(Compression::Lzo, b"\x89LZO\0", 10).unwrap_err();
    assert!(matches!(
        error,
        DecompressError::Unsupported {
            compression: Compression::Lzo
        }
    ));
    assert_eq!(
        error.to_string(),
        "lzo is not a compression kboot can unpack (gzip, xz, zstd, bzip2 and lz4 are)"
    );
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

#[test]
fn every_gzip_member_is_unpacked_as_zcat_does() {
    let file = [gzip(b"first "), gzip(b"second")].concat();
    assert_eq!(
        decompress(Compression::Gzip, &file, 1 << 20).unwrap(),
        b"first second"
    );
}

#[test]
fn a_bzimage_payload_unpacks_its_stream_and_leaves_kbuilds_size_word() {
    let mut payload = gzip(b"vmlinux bytes");
    payload.extend_from_slice(&13u32.to_le_bytes());
    assert_eq!(
        decompress(Compression::Gzip, &payload, 1 << 20).unwrap(),
        b"vmlinux bytes"
    );
    assert!(matches!(
        decompress(Compression::Gzip, &payload, 7),
        Err(DecompressError::TooBig { limit_bytes: 7, .. })
    ));
}

/// The legacy framing around raw LZ4 blocks.
fn lz4_legacy_frame(blocks: &[Vec<u8>]) -> Vec<u8> {
    let mut out = LZ4_LEGACY_MAGIC.to_vec();
    for block in blocks {
        out.extend_from_slice(&u32::try_from(block.len()).unwrap().to_le_bytes());
        out.extend_from_slice(block);
    }
    out
}

#[test]
fn many_tiny_lz4_blocks_unpack_without_zero_filling_a_whole_block_each() {
    // 100,000 blocks of one literal byte: 600 KB that took 27 s of CPU when each
    // block zero-filled 8 MiB.
    let input = lz4_legacy_frame(&vec![vec![0x10, b'A']; 100_000]);
    let started = std::time::Instant::now();
    let out = decompress(Compression::Lz4Legacy, &input, 1 << 30).unwrap();
    let took = started.elapsed();
    assert_eq!(out.len(), 100_000);
    assert!(out.iter().all(|&b| b == b'A'));
    // Milliseconds now; a generous bound that a shared CI machine still meets.
    assert!(took.as_secs() < 5, "took {took:?}");
}

#[test]
fn lz4_blocks_at_the_best_ratio_still_unpack_whole() {
    // Zeros compress as far as LZ4 goes (~255:1), in a full 8 MiB block and a small one.
    let full = vec![0u8; LZ4_LEGACY_BLOCK_BYTES];
    let small = vec![0u8; 4096];
    let input = lz4_legacy_frame(&[
        lz4_flex::block::compress(&full),
        lz4_flex::block::compress(&small),
    ]);
    let out = decompress(Compression::Lz4Legacy, &input, 1 << 30).unwrap();
    assert_eq!(out.len(), full.len() + small.len());
    assert!(out.iter().all(|&b| b == 0));
    // And what the lz4 tool itself writes for a kernel-sized run of zeros.
    let zeros = vec![0u8; 3 * LZ4_LEGACY_BLOCK_BYTES / 2];
    let packed = compress_with("lz4", &["-l", "-q", "-c", "-9"], &zeros);
    let out = decompress(Compression::Lz4Legacy, &packed, 1 << 30).unwrap();
    assert_eq!(out, zeros);
}
