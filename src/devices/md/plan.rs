//! From members to arrays: group members by UUID, choose the members each array uses
//! (mdadm's `Assemble.c`: the newest event count wins, one behind is still accepted,
//! every member not used is named with the reason), decide whether the kernel will
//! start it, and which `mdN` name it gets. Pure: the plan is made before any write.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use thiserror::Error;

use super::{Level, MdSuperblock, MetadataVersion, Role};

/// A block device that carries an md superblock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MdMember {
    /// Kernel name, e.g. `vda1`.
    pub device: String,
    pub path: PathBuf,
    pub number: (u32, u32),
    pub superblock: MdSuperblock,
}

/// A member the plan uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PlannedMember {
    pub device: String,
    pub path: PathBuf,
    pub number: (u32, u32),
    pub slot: u32,
    pub events: u64,
}

/// A device with this array's UUID that the plan does not use, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LeftOut {
    pub device: String,
    pub reason: String,
}

impl fmt::Display for LeftOut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.device, self.reason)
    }
}

/// How to assemble one array: what `assemble` needs, decided before any write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ArrayPlan {
    pub uuid: String,
    pub name: Option<String>,
    pub version: MetadataVersion,
    pub level: Level,
    pub raid_disks: u32,
    /// The freshest member's event count.
    pub events: u64,
    pub preferred_minor: Option<u32>,
    /// By slot.
    pub members: Vec<PlannedMember>,
    pub missing_slots: Vec<u32>,
    pub left_out: Vec<LeftOut>,
    pub degraded: bool,
}

impl ArrayPlan {
    /// `NAME (UUID u)` or `UUID u`, for messages.
    pub(crate) fn display_name(&self) -> String {
        array_display_name(self.name.as_deref(), &self.uuid)
    }
}

fn array_display_name(name: Option<&str>, uuid: &str) -> String {
    match name {
        Some(name) => format!("{name} (UUID {uuid})"),
        None => format!("UUID {uuid}"),
    }
}

/// Why an array cannot be started.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub(crate) enum PlanError {
    #[error(
        "md array {array} ({level}, {raid_disks} devices) cannot start: slots {missing:?} \
         are missing; found {found}{left_out}"
    )]
    TooFewMembers {
        array: String,
        level: Level,
        raid_disks: u32,
        missing: Vec<u32>,
        found: String,
        left_out: String,
    },
    #[error(
        "md array {array} ({level}) is degraded (slots {missing:?} missing) and was not \
         shut down cleanly; the kernel will not start it (md_mod.start_dirty_degraded=1 \
         forces it, parity may be stale); found {found}{left_out}"
    )]
    DirtyDegraded {
        array: String,
        level: Level,
        missing: Vec<u32>,
        found: String,
        left_out: String,
    },
}

fn describe_members(members: &[PlannedMember]) -> String {
    if members.is_empty() {
        return "no usable members".to_owned();
    }
    members
        .iter()
        .map(|m| format!("{} (slot {})", m.device, m.slot))
        .collect::<Vec<_>>()
        .join(", ")
}

fn describe_left_out(left_out: &[LeftOut]) -> String {
    if left_out.is_empty() {
        return String::new();
    }
    let list = left_out
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    format!("; left out: {list}")
}

/// The kernel's `raid10` `enough()`: walking the slots in steps of the near-copy
/// count, every window of `near * far` consecutive slots needs one member present.
fn raid10_runnable(layout: u32, raid_disks: u32, present: &[bool]) -> bool {
    let near = (layout & 0xff).max(1);
    let far = ((layout >> 8) & 0xff).max(1);
    let copies = near * far;
    let disks = raid_disks.max(1);
    let mut first = 0u32;
    loop {
        let any = (0..copies).any(|i| {
            let slot = (first + i) % disks;
            present.get(slot as usize).copied().unwrap_or(false)
        });
        if !any {
            return false;
        }
        first = (first + near) % disks;
        if first == 0 {
            return true;
        }
    }
}

/// Group members by array UUID and plan each array. Arrays come out in a stable
/// order (by name, then UUID) so kernel names are given out the same way every boot.
pub(crate) fn plan_arrays(members: &[MdMember]) -> Vec<Result<ArrayPlan, PlanError>> {
    let mut by_uuid: BTreeMap<&str, Vec<&MdMember>> = BTreeMap::new();
    for member in members {
        by_uuid
            .entry(member.superblock.uuid.as_str())
            .or_default()
            .push(member);
    }
    let mut plans: Vec<_> = by_uuid
        .into_values()
        .map(|group| plan_array(&group))
        .collect();
    plans.sort_by_key(sort_key);
    plans
}

fn sort_key(plan: &Result<ArrayPlan, PlanError>) -> (Option<String>, String) {
    match plan {
        Ok(plan) => (plan.name.clone(), plan.uuid.clone()),
        Err(PlanError::TooFewMembers { array, .. } | PlanError::DirtyDegraded { array, .. }) => {
            (None, array.clone())
        }
    }
}

/// Plan one array from members that share a UUID (`group` is never empty).
fn plan_array(group: &[&MdMember]) -> Result<ArrayPlan, PlanError> {
    let freshest = freshest_member(group);
    let array = &freshest.superblock;
    let (by_slot, left_out) = assign_slots(group, freshest);
    let planned: Vec<PlannedMember> = by_slot
        .iter()
        .map(|(&slot, member)| PlannedMember {
            device: member.device.clone(),
            path: member.path.clone(),
            number: member.number,
            slot,
            events: member.superblock.events,
        })
        .collect();
    let missing_slots: Vec<u32> = (0..array.raid_disks)
        .filter(|slot| !by_slot.contains_key(slot))
        .collect();
    check_startable(array, &planned, &missing_slots, &left_out)?;
    Ok(ArrayPlan {
        uuid: array.uuid.clone(),
        name: array.name.clone(),
        version: array.version,
        level: array.level,
        raid_disks: array.raid_disks,
        events: array.events,
        preferred_minor: array.preferred_minor,
        members: planned,
        degraded: !missing_slots.is_empty(),
        missing_slots,
        left_out,
    })
}

/// The freshest superblock describes the array; on a tie the first device seen.
fn freshest_member<'a>(group: &[&'a MdMember]) -> &'a MdMember {
    let mut freshest = group[0];
    for member in group {
        if member.superblock.events > freshest.superblock.events {
            freshest = member;
        }
    }
    freshest
}

/// Which member fills each slot, and every member left out with the reason. Of two
/// members claiming one slot the fresher wins (the first seen on a tie).
fn assign_slots<'a>(
    group: &[&'a MdMember],
    freshest: &MdMember,
) -> (BTreeMap<u32, &'a MdMember>, Vec<LeftOut>) {
    let mut left_out = Vec::new();
    let mut by_slot: BTreeMap<u32, &MdMember> = BTreeMap::new();
    for &member in group {
        let slot = match usable_slot(member, freshest) {
            Ok(slot) => slot,
            Err(leave) => {
                left_out.push(leave);
                continue;
            }
        };
        let events = member.superblock.events;
        match by_slot.get(&slot) {
            Some(&other) if other.superblock.events >= events => {
                left_out.push(LeftOut {
                    device: member.device.clone(),
                    reason: format!(
                        "slot {slot} is also on {}, which is as fresh or fresher",
                        other.device
                    ),
                });
            }
            Some(&other) => {
                left_out.push(LeftOut {
                    device: other.device.clone(),
                    reason: format!("slot {slot} is also on {}, which is fresher", member.device),
                });
                by_slot.insert(slot, member);
            }
            None => {
                by_slot.insert(slot, member);
            }
        }
    }
    (by_slot, left_out)
}

/// The slot `member` can fill on its own account, or why it is left out: too many
/// events behind, failed by the freshest member, not an in-sync active member.
fn usable_slot(member: &MdMember, freshest: &MdMember) -> Result<u32, LeftOut> {
    let array = &freshest.superblock;
    let sb = &member.superblock;
    let leave = |reason: String| LeftOut {
        device: member.device.clone(),
        reason,
    };
    // Kernel and mdadm both accept a member one event behind (an update that
    // reached some members before a crash).
    if sb.events.saturating_add(1) < array.events {
        return Err(leave(format!(
            "events {} behind {} on {}",
            sb.events, array.events, freshest.device
        )));
    }
    if member.device != freshest.device
        && array.member_roles.get(sb.dev_number as usize) == Some(&Role::Faulty)
    {
        return Err(leave(format!(
            "{} records device {} as faulty",
            freshest.device, sb.dev_number
        )));
    }
    let slot = match sb.role {
        Role::Active(slot) if slot < array.raid_disks => slot,
        Role::Active(slot) => {
            return Err(leave(format!(
                "slot {slot} is beyond raid_disks {}",
                array.raid_disks
            )))
        }
        Role::Replacement(slot) => {
            return Err(leave(format!("replacement for slot {slot}, not in sync")))
        }
        Role::Spare => return Err(leave("spare".to_owned())),
        Role::Faulty => return Err(leave("faulty".to_owned())),
        Role::Journal => return Err(leave("write journal (not used read-only)".to_owned())),
    };
    if let Some(recovered) = sb.recovery_offset_sectors {
        return Err(leave(format!(
            "only rebuilt up to sector {recovered} of slot {slot}"
        )));
    }
    Ok(slot)
}

/// Whether the kernel will start the array from the planned members: enough slots
/// filled for its level, and a degraded parity array only after a clean shutdown.
fn check_startable(
    array: &MdSuperblock,
    planned: &[PlannedMember],
    missing_slots: &[u32],
    left_out: &[LeftOut],
) -> Result<(), PlanError> {
    let mut present = vec![true; array.raid_disks as usize];
    for &slot in missing_slots {
        if let Some(filled) = present.get_mut(slot as usize) {
            *filled = false;
        }
    }
    let missing = missing_slots.len() as u32;
    let runnable = !planned.is_empty()
        && match array.level {
            Level::Raid10 => raid10_runnable(array.layout, array.raid_disks, &present),
            level => missing <= level.max_missing(array.raid_disks),
        };
    let name = array_display_name(array.name.as_deref(), &array.uuid);
    if !runnable {
        return Err(PlanError::TooFewMembers {
            array: name,
            level: array.level,
            raid_disks: array.raid_disks,
            missing: missing_slots.to_vec(),
            found: describe_members(planned),
            left_out: describe_left_out(left_out),
        });
    }
    let degraded = missing > 0;
    let parity = matches!(array.level, Level::Raid4 | Level::Raid5 | Level::Raid6);
    if degraded && parity && !array.clean {
        return Err(PlanError::DirtyDegraded {
            array: name,
            level: array.level,
            missing: missing_slots.to_vec(),
            found: describe_members(planned),
            left_out: describe_left_out(left_out),
        });
    }
    Ok(())
}

/// The highest md minor mdadm counts down from when an array has no number of its own.
const FIRST_FREE_MINOR: u32 = 127;

/// The kernel name (`mdN`) for an array, given which names are taken.
///
/// Like mdadm without an mdadm.conf: a 0.90 array gets its preferred minor, a 1.x
/// array named like a number (`0`, `md0`, as `mdadm --create /dev/md0` names it)
/// gets that number, and everything else counts down from `md127`. Numbered
/// `mdN` nodes (rather than the kernel's `md_NAME`) keep major 9 minors that every
/// tool understands; the name lives in the `/dev/md/NAME` link.
pub(crate) fn choose_kernel_name(plan: &ArrayPlan, taken: &dyn Fn(&str) -> bool) -> Option<String> {
    let wanted = plan.preferred_minor.or_else(|| {
        let name = plan.name.as_deref()?;
        let digits = name.strip_prefix("md").unwrap_or(name);
        digits.parse::<u32>().ok()
    });
    if let Some(minor) = wanted.filter(|&m| m <= 255) {
        let kernel_name = format!("md{minor}");
        if !taken(&kernel_name) {
            return Some(kernel_name);
        }
    }
    (0..=FIRST_FREE_MINOR)
        .rev()
        .map(|minor| format!("md{minor}"))
        .find(|kernel_name| !taken(kernel_name))
}

/// Which arrays the command line allows: dracut's `rd.md=0` (none) and
/// `rd.md.uuid=U` (only these; may repeat).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MdFilter {
    pub assemble: bool,
    /// Normalised UUIDs (see [`normalize_uuid`]); empty means every array.
    pub uuids: Vec<String>,
}

impl Default for MdFilter {
    fn default() -> Self {
        MdFilter {
            assemble: true,
            uuids: Vec::new(),
        }
    }
}

/// dracut compares md UUIDs with ':' and '-' removed, ignoring case.
pub(crate) fn normalize_uuid(uuid: &str) -> String {
    uuid.chars()
        .filter(|c| *c != ':' && *c != '-')
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

impl MdFilter {
    /// From command-line parameters `(param, value)`; others are ignored.
    pub(crate) fn from_params<'a>(
        params: impl IntoIterator<Item = (&'a str, Option<&'a str>)>,
    ) -> Self {
        let mut filter = MdFilter::default();
        for (param, value) in params {
            match (param, value) {
                ("rd.md", Some(value)) => filter.assemble = !matches!(value, "0" | "no" | "off"),
                ("rd.md.uuid", Some(uuid)) => filter.uuids.push(normalize_uuid(uuid)),
                _ => {}
            }
        }
        filter
    }

    pub(crate) fn allows(&self, uuid: &str) -> bool {
        self.assemble && (self.uuids.is_empty() || self.uuids.contains(&normalize_uuid(uuid)))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
