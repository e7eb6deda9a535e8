use super::*;

fn info(fs_type: FsType, needs_recovery: bool) -> FsInfo {
    FsInfo {
        fs_type,
        uuid: None,
        label: None,
        needs_recovery,
    }
}

#[test]
fn read_only_mounts_never_replay_journals() {
    assert_eq!(
        options(Some(FsType::Ext4), Some(&info(FsType::Ext4, true)), None),
        "noload"
    );
    assert_eq!(
        options(Some(FsType::Ext4), Some(&info(FsType::Ext4, false)), None),
        ""
    );
    assert_eq!(
        options(Some(FsType::Xfs), None, Some("inode64")),
        "norecovery,inode64"
    );
    assert_eq!(options(None, None, Some("subvol=@")), "subvol=@");
    assert_eq!(options(Some(FsType::Vfat), None, Some("")), "");
}

#[test]
fn ext_family_mounts_as_ext4_and_modules_are_named() {
    assert_eq!(kernel_fs_name(FsType::Ext2), "ext4");
    assert_eq!(module_for("iso9660"), "isofs");
    assert_eq!(module_for("xfs"), "xfs");
}

#[test]
fn journals_replay_in_ram_exactly_where_a_plain_mount_would_skip_them() {
    let cases = [
        (Some(FsType::Ext4), Some(info(FsType::Ext4, true)), true),
        (Some(FsType::Ext3), Some(info(FsType::Ext3, true)), true),
        (Some(FsType::Ext4), Some(info(FsType::Ext4, false)), false),
        (Some(FsType::Ext4), None, false),
        (Some(FsType::Xfs), None, true),
        (Some(FsType::Vfat), None, false),
        (None, Some(info(FsType::Ext4, true)), false),
    ];
    for (fs_type, probed, replays) in cases {
        assert_eq!(
            replays_journal(fs_type, probed.as_ref()),
            replays,
            "{fs_type:?} {probed:?}"
        );
        // Where the replay cannot be done, the fallback keeps the disk unwritten.
        let fallback = options(fs_type, probed.as_ref(), None);
        assert_eq!(
            replays,
            fallback == "noload" || fallback == "norecovery",
            "{fs_type:?}: {fallback}"
        );
    }
}
