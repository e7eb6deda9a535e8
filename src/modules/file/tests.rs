use super::*;

#[test]
fn module_names_come_from_file_names_with_dashes_folded() {
    assert_eq!(
        module_name_from_path(Path::new("kernel/drivers/md/dm-mod.ko.xz")).as_deref(),
        Some("dm_mod")
    );
    assert_eq!(
        module_name_from_path(Path::new("a/b.ko.zst")).as_deref(),
        Some("b")
    );
    assert_eq!(
        module_name_from_path(Path::new("a/b.ko.gz")).as_deref(),
        Some("b")
    );
    assert_eq!(module_name_from_path(Path::new("a/b.o")), None);
    assert_eq!(module_name_from_path(Path::new("a/.ko")), None);
}

/// Compresses `path` in place with a real tool the way distributions' kbuild does
/// (`xz --check=crc32 --lzma2=dict=1MiB` for Fedora/RHEL, `zstd` for Ubuntu/Arch,
/// `gzip -n`), leaving `path` + `suffix`.
pub(crate) fn compress_module(path: &Path, tool: &str) -> std::path::PathBuf {
    let (args, suffix): (&[&str], &str) = match tool {
        "xz" => (&["--check=crc32", "--lzma2=dict=1MiB", "-f"], "xz"),
        "zstd" => (&["-q", "-f", "--rm"], "zst"),
        "gzip" => (&["-n", "-f"], "gz"),
        _ => panic!("no such compressor {tool}"),
    };
    let status = std::process::Command::new(tool)
        .args(args)
        .arg(path)
        .status()
        .unwrap_or_else(|e| panic!("{tool} (tests/setup-debian.sh installs it): {e}"));
    assert!(status.success(), "{tool} failed");
    let packed = path.with_extension(format!("ko.{suffix}"));
    assert!(packed.exists() && !path.exists(), "{tool} left {packed:?}");
    packed
}

#[test]
fn modules_compressed_by_xz_zstd_and_gzip_read_as_their_elf_bytes() {
    let dir = tempfile::tempdir().unwrap();
    for tool in ["xz", "zstd", "gzip"] {
        let relative = format!("{tool}/m.ko");
        crate::modules::fake_modules::write_fake_module(dir.path(), &relative, &["name=m"]);
        let plain = dir.path().join(&relative);
        let elf = std::fs::read(&plain).unwrap();
        let packed = compress_module(&plain, tool);
        assert!(is_compressed(&packed), "{packed:?}");
        assert_eq!(read_module_bytes(&packed).unwrap(), elf, "{tool}");
    }
    assert!(!is_compressed(Path::new("a/b.ko")));
}

#[test]
fn a_corrupt_compressed_module_is_named_with_its_format() {
    let dir = tempfile::tempdir().unwrap();
    crate::modules::fake_modules::write_fake_module(dir.path(), "m.ko", &["name=m"]);
    let packed = compress_module(&dir.path().join("m.ko"), "xz");
    let bytes = std::fs::read(&packed).unwrap();
    std::fs::write(&packed, &bytes[..bytes.len() / 2]).unwrap();
    let error = read_module_bytes(&packed).unwrap_err();
    assert!(
        error.to_string().starts_with(&format!(
            "cannot unpack module {}: corrupt xz data",
            packed.display()
        )),
        "{error}"
    );
}
