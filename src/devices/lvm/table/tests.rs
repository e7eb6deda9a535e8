use super::super::label::tests::{sample_pv, sample_pv_on_md};
use super::super::metadata::tests::SAMPLE;
use super::super::metadata::volume_group::Segment;
use super::super::metadata::VolumeGroup;
use super::super::volume_groups;
use super::*;
use crate::devices::test_samples::{
    build_log, command_output, dmsetup_tables, env_u64, DISK_BYTES,
};

fn dev(major: u32, minor: u32) -> DevNumber {
    DevNumber { major, minor }
}

fn both_present() -> HashMap<String, DevNumber> {
    HashMap::from([
        (
            "r6us3m-lRax-81e8-cHme-B0gO-grzI-26pZ14".to_string(),
            dev(7, 0),
        ),
        (
            "Q1xk2d-aaaa-bbbb-cccc-dddd-eeee-ffffff".to_string(),
            dev(259, 1),
        ),
    ])
}

#[test]
fn table_lines_round_trip() {
    for line in [
        "0 8192 linear 7:0 2048",
        "8192 16384 striped 2 128 7:0 10240 259:1 2048",
        "0 1 linear 254:1048575 18446744073709551615",
    ] {
        let parsed: TableLine = line.parse().unwrap();
        assert_eq!(parsed.to_string(), line);
    }
    let table: DmTable = "0 8 linear 7:0 0\n8 8 linear 7:1 0\n".parse().unwrap();
    assert_eq!(table.to_string(), "0 8 linear 7:0 0\n8 8 linear 7:1 0\n");
    assert_eq!(table.size_sectors(), 16);
    for bad in [
        "0 8 linear 7:0",
        "0 8 linear 7-0 0",
        "0 8 striped 2 128 7:0 0",
        "0 8 linear 7:0 0 extra",
        "0 8 thin 7:0 0",
        "x 8 linear 7:0 0",
    ] {
        assert!(bad.parse::<TableLine>().is_err(), "{bad}");
    }
}

#[test]
fn linear_segments_map_to_pe_start_plus_extents() {
    let vg: VolumeGroup = SAMPLE.parse().unwrap();
    let table = lv_table(&vg, vg.lv("root").unwrap(), &both_present()).unwrap();
    assert_eq!(
        table.to_string(),
        "0 8192 linear 7:0 2048\n8192 8192 linear 259:1 18432\n"
    );
}

#[test]
fn striped_segments_split_extents_between_stripes() {
    let vg: VolumeGroup = SAMPLE.parse().unwrap();
    let table = lv_table(&vg, vg.lv("my-data").unwrap(), &both_present()).unwrap();
    assert_eq!(
        table.to_string(),
        "0 16384 striped 2 128 7:0 10240 259:1 2048\n"
    );
}

#[test]
fn overflow_is_an_error() {
    let mut vg: VolumeGroup = SAMPLE.parse().unwrap();
    vg.extent_size_sectors = u64::MAX / 2;
    vg.physical_volumes[0].pe_count = u64::MAX;
    let err = lv_table(&vg, vg.lv("root").unwrap(), &both_present()).unwrap_err();
    assert!(matches!(err, TableError::Overflow { .. }), "{err:?}");
}

#[test]
fn names_double_dashes_and_split_back() {
    assert_eq!(dm_name("sys-vg", "my-root"), "sys--vg-my--root");
    assert_eq!(dm_name("vg", "root"), "vg-root");
    assert_eq!(
        dm_uuid(
            "3ztEZb-XT5t-rYyz-tojC-a0BK-Of5C-py2yVg",
            "D9uvAU-10M1-kZUa-lSPb-qWrw-tGWi-sUfPZg"
        ),
        "LVM-3ztEZbXT5trYyztojCa0BKOf5Cpy2yVgD9uvAU10M1kZUalSPbqWrwtGWisUfPZg"
    );
    let pair = |a: &str, b: &str| Some((a.to_string(), b.to_string()));
    assert_eq!(split_dm_name("sys--vg-my--root"), pair("sys-vg", "my-root"));
    assert_eq!(split_dm_name("a---b"), pair("a-", "b"));
    assert_eq!(split_dm_name("nodash"), None);
    assert_eq!(
        lv_from_path("/dev/mapper/sys--vg-root"),
        pair("sys-vg", "root")
    );
    assert_eq!(lv_from_path("/dev/sys-vg/root"), pair("sys-vg", "root"));
    assert_eq!(lv_from_path("/dev/vda1"), None);
    assert_eq!(lv_from_path("/dev/md/root"), None);
    assert_eq!(lv_from_path("/dev/disk/by-uuid/x"), None);
    assert_eq!(lv_from_path("/dev/mapper/control"), None);
    for (vg, lv) in [("a-b", "c--d"), ("x", "y-"), ("vg_1.2", "lv+snap")] {
        assert_eq!(split_dm_name(&dm_name(vg, lv)), pair(vg, lv));
    }
}

#[test]
fn plan_activates_wanted_lvs_and_explains_the_rest() {
    let mut vg: VolumeGroup = SAMPLE.parse().unwrap();
    vg.logical_volumes.push(LogicalVolume {
        name: "thin1".into(),
        id: "t".into(),
        status: vec!["READ".into(), "VISIBLE".into()],
        segments: vec![Segment {
            start_extent: 0,
            extent_count: 1,
            kind: SegmentKind::Other {
                type_name: "thin".into(),
            },
        }],
    });
    vg.logical_volumes.push(LogicalVolume {
        name: "pool_tmeta".into(),
        id: "h".into(),
        status: vec!["READ".into()],
        segments: vec![],
    });
    let vgs = vec![vg];
    let plan = plan_activation(&vgs, &both_present(), &Wanted::everything());
    let names: Vec<_> = plan.activate.iter().map(|a| a.dm_name.as_str()).collect();
    assert_eq!(names, vec!["sys--vg-root", "sys--vg-my--data"]);
    assert_eq!(
        plan.activate[0].links,
        vec!["/dev/mapper/sys--vg-root", "/dev/sys-vg/root"]
    );
    assert_eq!(
        plan.skipped,
        vec![(
            "sys-vg/thin1".to_string(),
            "thin LVs are not supported (segment type \"thin\")".to_string()
        )]
    );

    // Only pv0 present: root and my-data both touch pv1.
    let mut only_pv0 = both_present();
    only_pv0.remove("Q1xk2d-aaaa-bbbb-cccc-dddd-eeee-ffffff");
    let mut wanted = Wanted::default();
    assert!(wanted.add_path("/dev/mapper/sys--vg-root"));
    assert!(wanted.add_lv_spec("sys-vg/pool_tmeta"));
    assert!(wanted.add_lv_spec("other/lv"));
    let plan = plan_activation(&vgs, &only_pv0, &wanted);
    assert!(plan.activate.is_empty());
    assert_eq!(
        plan.skipped,
        vec![
            (
                "sys-vg/root".to_string(),
                "PV Q1xk2d-aaaa-bbbb-cccc-dddd-eeee-ffffff (pv1) missing".to_string()
            ),
            (
                "sys-vg/pool_tmeta".to_string(),
                "hidden LV (a part of another LV)".to_string()
            ),
            (
                "other/lv".to_string(),
                "no such LV in the VGs found".to_string()
            ),
        ]
    );

    let wanted = Wanted {
        vgs: vec!["sys-vg".into(), "gone".into()],
        ..Wanted::default()
    };
    let plan = plan_activation(&vgs, &both_present(), &wanted);
    assert_eq!(plan.activate.len(), 2);
    assert_eq!(plan.skipped.last().unwrap().0, "gone");
}

/// The VG lvm2 wrote on a set's sampled PVs, as `volume_groups` picks it.
fn sample_vg(set: &str) -> VolumeGroup {
    let pvs = match set {
        // md0's PV (read through member disk1) and the bare PV on disk3.
        "r1090" => vec![
            sample_pv("r1090", 1, 0, env_u64("r1090", "MD_SIZE_BYTES")),
            sample_pv("r1090", 3, 0, DISK_BYTES),
        ],
        "stale" => (1..=3).map(|disk| sample_pv_on_md("stale", disk)).collect(),
        _ => vec![sample_pv_on_md(set, 1)],
    };
    let (mut vgs, errors) = volume_groups(&pvs);
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(vgs.len(), 1, "{set}");
    vgs.remove(0)
}

/// Where each PV was when the log's `pvs` ran: PV uuid to `pv_major:pv_minor`.
fn present_in_log(log: &str) -> HashMap<String, DevNumber> {
    let json = command_output(log, "lvm pvs --reportformat json --units s -o pv_all").join("\n");
    let report: serde_json::Value = serde_json::from_str(&json).unwrap();
    report["report"][0]["pv"]
        .as_array()
        .unwrap()
        .iter()
        .map(|pv| {
            let field = |key: &str| pv[key].as_str().unwrap().to_string();
            let number = format!("{}:{}", field("pv_major"), field("pv_minor"));
            (field("pv_uuid"), number.parse().unwrap())
        })
        .collect()
}

/// `dmsetup info -c`: DM name to DM uuid.
fn dm_uuids_in_log(log: &str) -> HashMap<String, String> {
    command_output(log, "dmsetup info -c")
        .into_iter()
        .skip(1)
        .filter_map(|l| {
            let words: Vec<&str> = l.split_whitespace().collect();
            Some((words.first()?.to_string(), words.last()?.to_string()))
        })
        .collect()
}

#[test]
fn lv_tables_are_the_tables_dmsetup_printed() {
    // Every LV lvm2 mapped with linear/striped targets (in metadata order), hidden
    // thin-pool parts included; the pool and thin volume use other targets.
    let expected = [
        ("r1090", vec!["data-rootstripe"]),
        ("r1lvm", vec!["sys--vg-root"]),
        (
            "stale",
            vec!["vgs-root", "vgs-pool_tmeta", "vgs-pool_tdata"],
        ),
    ];
    for (set, names) in expected {
        let log = build_log(set);
        let vg = sample_vg(set);
        let present = present_in_log(&log);
        let dmsetup = dmsetup_tables(&log);
        let dm_uuids = dm_uuids_in_log(&log);
        let mut compared = Vec::new();
        for lv in &vg.logical_volumes {
            let name = dm_name(&vg.name, &lv.name);
            let Some(line) = dmsetup.get(&name) else {
                continue;
            };
            if lv
                .segments
                .iter()
                .any(|s| matches!(s.kind, SegmentKind::Other { .. }))
            {
                continue;
            }
            let table = lv_table(&vg, lv, &present).unwrap();
            assert_eq!(table, line.parse().unwrap(), "{set} {name}");
            assert_eq!(table.to_string(), format!("{line}\n"), "{set} {name}");
            // lvm2 adds the layer to the uuid of a pool's parts (`...-tmeta`);
            // kboot activates only visible LVs, which have none.
            let uuid = dm_uuid(&vg.id, &lv.id);
            if lv.visible() {
                assert_eq!(dm_uuids[&name], uuid, "{set} {name}");
            } else {
                assert!(
                    dm_uuids[&name].starts_with(&format!("{uuid}-t")),
                    "{set} {name}"
                );
            }
            compared.push(name);
        }
        assert_eq!(compared, names, "{set}");
    }
    // The striped LV exactly as `dmsetup table` printed it, md0 being 9:0 and
    // /dev/vdc 254:32.
    let vg = sample_vg("r1090");
    let present = present_in_log(&build_log("r1090"));
    assert_eq!(present.len(), 2);
    let table = lv_table(&vg, vg.lv("rootstripe").unwrap(), &present).unwrap();
    assert_eq!(
        table.lines,
        [TableLine {
            start_sector: 0,
            length_sectors: 98_304,
            target: Target::Striped {
                chunk_sectors: 128,
                stripes: vec![(dev(9, 0), 2048), (dev(254, 32), 2048)],
            },
        }]
    );
}

#[test]
fn stale_vg_plan_activates_root_and_skips_the_thin_lvs_with_reasons() {
    let vgs = vec![sample_vg("stale")];
    let present = present_in_log(&build_log("stale"));
    let whole_vg = Wanted {
        vgs: vec!["vgs".into()],
        ..Wanted::default()
    };
    for wanted in [whole_vg, Wanted::everything()] {
        let plan = plan_activation(&vgs, &present, &wanted);
        let activated: Vec<_> = plan.activate.iter().map(|a| a.dm_name.as_str()).collect();
        assert_eq!(activated, ["vgs-root"], "{wanted:?}");
        let root = &plan.activate[0];
        assert_eq!(root.table.to_string(), "0 98304 linear 9:126 2048\n");
        assert_eq!(
            root.dm_uuid,
            "LVM-paleaelnwYi87gSBIAcosPKLFJ8Sm34LmYDJCkp8vCWJYxUkvMa5n1cTY8ujfs5G"
        );
        assert_eq!(root.links, ["/dev/mapper/vgs-root", "/dev/vgs/root"]);
        // The hidden pool_tmeta, pool_tdata and lvol0_pmspare are parts of the
        // pool: not activated, and not worth a message.
        assert_eq!(
            plan.skipped,
            [
                (
                    "vgs/pool".to_string(),
                    "thin-pool LVs are not supported (segment type \"thin-pool\")".to_string()
                ),
                (
                    "vgs/thinvol".to_string(),
                    "thin LVs are not supported (segment type \"thin\")".to_string()
                ),
            ],
            "{wanted:?}"
        );
    }
    // Asked for by root= alone, the thin LVs are not even considered.
    let mut wanted = Wanted::default();
    assert!(wanted.add_path("/dev/mapper/vgs-root"));
    let plan = plan_activation(&vgs, &present, &wanted);
    assert_eq!(plan.activate.len(), 1);
    assert!(plan.skipped.is_empty(), "{:?}", plan.skipped);
}

#[test]
fn snapshot_lines_round_trip_and_only_non_persistent_ones_parse() {
    let line = "0 2097152 snapshot 253:1 7:0 N 8";
    let parsed: TableLine = line.parse().unwrap();
    assert_eq!(
        parsed.target,
        Target::Snapshot {
            origin: dev(253, 1),
            cow: dev(7, 0),
            chunk_sectors: 8
        }
    );
    assert_eq!(parsed.to_string(), line);
    for bad in [
        "0 8 snapshot 253:1 7:0 P 8",
        "0 8 snapshot 253:1 7:0 N",
        "0 8 snapshot 253:1 7:0 N 8 extra",
    ] {
        assert!(bad.parse::<TableLine>().is_err(), "{bad}");
    }
}
