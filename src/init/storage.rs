//! Bringing up md arrays and LVM volumes while kboot waits for `root=`/`boot=`: the
//! orchestration only; parsing and planning live in `devices::md` and
//! `devices::lvm`, the kernel calls in `devices::md_assemble` and `devices::dm`.
//! Everything starts read-only.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs::File;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::devices::blockdev::{BlockDevice, Window};
use crate::devices::dm::{self, ControlFile, DeviceMapper};
use crate::devices::lvm::label::{self, PhysicalVolume};
use crate::devices::lvm::table::{self, DevNumber, Wanted};
use crate::devices::lvm::{self as lvm};
use crate::devices::md::{self, MdFilter};
use crate::devices::md_assemble;
use crate::devices::spec::DeviceSpec;

use super::cmdline::Cmdline;
use super::log;

/// How long a degraded array waits for its missing members before it starts anyway.
/// Starting degraded is harmless here: the array is read-only and gone after kexec.
const DEGRADED_GRACE: Duration = Duration::from_secs(2);

/// What has been brought up so far, so each array and volume is tried once.
pub(crate) struct Storage {
    md_filter: MdFilter,
    /// Array uuids assembled, or tried and failed.
    arrays_done: BTreeSet<String>,
    degraded_since: HashMap<String, Instant>,
    lvm_enabled: bool,
    wanted: Wanted,
    /// PVs read, by kernel device name.
    pvs: BTreeMap<String, (DevNumber, PhysicalVolume)>,
    /// DM names activated, or tried and failed.
    volumes_done: BTreeSet<String>,
    dm: Option<DeviceMapper<ControlFile>>,
    /// What is running now, to take down before the handoff (kernel names `md127`,
    /// DM names).
    arrays_running: Vec<String>,
    volumes_running: Vec<String>,
    /// Messages already printed: each is said once.
    said: BTreeSet<String>,
    /// `VG/LV` that will not be activated, and why.
    refused: BTreeMap<String, String>,
}

impl Storage {
    pub(crate) fn new(cmdline: &Cmdline) -> Self {
        let params = || {
            cmdline
                .passthrough
                .iter()
                .map(|w| (w.param.as_str(), w.value.as_deref()))
        };
        let md_filter = MdFilter::from_params(params());
        let mut lvm_enabled = true;
        let mut wanted = Wanted::default();
        let mut named = false;
        for (param, value) in params() {
            match (param, value) {
                ("rd.lvm", Some("0" | "no" | "off")) => lvm_enabled = false,
                ("rd.lvm.vg", Some(vg)) => {
                    wanted.vgs.push(vg.to_string());
                    named = true;
                }
                ("rd.lvm.lv", Some(lv)) => named |= wanted.add_lv_spec(lv),
                ("rd.auto", Some("1")) => wanted.all = true,
                _ => {}
            }
        }
        // root=/dev/VG/LV (or /dev/mapper/VG-LV) says which LV it needs; any other
        // form (UUID=, LABEL=, none) could be on any LV, so all of them come up.
        for spec in [&cmdline.root, &cmdline.boot].into_iter().flatten() {
            if let DeviceSpec::Path(path) = spec {
                wanted.add_path(path);
            }
        }
        let root_is_lv =
            matches!(&cmdline.root, Some(DeviceSpec::Path(p)) if table::lv_from_path(p).is_some());
        if !named && !root_is_lv {
            wanted.all = true;
        }
        Storage {
            md_filter,
            arrays_done: BTreeSet::new(),
            degraded_since: HashMap::new(),
            lvm_enabled,
            wanted,
            pvs: BTreeMap::new(),
            volumes_done: BTreeSet::new(),
            arrays_running: Vec::new(),
            volumes_running: Vec::new(),
            dm: None,
            said: BTreeSet::new(),
            refused: BTreeMap::new(),
        }
    }

    /// Why the LV a `root=`/`boot=` path names will not come up, if kboot knows it
    /// will not: waiting longer would not help.
    pub(crate) fn refusal(&self, spec: &DeviceSpec) -> Option<String> {
        let DeviceSpec::Path(path) = spec else {
            return None;
        };
        let (vg, lv) = table::lv_from_path(path)?;
        let key = format!("{vg}/{lv}");
        self.refused
            .get(&key)
            .map(|reason| format!("LVM volume {key} cannot be activated: {reason}"))
    }

    fn warn_once(&mut self, message: String) {
        if self.said.insert(message.clone()) {
            log::warn(message);
        }
    }

    /// Starts what the devices now present allow. `final_pass` is the last look before
    /// kboot gives up waiting: problems that might have resolved themselves as more
    /// devices appeared are reported then. Returns whether a new device appeared.
    pub(crate) fn activate(
        &mut self,
        devices: &[BlockDevice],
        sys_root: &Path,
        dev_root: &Path,
        load_module: &mut dyn FnMut(&str) -> Result<(), String>,
        final_pass: bool,
    ) -> bool {
        let arrays = self.assemble_arrays(devices, sys_root, dev_root, load_module, final_pass);
        // PVs on new arrays show up after a rescan; the caller comes back.
        if arrays {
            return true;
        }
        self.lvm_enabled
            && self.activate_volumes(devices, sys_root, dev_root, load_module, final_pass)
    }

    fn assemble_arrays(
        &mut self,
        devices: &[BlockDevice],
        sys_root: &Path,
        dev_root: &Path,
        load_module: &mut dyn FnMut(&str) -> Result<(), String>,
        final_pass: bool,
    ) -> bool {
        if !self.md_filter.assemble {
            return false;
        }
        let members: Vec<md::MdMember> = md_assemble::find_members(devices)
            .into_iter()
            .filter(|m| {
                self.md_filter.allows(&m.superblock.uuid)
                    && !self.arrays_done.contains(&m.superblock.uuid)
            })
            .collect();
        let mut started = false;
        for result in md::plan_arrays(&members) {
            let plan = match result {
                Ok(plan) => plan,
                Err(e) => {
                    if final_pass {
                        self.warn_once(e.to_string());
                    }
                    continue;
                }
            };
            if plan.degraded {
                // Wait a little for members that have not appeared yet; members that
                // are present but unusable (stale, faulty) will not get better.
                let absent = plan.missing_slots.len() > plan.left_out.len();
                let since = *self
                    .degraded_since
                    .entry(plan.uuid.clone())
                    .or_insert_with(Instant::now);
                if absent && since.elapsed() < DEGRADED_GRACE && !final_pass {
                    continue;
                }
                let missing: Vec<String> = plan.missing_slots.iter().map(u32::to_string).collect();
                self.warn_once(format!(
                    "md array {} is degraded ({} of {} members; slot {} missing): starting it read-only anyway",
                    plan.display_name(),
                    plan.members.len(),
                    plan.raid_disks,
                    missing.join(", ")
                ));
            }
            for left_out in &plan.left_out {
                self.warn_once(format!(
                    "md array {}: leaving out {left_out}",
                    plan.display_name()
                ));
            }
            self.arrays_done.insert(plan.uuid.clone());
            match md_assemble::assemble(&plan, sys_root, dev_root, load_module) {
                Ok(array) => {
                    let names: Vec<&str> = plan.members.iter().map(|m| m.device.as_str()).collect();
                    log::say(format!(
                        "assembled {} ({}, {}, members {}) read-only{}",
                        array.dev_path.display(),
                        plan.display_name(),
                        plan.level.name(),
                        names.join(" "),
                        array
                            .link
                            .as_ref()
                            .map(|l| format!(" as {}", l.display()))
                            .unwrap_or_default()
                    ));
                    self.arrays_running.push(array.kernel_name.clone());
                    started = true;
                }
                Err(e) => self.warn_once(format!(
                    "cannot start md array {}: {e}",
                    plan.display_name()
                )),
            }
        }
        started
    }

    fn activate_volumes(
        &mut self,
        devices: &[BlockDevice],
        sys_root: &Path,
        dev_root: &Path,
        load_module: &mut dyn FnMut(&str) -> Result<(), String>,
        final_pass: bool,
    ) -> bool {
        for dev in devices {
            let (Some(number), Some(_)) = (dev.number, &dev.lvm_pv) else {
                continue;
            };
            if dev.md.is_some() || self.pvs.contains_key(&dev.name) {
                continue;
            }
            let read = File::open(&dev.path)
                .map_err(|e| e.to_string())
                .and_then(|file| {
                    let mut window = Window::new(file, dev.offset_bytes, dev.size_bytes);
                    label::read_pv(&mut window, dev.size_bytes).map_err(|e| e.to_string())
                });
            match read {
                Ok(Some(pv)) => {
                    for damaged in &pv.damaged_metadata {
                        self.warn_once(format!(
                            "PV {} ({}): a metadata copy is damaged, using another: {damaged}",
                            dev.path.display(),
                            pv.uuid
                        ));
                    }
                    self.pvs.insert(
                        dev.name.clone(),
                        (
                            DevNumber {
                                major: number.0,
                                minor: number.1,
                            },
                            pv,
                        ),
                    );
                }
                Ok(None) => {}
                Err(e) => self.warn_once(format!(
                    "cannot read the LVM PV on {}: {e}",
                    dev.path.display()
                )),
            }
        }
        if self.pvs.is_empty() {
            return false;
        }
        let (vgs, errors) = lvm::volume_groups(self.pvs.values().map(|(_, pv)| pv));
        for (pv, e) in errors {
            self.warn_once(format!("PV {pv}: its VG metadata cannot be read: {e}"));
        }
        let present: HashMap<String, DevNumber> = self
            .pvs
            .values()
            .map(|(number, pv)| (pv.uuid.clone(), *number))
            .collect();
        let plan = table::plan_activation(&vgs, &present, &self.wanted);
        for (lv, reason) in &plan.skipped {
            // A missing PV may still appear; say so only when giving up.
            if final_pass || !reason.contains("missing") {
                self.warn_once(format!("LVM volume {lv} not activated: {reason}"));
                self.refused.insert(lv.clone(), reason.clone());
            }
        }
        let mut activated = false;
        for lv in plan.activate {
            if !self.volumes_done.insert(lv.dm_name.clone()) {
                continue;
            }
            if self.dm.is_none() {
                if let Err(e) = load_module("dm_mod") {
                    self.warn_once(format!("cannot load dm_mod for LVM: {e}"));
                }
                match dm::open_control(dev_root, sys_root) {
                    Ok(control) => self.dm = Some(control),
                    Err(e) => {
                        self.warn_once(format!(
                            "cannot use device-mapper for {}/{}: {e}",
                            lv.vg, lv.lv
                        ));
                        continue;
                    }
                }
            }
            let Some(control) = self.dm.as_mut() else {
                continue;
            };
            match control
                .activate(&lv)
                .and_then(|number| dm::make_nodes(dev_root, &lv, number).map(|()| number))
            {
                Ok(number) => {
                    log::say(format!(
                        "activated LVM volume {}/{} as /dev/mapper/{} ({number}) read-only",
                        lv.vg, lv.lv, lv.dm_name
                    ));
                    self.volumes_running.push(lv.dm_name.clone());
                    activated = true;
                }
                Err(e) => self.warn_once(format!(
                    "cannot activate LVM volume {}/{}: {e}",
                    lv.vg, lv.lv
                )),
            }
        }
        activated
    }

    /// Takes down the volumes and arrays kboot started, newest first (volumes sit on
    /// arrays), once the next kernel is loaded: nothing needs them any more, and a
    /// running md array makes the kernel's reboot path sleep a second
    /// (`md_notify_reboot`). Failures only cost that second: they are warnings.
    /// Afterwards everything may be brought up again (a failed handoff retries).
    pub(crate) fn release(&mut self, sys_root: &Path) {
        if let Some(control) = self.dm.as_mut() {
            for name in self.volumes_running.drain(..).rev() {
                let removed = dm::DmName::new(&name).and_then(|dm_name| control.remove(&dm_name));
                if let Err(e) = removed {
                    log::warn(format!("cannot remove device-mapper device {name}: {e}"));
                }
            }
        }
        for kernel_name in self.arrays_running.drain(..).rev() {
            if let Err(e) = md_assemble::stop(sys_root, &kernel_name) {
                log::warn(format!("cannot stop md array {kernel_name}: {e}"));
            }
        }
        self.arrays_done.clear();
        self.volumes_done.clear();
        self.degraded_since.clear();
    }
}
