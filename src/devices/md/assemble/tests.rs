use super::*;
use crate::devices::md::plan::PlannedMember;
use crate::devices::md::{Level, MetadataVersion};

fn plan() -> ArrayPlan {
    ArrayPlan {
        uuid: "4b424f4f:00000001:00000000:00000001".into(),
        name: Some("sysraid".into()),
        version: MetadataVersion::V1_2,
        level: Level::Raid1,
        raid_disks: 2,
        events: 2,
        preferred_minor: None,
        members: vec![
            PlannedMember {
                device: "vda1".into(),
                path: "/dev/vda1".into(),
                number: (254, 1),
                slot: 0,
                events: 2,
            },
            PlannedMember {
                device: "vdb1".into(),
                path: "/dev/vdb1".into(),
                number: (254, 17),
                slot: 1,
                events: 2,
            },
        ],
        missing_slots: vec![],
        left_out: vec![],
        degraded: false,
    }
}

/// A fake sysfs: plain files stand in for the attributes of `kernel_name`,
/// kept under devices/virtual/block until the test links `block/NAME` to them
/// (the kernel creates that link when `new_array` is written).
fn fake_sys(dir: &Path, kernel_name: &str) -> PathBuf {
    fs::create_dir_all(dir.join("module/md_mod/parameters")).unwrap();
    fs::write(dir.join("module/md_mod/parameters/new_array"), "").unwrap();
    fs::create_dir_all(dir.join("module/raid1")).unwrap();
    fs::create_dir_all(dir.join("block")).unwrap();
    let array_dir = dir.join("devices/virtual/block").join(kernel_name);
    fs::create_dir_all(array_dir.join("md")).unwrap();
    for attr in ["metadata_version", "new_dev", "array_state"] {
        fs::write(array_dir.join("md").join(attr), "").unwrap();
    }
    fs::write(array_dir.join("dev"), "9:127\n").unwrap();
    array_dir
}

#[test]
fn assembly_writes_the_sysfs_sequence_and_links_the_name() {
    let sys = tempfile::tempdir().unwrap();
    let dev = tempfile::tempdir().unwrap();
    let array_dir = fake_sys(sys.path(), "md127");
    let plan = plan();
    let kernel_name = create_array(&plan, "sysraid", sys.path()).unwrap();
    assert_eq!(kernel_name, "md127");
    assert_eq!(
        fs::read_to_string(sys.path().join("module/md_mod/parameters/new_array")).unwrap(),
        "md127"
    );
    symlink(&array_dir, sys.path().join("block/md127")).unwrap();
    start_array(&plan, "sysraid", sys.path(), &kernel_name).unwrap();
    let md = array_dir.join("md");
    assert_eq!(
        fs::read_to_string(md.join("metadata_version")).unwrap(),
        "1.2"
    );
    // A plain file keeps only the last write: the last member.
    assert_eq!(fs::read_to_string(md.join("new_dev")).unwrap(), "254:17");
    assert_eq!(
        fs::read_to_string(md.join("array_state")).unwrap(),
        "readonly"
    );
    assert_eq!(
        read_device_number("sysraid", sys.path(), "md127").unwrap(),
        (9, 127)
    );
    let link = make_link("sysraid", dev.path(), "sysraid", "md127").unwrap();
    assert_eq!(link, dev.path().join("md/sysraid"));
    assert_eq!(fs::read_link(&link).unwrap(), Path::new("../md127"));
    // Made again (a second boot attempt), the link is replaced.
    make_link("sysraid", dev.path(), "sysraid", "md127").unwrap();
}

#[test]
fn taken_names_are_skipped() {
    let sys = tempfile::tempdir().unwrap();
    fake_sys(sys.path(), "md126");
    fs::create_dir_all(sys.path().join("block/md127")).unwrap();
    assert_eq!(
        create_array(&plan(), "sysraid", sys.path()).unwrap(),
        "md126"
    );
}

#[test]
fn modules_already_in_sys_module_are_not_loaded() {
    let sys = tempfile::tempdir().unwrap();
    let dev = tempfile::tempdir().unwrap();
    fs::create_dir_all(sys.path().join("module/md_mod")).unwrap();
    let mut asked = Vec::new();
    let mut load = |module: &str| {
        asked.push(module.to_owned());
        Ok(())
    };
    // No new_array attribute: assembly stops at step 2, after the modules.
    let error = assemble(&plan(), sys.path(), dev.path(), &mut load).unwrap_err();
    assert_eq!(asked, ["raid1"]);
    assert!(matches!(
        error,
        AssembleError::Sysfs {
            step: "creating the array",
            ..
        }
    ));
    assert_eq!(error.errno(), Some(libc::ENOENT));
}

#[test]
fn missing_module_is_loaded_and_its_failure_names_the_array() {
    let sys = tempfile::tempdir().unwrap();
    let dev = tempfile::tempdir().unwrap();
    let mut asked = Vec::new();
    let mut load = |module: &str| {
        asked.push(module.to_owned());
        Err(format!("{module} not found in modules.dep").into())
    };
    let error = assemble(&plan(), sys.path(), dev.path(), &mut load).unwrap_err();
    assert_eq!(asked, ["md_mod"]);
    assert_eq!(
        error.to_string(),
        "md array sysraid (UUID 4b424f4f:00000001:00000000:00000001): cannot load \
         kernel module md_mod: md_mod not found in modules.dep"
    );
}

#[test]
fn failed_member_write_names_step_device_and_errno() {
    let sys = tempfile::tempdir().unwrap();
    fake_sys(sys.path(), "md127");
    let md = sys.path().join("devices/virtual/block/md127/md");
    // new_dev as a directory: the write fails with EISDIR.
    fs::remove_file(md.join("new_dev")).unwrap();
    fs::create_dir(md.join("new_dev")).unwrap();
    symlink(
        sys.path().join("devices/virtual/block/md127"),
        sys.path().join("block/md127"),
    )
    .unwrap();
    let error = start_array(&plan(), "sysraid", sys.path(), "md127").unwrap_err();
    assert_eq!(error.errno(), Some(libc::EISDIR));
    let text = error.to_string();
    assert!(text.contains("adding a member"), "{text}");
    assert!(text.contains("\"254:1\""), "{text}");
    assert!(text.contains(" for vda1 failed"), "{text}");
}

#[test]
fn link_names_must_be_one_file_name() {
    assert!(link_name_ok("sysraid"));
    assert!(link_name_ok("0"));
    for bad in ["", ".", "..", "a/b"] {
        assert!(!link_name_ok(bad), "{bad:?}");
    }
}
