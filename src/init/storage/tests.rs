use super::*;
use crate::devices::test_samples::SampledDisk;
use std::fs;

fn image_partition() -> BlockDevice {
    BlockDevice {
        name: "disk.img:1".into(),
        path: PathBuf::from("/nonexistent/disk.img"),
        number: None,
        offset_bytes: 1 << 20,
        size_bytes: 1 << 30,
        ..BlockDevice::default()
    }
}

#[test]
fn a_device_that_cannot_carry_a_replay_snapshot_is_refused_before_anything_is_opened() {
    let mut storage = Storage::new(&"root=/dev/vda1".parse().unwrap());
    let tmp = tempfile::tempdir().unwrap();
    let err = storage
        .replay_snapshot(&image_partition(), tmp.path(), tmp.path(), 8 << 30)
        .unwrap_err();
    assert!(matches!(err, SnapshotError::Unsuitable { .. }), "{err}");
    assert!(storage.dm.is_none(), "device-mapper was not opened");
    assert_eq!(fs::read_dir(tmp.path()).unwrap().count(), 0, "no node made");
    // Nothing was made, so there is nothing to take down.
    storage.drop_snapshot(&image_partition());
    storage.release(tmp.path());
}

/// The md superblock of the r1lvm set's first member (its partition at 1 MiB).
fn member_superblock() -> md::MdSuperblock {
    let disk = SampledDisk::new("r1lvm", 1);
    let size_bytes = disk.tail_offset_bytes() + disk.tail().len() as u64 - (1 << 20);
    let mut window = Window::new(disk, 1 << 20, size_bytes);
    md::read_superblock(&mut window, size_bytes)
        .unwrap()
        .unwrap()
}

fn device(name: &str, parent: Option<&str>, problem: Option<&str>) -> BlockDevice {
    BlockDevice {
        name: name.to_string(),
        path: PathBuf::from(format!("/dev/{name}")),
        parent: parent.map(str::to_string),
        problem: problem.map(str::to_string),
        ..BlockDevice::default()
    }
}

#[test]
fn unidentified_devices_names_a_member_whose_superblock_read_failed() {
    let devices = [
        device("vda", None, None),
        device("vda1", Some("vda"), None),
        device("vdb", None, None),
        device(
            "vdb1",
            Some("vdb"),
            Some("md member with a bad superblock: Input/output error"),
        ),
    ];
    assert_eq!(
        unidentified_devices(&devices),
        ["vdb1 (md member with a bad superblock: Input/output error)"]
    );
}

#[test]
fn unidentified_devices_leaves_out_partitions_of_whole_disk_members() {
    let mut member = device("vdc", None, None);
    member.md = Some(member_superblock());
    let devices = [
        member,
        device(
            "vdc1",
            Some("vdc"),
            Some("partition of md member vdc: ignored, use the array"),
        ),
    ];
    assert!(unidentified_devices(&devices).is_empty());
}
