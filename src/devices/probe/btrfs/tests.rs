use super::*;
use crate::devices::probe::tests::tools::{run, sparse_file};
use crate::devices::probe::tests::{probe_and_compare, UUID};

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
