use super::*;
use crate::devices::probe::tests::tools::{run, sparse_file};
use crate::devices::probe::tests::{patch, probe_and_compare, probe_file, UUID};

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
