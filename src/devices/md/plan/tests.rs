use super::*;
use crate::devices::md::superblock::tests::{read, sample_member, V1Builder, UUID_TEXT};

fn member(device: &str, builder: &V1Builder) -> MdMember {
    MdMember {
        device: device.to_owned(),
        path: PathBuf::from(format!("/dev/{device}")),
        number: (254, device.len() as u32),
        superblock: read(&builder.image()).unwrap().unwrap(),
    }
}

/// Members of one array at `level` with `raid_disks` slots: (device, slot, events).
fn array(level: i32, raid_disks: u32, layout: u32, disks: &[(&str, u32, u64)]) -> Vec<MdMember> {
    disks
        .iter()
        .map(|&(device, slot, events)| {
            let mut builder = V1Builder::new(MetadataVersion::V1_2);
            builder.level = level;
            builder.layout = layout;
            builder.raid_disks = raid_disks;
            builder.roles = (0..raid_disks as u16).collect();
            builder.dev_number = slot;
            builder.events = events;
            member(device, &builder)
        })
        .collect()
}

fn only_plan(members: &[MdMember]) -> Result<ArrayPlan, PlanError> {
    let mut plans = plan_arrays(members);
    assert_eq!(plans.len(), 1);
    plans.remove(0)
}

fn devices(plan: &ArrayPlan) -> Vec<&str> {
    plan.members.iter().map(|m| m.device.as_str()).collect()
}

#[test]
fn complete_raid1_is_planned_by_slot() {
    let plan = only_plan(&array(1, 2, 0, &[("vdb1", 1, 9), ("vda1", 0, 9)])).unwrap();
    assert_eq!(devices(&plan), ["vda1", "vdb1"]);
    assert_eq!(plan.name.as_deref(), Some("data"));
    assert_eq!(plan.uuid, UUID_TEXT);
    assert!(!plan.degraded);
    assert!(plan.left_out.is_empty());
    assert_eq!(plan.events, 9);
}

#[test]
fn member_two_events_behind_is_left_out_and_named() {
    let plan = only_plan(&array(
        1,
        3,
        0,
        &[("vda1", 0, 10), ("vdb1", 1, 9), ("vdc1", 2, 8)],
    ))
    .unwrap();
    assert_eq!(devices(&plan), ["vda1", "vdb1"]);
    assert!(plan.degraded);
    assert_eq!(plan.missing_slots, [2]);
    assert_eq!(
        plan.left_out,
        [LeftOut {
            device: "vdc1".into(),
            reason: "events 8 behind 10 on vda1".into()
        }]
    );
}

#[test]
fn duplicate_slot_keeps_the_fresher_device() {
    let plan = only_plan(&array(
        1,
        2,
        0,
        &[("vda1", 0, 9), ("vdb1", 1, 9), ("vdc1", 0, 10)],
    ))
    .unwrap();
    assert_eq!(devices(&plan), ["vdc1", "vdb1"]);
    assert_eq!(plan.left_out.len(), 1);
    assert_eq!(plan.left_out[0].device, "vda1");
}

#[test]
fn member_the_freshest_records_as_faulty_is_left_out() {
    let mut members = array(1, 2, 0, &[("vda1", 0, 10), ("vdb1", 1, 9)]);
    members[0].superblock.member_roles[1] = Role::Faulty;
    let plan = only_plan(&members).unwrap();
    assert_eq!(devices(&plan), ["vda1"]);
    assert_eq!(plan.left_out[0].reason, "vda1 records device 1 as faulty");
    assert!(plan.degraded);
}

#[test]
fn spares_and_recovering_members_are_left_out() {
    let mut members = array(1, 2, 0, &[("vda1", 0, 9), ("vdb1", 1, 9), ("vdc1", 0, 9)]);
    members[2].superblock.role = Role::Spare;
    members[1].superblock.recovery_offset_sectors = Some(100);
    let plan = only_plan(&members).unwrap();
    assert_eq!(devices(&plan), ["vda1"]);
    let reasons: Vec<_> = plan.left_out.iter().map(ToString::to_string).collect();
    assert_eq!(
        reasons,
        [
            "vdb1 (only rebuilt up to sector 100 of slot 1)",
            "vdc1 (spare)"
        ]
    );
}

#[test]
fn raid0_and_linear_need_every_member() {
    for level in [0, -1] {
        let err = only_plan(&array(level, 2, 0, &[("vda1", 0, 5)])).unwrap_err();
        let PlanError::TooFewMembers { missing, found, .. } = &err else {
            panic!("expected TooFewMembers, got {err:?}");
        };
        assert_eq!(missing, &[1]);
        assert_eq!(found, "vda1 (slot 0)");
        assert!(err.to_string().contains("data (UUID 4b424f4f:"), "{err}");
    }
}

#[test]
fn raid5_runs_with_one_missing_but_not_two() {
    let plan = only_plan(&array(5, 3, 2, &[("vda1", 0, 5), ("vdc1", 2, 5)])).unwrap();
    assert!(plan.degraded);
    assert_eq!(plan.missing_slots, [1]);
    assert!(only_plan(&array(5, 3, 2, &[("vda1", 0, 5)])).is_err());
}

#[test]
fn raid6_runs_with_two_missing() {
    let plan = only_plan(&array(6, 4, 2, &[("vda1", 0, 5), ("vdd1", 3, 5)])).unwrap();
    assert_eq!(plan.missing_slots, [1, 2]);
    assert!(only_plan(&array(6, 4, 2, &[("vdd1", 3, 5)])).is_err());
}

#[test]
fn dirty_degraded_raid5_is_refused_but_dirty_raid1_runs() {
    let mut members = array(5, 3, 2, &[("vda1", 0, 5), ("vdb1", 1, 5)]);
    for m in &mut members {
        m.superblock.clean = false;
    }
    assert!(matches!(
        only_plan(&members),
        Err(PlanError::DirtyDegraded { .. })
    ));
    let mut members = array(1, 2, 0, &[("vda1", 0, 5)]);
    members[0].superblock.clean = false;
    assert!(only_plan(&members).unwrap().degraded);
}

#[test]
fn raid10_near2_needs_one_of_each_mirror_pair() {
    // near=2 (layout 0x102): pairs (0,1) and (2,3).
    let ok = array(10, 4, 0x102, &[("a", 0, 1), ("d", 3, 1)]);
    assert!(only_plan(&ok).unwrap().degraded);
    let broken = array(10, 4, 0x102, &[("a", 0, 1), ("b", 1, 1)]);
    assert!(only_plan(&broken).is_err());
}

#[test]
fn raid10_runnable_follows_the_kernel_for_far_layouts() {
    // far=2 near=1 on 4 disks: every window of 2 consecutive slots needs one.
    assert!(raid10_runnable(0x201, 4, &[true, false, true, false]));
    assert!(!raid10_runnable(0x201, 4, &[true, true, false, false]));
    // near=2 on 3 disks: windows (0,1), (2,0), (1,2).
    assert!(raid10_runnable(0x102, 3, &[true, false, true]));
    assert!(!raid10_runnable(0x102, 3, &[false, false, true]));
}

#[test]
fn arrays_are_grouped_by_uuid_and_ordered_by_name() {
    let mut members = array(1, 1, 0, &[("vda1", 0, 1)]);
    let mut other = V1Builder::new(MetadataVersion::V1_2);
    other.name = "host:boot";
    other.raid_disks = 1;
    other.roles = vec![0];
    other.dev_number = 0;
    let mut other_member = member("vdb1", &other);
    other_member.superblock.uuid = "00000000:00000000:00000000:00000002".into();
    members.push(other_member);
    let plans: Vec<_> = plan_arrays(&members)
        .into_iter()
        .map(|p| p.unwrap().name.unwrap())
        .collect();
    assert_eq!(plans, ["boot", "data"]);
}

fn plan_named(name: Option<&str>, preferred_minor: Option<u32>) -> ArrayPlan {
    let mut plan = only_plan(&array(1, 1, 0, &[("vda1", 0, 1)])).unwrap();
    plan.name = name.map(str::to_owned);
    plan.preferred_minor = preferred_minor;
    plan
}

#[test]
fn kernel_names_count_down_from_md127() {
    let plan = plan_named(Some("data"), None);
    assert_eq!(
        choose_kernel_name(&plan, &|_| false).as_deref(),
        Some("md127")
    );
    let taken = |n: &str| n == "md127" || n == "md126";
    assert_eq!(choose_kernel_name(&plan, &taken).as_deref(), Some("md125"));
}

#[test]
fn numbered_names_and_preferred_minors_are_honoured_when_free() {
    let v090 = plan_named(None, Some(3));
    assert_eq!(
        choose_kernel_name(&v090, &|_| false).as_deref(),
        Some("md3")
    );
    assert_eq!(
        choose_kernel_name(&v090, &|n| n == "md3").as_deref(),
        Some("md127")
    );
    for name in ["0", "md0"] {
        let plan = plan_named(Some(name), None);
        assert_eq!(
            choose_kernel_name(&plan, &|_| false).as_deref(),
            Some("md0")
        );
    }
}

#[test]
fn rd_md_filters_like_dracut() {
    assert_eq!(MdFilter::from_params([]), MdFilter::default());
    let off = MdFilter::from_params([("rd.md", Some("0"))]);
    assert!(!off.allows(UUID_TEXT));
    let only = MdFilter::from_params([
        ("root", Some("/dev/md0")),
        ("rd.md.uuid", Some("4B424F4F-0001-4000-8000-000000000001")),
    ]);
    assert!(only.allows(UUID_TEXT));
    assert!(!only.allows("4b424f4f:00014000:80000000:00000002"));
    assert!(MdFilter::default().allows(UUID_TEXT));
}

#[test]
fn mdadm_stale_member_sample_is_left_out() {
    let members = [
        sample_member("vdc1", "stale-vdc1.sb"),
        sample_member("vda1", "stale-vda1.sb"),
    ];
    assert_eq!(members[0].superblock.events, 4);
    assert_eq!(members[1].superblock.events, 8);
    let plan = only_plan(&members).unwrap();
    assert_eq!(plan.name.as_deref(), Some("stale"));
    assert_eq!(devices(&plan), ["vda1"]);
    assert_eq!(plan.missing_slots, [1, 2]);
    assert!(plan.degraded);
    assert_eq!(
        plan.left_out,
        [LeftOut {
            device: "vdc1".into(),
            reason: "events 4 behind 8 on vda1".into()
        }]
    );
}
