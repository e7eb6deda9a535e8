use super::*;
use crate::devices::probe::tests::tools::{run, sparse_file};
use crate::devices::probe::tests::{probe_and_compare, UUID};

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
