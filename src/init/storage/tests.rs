use super::*;
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
