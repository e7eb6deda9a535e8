use super::*;
use crate::devices::test_samples as samples;
use std::io::Cursor;

#[test]
fn window_reads_only_its_range() {
    let data: Vec<u8> = (0..100u8).collect();
    let mut w = Window::new(Cursor::new(data), 10, 20);
    let mut buf = Vec::new();
    w.read_to_end(&mut buf).unwrap();
    assert_eq!(buf, (10..30u8).collect::<Vec<_>>());
    w.seek(SeekFrom::Start(18)).unwrap();
    let mut two = [0u8; 8];
    assert_eq!(w.read(&mut two).unwrap(), 2);
    assert_eq!(&two[..2], &[28, 29]);
    assert!(w.seek(SeekFrom::Current(-100)).is_err());
}

fn dev(name: &str, parent: Option<&str>, part: Option<u32>, partuuid: Option<&str>) -> BlockDevice {
    BlockDevice {
        name: name.into(),
        path: PathBuf::from("/dev").join(name),
        number: Some((253, part.unwrap_or(0))),
        offset_bytes: 0,
        size_bytes: 1 << 20,
        parent: parent.map(Into::into),
        partition_number: part,
        partuuid: partuuid.map(Into::into),
        partlabel: Some(format!("{name}-label")),
        pttype: None,
        ptuuid: None,
        md: None,
        lvm_pv: None,
        fs: Some(FsInfo {
            fs_type: probe::FsType::Ext4,
            uuid: Some(format!("UUID-{name}")),
            label: Some(format!("L{name}")),
            needs_recovery: false,
        }),
        problem: None,
    }
}

#[test]
fn finds_devices_by_every_kind_of_name() {
    let devs = vec![
        dev("vda", None, None, None),
        dev("vda1", Some("vda"), Some(1), Some("aaaa-01")),
        dev("vda2", Some("vda"), Some(2), Some("aaaa-02")),
    ];
    let dev_root = Path::new("/nonexistent-dev");
    let name = |spec: &str| find(&devs, &spec.parse().unwrap(), dev_root).map(|d| d.name.clone());
    assert_eq!(name("UUID=uuid-vda2").as_deref(), Some("vda2"));
    assert_eq!(name("LABEL=Lvda1").as_deref(), Some("vda1"));
    assert_eq!(name("LABEL=lvda1"), None);
    assert_eq!(name("PARTUUID=AAAA-02").as_deref(), Some("vda2"));
    assert_eq!(
        name("PARTUUID=aaaa-01/PARTNROFF=1").as_deref(),
        Some("vda2")
    );
    assert_eq!(name("PARTLABEL=vda1-label").as_deref(), Some("vda1"));
    assert_eq!(name("253:2").as_deref(), Some("vda2"));
    assert_eq!(name("/dev/vda1"), None, "paths resolve under dev_root");
    assert_eq!(name("LABEL=nothing"), None);
}

#[test]
fn scans_a_sysfs_tree() {
    let tmp = tempfile::tempdir().unwrap();
    let sys = tmp.path().join("sys");
    let dev_dir = tmp.path().join("dev");
    fs::create_dir_all(&dev_dir).unwrap();
    let disk = sys.join("devices/virtio0/block/vda");
    let part = disk.join("vda1");
    fs::create_dir_all(&part).unwrap();
    fs::create_dir_all(sys.join("class/block")).unwrap();
    fs::write(disk.join("size"), "2048\n").unwrap();
    fs::write(disk.join("dev"), "253:0\n").unwrap();
    fs::write(part.join("size"), "1024\n").unwrap();
    fs::write(part.join("dev"), "253:1\n").unwrap();
    fs::write(part.join("partition"), "1\n").unwrap();
    let ram = sys.join("devices/virtual/block/ram0");
    fs::create_dir_all(&ram).unwrap();
    fs::write(ram.join("size"), "8192\n").unwrap();
    std::os::unix::fs::symlink(&disk, sys.join("class/block/vda")).unwrap();
    std::os::unix::fs::symlink(&part, sys.join("class/block/vda1")).unwrap();
    std::os::unix::fs::symlink(&ram, sys.join("class/block/ram0")).unwrap();
    fs::write(dev_dir.join("vda"), vec![0u8; 2048 * 512]).unwrap();
    let devs = scan(&sys, &dev_dir).unwrap();
    let names: Vec<_> = devs.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names, vec!["vda", "vda1"]);
    assert_eq!(devs[0].size_bytes, 1 << 20);
    assert_eq!(devs[0].number, Some((253, 0)));
    assert_eq!(devs[1].parent.as_deref(), Some("vda"));
    assert_eq!(devs[1].partition_number, Some(1));
    assert!(devs[1].problem.as_deref().unwrap().contains("cannot open"));
}

/// A sampled disk of `tests/data/md-lvm/` rebuilt as a sparse image file (head
/// and tail samples at their places) and inspected.
fn inspect_sample(set: &str, disk: u32) -> Vec<BlockDevice> {
    let dir = tempfile::tempdir().unwrap();
    let image = dir.path().join(format!("{set}-disk{disk}.img"));
    let sampled = samples::SampledDisk::new(set, disk);
    sampled.write_image(&image);
    assert_eq!(fs::metadata(&image).unwrap().len(), samples::DISK_BYTES);
    inspect_image(&image).unwrap()
}

#[test]
fn gpt_partitions_of_sampled_disks_are_md_members() {
    for (set, disks) in [("r1lvm", 2), ("r5", 3), ("stale", 3)] {
        for disk in 1..=disks {
            let devs = inspect_sample(set, disk);
            assert_eq!(devs.len(), 2, "{set} disk{disk}: {devs:?}");
            let (whole, part) = (&devs[0], &devs[1]);
            assert_eq!(whole.pttype, Some("gpt"));
            assert!(whole.md.is_none() && whole.fs.is_none() && whole.lvm_pv.is_none());
            assert_eq!(whole.problem, None);

            let key = |field: &str| format!("DISK{disk}_{field}");
            assert_eq!(part.partition_number, Some(1));
            assert_eq!(
                part.offset_bytes,
                samples::env_u64(set, &key("MEMBER_OFFSET_BYTES"))
            );
            assert_eq!(part.size_bytes, samples::PARTITION_BYTES);
            assert_eq!(
                part.partuuid,
                Some(samples::env_value(set, &key("PARTUUID")))
            );
            let md = part.md.as_ref().unwrap();
            assert_eq!(md.uuid, samples::env_value(set, "MD_UUID"));
            assert_eq!(
                md.events,
                samples::env_u64(set, &format!("MD_MEMBER{disk}_EVENTS"))
            );
            // The PV (r1lvm, stale) lies inside the array's data area: it belongs
            // to the array, not to the member.
            assert_eq!(part.fs, None);
            assert_eq!(part.lvm_pv, None);
            assert_eq!(part.problem, None);
            assert!(part.blkid_line().contains(" TYPE=\"linux_raid_member\""));
        }
    }
}

#[test]
fn bare_pv_disk_is_an_lvm_pv() {
    let devs = inspect_sample("r1090", 3);
    assert_eq!(devs.len(), 1, "{devs:?}");
    let disk = &devs[0];
    assert_eq!(disk.lvm_pv, Some(samples::env_value("r1090", "PV2_UUID")));
    assert!(disk.md.is_none() && disk.fs.is_none() && disk.pttype.is_none());
    assert_eq!(disk.problem, None);
    assert!(disk.blkid_line().contains(" TYPE=\"LVM2_member\""));
}

#[test]
fn whole_disk_0_90_members_are_md_members_not_the_pv_their_array_holds() {
    for disk in [1, 2] {
        // Sector 1 of each member is md0's PV label, data offset 0 being what it is.
        let head = samples::sample(&format!("r1090-disk{disk}-head.bin.gz"));
        let label = lvm::label::parse_label(&head[..2048]).unwrap().unwrap();
        assert_eq!(label.uuid, samples::env_value("r1090", "PV1_UUID"));

        let devs = inspect_sample("r1090", disk);
        assert_eq!(devs.len(), 1, "{devs:?}");
        let member = &devs[0];
        let md = member.md.as_ref().unwrap();
        assert_eq!(md.uuid, samples::env_value("r1090", "MD_UUID"));
        assert_eq!(md.version, md::MetadataVersion::V0_90);
        assert_eq!(member.lvm_pv, None);
        assert_eq!(member.fs, None);
        assert_eq!(member.pttype, None);
        assert_eq!(member.problem, None);
    }
}

#[test]
fn blkid_line_shows_partlabel_and_fs_label_control_characters_escaped() {
    let mut d = dev("vda1", Some("vda"), Some(1), None);
    d.partlabel = Some("esp\x1b[2J\nkboot: fake".into());
    if let Some(fs) = d.fs.as_mut() {
        fs.label = Some("root\u{202e}\u{9b}".into());
    }
    let line = d.blkid_line();
    assert!(line.contains(" LABEL=\"root\\u{202e}\\u{9b}\""), "{line}");
    assert!(
        line.contains(" PARTLABEL=\"esp\\x1b[2J\\nkboot: fake\""),
        "{line}"
    );
    assert!(
        !line.chars().any(|c| c.is_control() || c == '\u{202e}'),
        "{line:?}"
    );
}

#[test]
fn kboots_replay_snapshots_are_not_listed_but_lvm_volumes_are() {
    let tmp = tempfile::tempdir().unwrap();
    let sys = tmp.path().join("sys");
    let dev_dir = tmp.path().join("dev");
    fs::create_dir_all(&dev_dir).unwrap();
    fs::create_dir_all(sys.join("class/block")).unwrap();
    for (name, dm_name) in [("dm-0", "vg-root"), ("dm-1", "kboot-replay-dm-0")] {
        let dir = sys.join("devices/virtual/block").join(name);
        fs::create_dir_all(dir.join("dm")).unwrap();
        fs::write(dir.join("size"), "2048\n").unwrap();
        fs::write(dir.join("dm/name"), format!("{dm_name}\n")).unwrap();
        std::os::unix::fs::symlink(&dir, sys.join("class/block").join(name)).unwrap();
    }
    let devs = scan(&sys, &dev_dir).unwrap();
    let names: Vec<_> = devs.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names, vec!["dm-0"]);
}
