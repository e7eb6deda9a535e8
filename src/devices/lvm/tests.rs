//! Tests against PVs the real lvm2 tools write on loop devices. lvm2 needs no
//! device-mapper to write metadata (`--driverloaded n`), only to activate, so these
//! run on kernels without dm. They fail, never skip, when lvm2 or loop devices are
//! missing.

use super::label::{parse_mda_header, read_pv, DiskArea};
use super::table::{lv_table, plan_activation, DevNumber, Wanted};
use super::*;
use crate::devices::probe::tests::tools::{run, sparse_file};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A loop device over a file, detached on drop.
struct Loop {
    path: String,
}

impl Loop {
    fn new(file: &Path) -> Self {
        let out = run("losetup", &["-f", "--show", file.to_str().unwrap()]);
        Loop {
            path: out.trim().to_string(),
        }
    }

    fn number(&self) -> DevNumber {
        let rdev = std::fs::metadata(&self.path).unwrap().rdev();
        DevNumber {
            major: nix::sys::stat::major(rdev) as u32,
            minor: nix::sys::stat::minor(rdev) as u32,
        }
    }

    fn read_pv(&self) -> PhysicalVolume {
        let mut f = File::open(&self.path).unwrap();
        let size = f.seek(SeekFrom::End(0)).unwrap();
        read_pv(&mut f, size).unwrap().unwrap()
    }
}

impl Drop for Loop {
    fn drop(&mut self) {
        let _ = std::process::Command::new("losetup")
            .env("PATH", "/usr/sbin:/sbin:/usr/bin:/bin")
            .args(["-d", &self.path])
            .status();
    }
}

/// Runs an lvm command restricted to `devices`, without locking, udev, backups or
/// device-mapper.
fn lvm(command: &str, devices: &[&Loop], args: &[&str]) -> String {
    let devs: Vec<&str> = devices.iter().map(|d| d.path.as_str()).collect();
    let devs = devs.join(",");
    let mut all = vec![
        command,
        "--devices",
        &devs,
        "--nolocking",
        "--driverloaded",
        "n",
        "--config",
        "devices{use_devicesfile=0} backup{backup=0 archive=0} \
         activation{udev_sync=0 udev_rules=0 monitoring=0}",
    ];
    all.extend_from_slice(args);
    std::env::set_var("LVM_SUPPRESS_FD_WARNINGS", "1");
    run("lvm", &all)
}

fn report(command: &str, devices: &[&Loop], fields: &str, extra: &[&str]) -> Vec<Vec<String>> {
    let mut args = vec![
        "--noheadings",
        "--nosuffix",
        "--units",
        "s",
        "--separator",
        "|",
        "-o",
        fields,
    ];
    args.extend_from_slice(extra);
    lvm(command, devices, &args)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.trim().split('|').map(str::to_string).collect())
        .collect()
}

fn unique_vg(stem: &str) -> String {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    format!(
        "{stem}-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    )
}

fn loops(dir: &Path, n: usize) -> Vec<Loop> {
    (0..n)
        .map(|i| Loop::new(&sparse_file(dir, &format!("pv{i}.img"), 16 << 20)))
        .collect()
}

#[test]
fn reads_pvs_vgs_and_segments_lvm2_wrote() {
    let tmp = tempfile::tempdir().unwrap();
    let pvs = loops(tmp.path(), 2);
    let (a, b) = (&pvs[0], &pvs[1]);
    let all = [a, b];
    let vg = unique_vg("kb-sys");
    lvm("pvcreate", &all, &[&a.path]);
    lvm("pvcreate", &all, &["--pvmetadatacopies", "2", &b.path]);
    lvm("vgcreate", &all, &["-s", "1m", &vg, &a.path, &b.path]);
    lvm(
        "lvcreate",
        &all,
        &["-an", "--zero", "n", "-L", "3m", "-n", "root", &vg, &a.path],
    );
    let before = a.read_pv();
    lvm(
        "lvcreate",
        &all,
        &[
            "-an", "--zero", "n", "-i2", "-I64k", "-L", "4m", "-n", "my-data", &vg,
        ],
    );
    lvm(
        "lvextend",
        &all,
        &["-L", "+2m", &format!("{vg}/root"), &b.path],
    );

    let read = [a.read_pv(), b.read_pv()];
    assert_eq!(read[1].metadata_areas.len(), 2, "--pvmetadatacopies 2");
    assert_eq!(read[1].metadata.len(), 2);
    let pv_rows = report(
        "pvs",
        &all,
        "pv_name,pv_uuid,pe_start,vg_uuid,vg_seqno,vg_extent_size",
        &[],
    );
    let mut present = HashMap::new();
    for (row, (pv, dev)) in pv_rows.iter().zip(read.iter().zip(all)) {
        assert_eq!(row[0], dev.path);
        assert_eq!(pv.uuid, row[1]);
        assert_eq!(
            pv.pe_start_bytes,
            Some(row[2].parse::<u64>().unwrap() * 512)
        );
        assert_eq!(pv.newest_metadata().unwrap().seqno.to_string(), row[4]);
        present.insert(pv.uuid.clone(), dev.number());
    }

    // The older copy from before the last changes loses to the newer ones.
    let (vgs, errors) = volume_groups([&before, &read[0], &read[1]]);
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(vgs.len(), 1);
    let group = &vgs[0];
    assert_eq!(group.name, vg);
    assert_eq!(group.id, pv_rows[0][3]);
    assert_eq!(group.seqno.to_string(), pv_rows[0][4]);
    assert!(before.newest_metadata().unwrap().seqno < group.seqno);
    assert_eq!(group.extent_size_sectors.to_string(), pv_rows[0][5]);

    // Each LV's table, derived independently from what `lvs --segments` prints.
    let seg_rows = report(
        "lvs",
        &all,
        "lv_name,lv_uuid,seg_start,seg_size,stripes,stripe_size,seg_pe_ranges",
        &[&vg, "--segments"],
    );
    let pe_start = |dev: &str| -> u64 {
        let row = pv_rows.iter().find(|r| r[0] == dev).unwrap();
        row[2].parse().unwrap()
    };
    let number = |dev: &str| all.iter().find(|l| l.path == dev).unwrap().number();
    let mut expected: HashMap<String, String> = HashMap::new();
    for row in &seg_rows {
        // seg_pe_ranges: "/dev/loop0:3-4 /dev/loop1:0-1"
        let stripes: Vec<String> = row[6]
            .split_whitespace()
            .map(|r| {
                let (dev, range) = r.rsplit_once(':').unwrap();
                let first: u64 = range.split('-').next().unwrap().parse().unwrap();
                let offset = pe_start(dev) + first * group.extent_size_sectors;
                format!("{} {offset}", number(dev))
            })
            .collect();
        let line = if stripes.len() == 1 {
            format!("{} {} linear {}\n", row[2], row[3], stripes[0])
        } else {
            format!(
                "{} {} striped {} {} {}\n",
                row[2],
                row[3],
                row[4],
                row[5],
                stripes.join(" ")
            )
        };
        expected.entry(row[0].clone()).or_default().push_str(&line);
        assert_eq!(group.lv(&row[0]).unwrap().id, row[1]);
    }
    assert_eq!(expected.len(), 2);
    for (lv, table) in &expected {
        let got = lv_table(group, group.lv(lv).unwrap(), &present).unwrap();
        assert_eq!(&got.to_string(), table, "{lv}");
    }
    let plan = plan_activation(&vgs, &present, &Wanted::everything());
    assert_eq!(plan.activate.len(), 2);
    assert!(plan.skipped.is_empty());

    // Without the second PV nothing can be activated.
    present.remove(&read[1].uuid);
    let plan = plan_activation(&vgs, &present, &Wanted::everything());
    assert!(plan.activate.is_empty());
    assert_eq!(plan.skipped.len(), 2);
    assert!(plan.skipped[0].1.ends_with("missing"), "{:?}", plan.skipped);
}

fn mda_location(dev: &Loop, area: DiskArea) -> (u64, u64) {
    let mut f = File::open(&dev.path).unwrap();
    f.seek(SeekFrom::Start(area.offset_bytes)).unwrap();
    let mut header = vec![0u8; 512];
    f.read_exact(&mut header).unwrap();
    let loc = parse_mda_header(&header, area).unwrap().unwrap();
    (loc.offset_bytes, loc.size_bytes)
}

#[test]
fn reads_metadata_that_wrapped_around_a_small_metadata_area() {
    let tmp = tempfile::tempdir().unwrap();
    let pvs = loops(tmp.path(), 1);
    let a = &pvs[0];
    let vg = unique_vg("kb-wrap");
    lvm(
        "pvcreate",
        &[a],
        &["--metadatasize", "16k", "--dataalignment", "64k", &a.path],
    );
    lvm("vgcreate", &[a], &["-s", "1m", &vg, &a.path]);
    let mut wrapped = false;
    // lvm2 2.03 starts a copy at the area's beginning when the whole text would
    // not fit after the previous one, but wraps a text that starts inside and runs
    // past the end: keep about twelve LVs with long names so the text is ~5 KiB.
    let name = |i: usize| format!("lv-with-a-rather-long-name-to-grow-the-text-{i}");
    for i in 0..80 {
        if i >= 12 {
            lvm("lvremove", &[a], &["-f", &format!("{vg}/{}", name(i - 12))]);
        }
        lvm(
            "lvcreate",
            &[a],
            &["-an", "--zero", "n", "-L", "1m", "-n", &name(i), &vg],
        );
        let pv = a.read_pv();
        let area = pv.metadata_areas[0];
        let (offset, size) = mda_location(a, area);
        let copy = pv.newest_metadata().unwrap();
        let seqno = &report("vgs", &[a], "vg_seqno", &[&vg])[0][0];
        assert_eq!(&copy.seqno.to_string(), seqno);
        let group: VolumeGroup = copy.text.parse().unwrap();
        assert_eq!(group.name, vg);
        if offset + size > area.size_bytes {
            wrapped = true;
            break;
        }
    }
    assert!(
        wrapped,
        "lvm2 never wrapped its metadata around its small metadata area"
    );
}

#[test]
fn pv_without_metadata_areas_has_no_copies() {
    let tmp = tempfile::tempdir().unwrap();
    let pvs = loops(tmp.path(), 2);
    let all = [&pvs[0], &pvs[1]];
    let vg = unique_vg("kb-nomda");
    lvm("pvcreate", &all, &[&pvs[0].path]);
    lvm("pvcreate", &all, &["--pvmetadatacopies", "0", &pvs[1].path]);
    lvm("vgcreate", &all, &[&vg, &pvs[0].path, &pvs[1].path]);
    let bare = pvs[1].read_pv();
    assert!(bare.metadata_areas.is_empty() && bare.metadata.is_empty());
    let (vgs, _) = volume_groups([&pvs[0].read_pv(), &bare]);
    assert!(vgs[0].physical_volumes.iter().any(|p| p.id == bare.uuid));
}
