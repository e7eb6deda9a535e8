//! Bringing up md arrays and LVM volumes while kboot waits for `root=`/`boot=`: the
//! orchestration only; parsing and planning live in `devices::md` and
//! `devices::lvm`, the kernel calls in `devices::md::assemble` and `devices::dm`.
//! Everything starts read-only.

use crate::report::Chain;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::devices::blockdev::{BlockDevice, Window};
use crate::devices::dm::loop_store::{LoopStore, LoopStores};
use crate::devices::dm::snapshot::{self, RamSnapshot, SnapshotError};
use crate::devices::dm::{self, ControlFile, DeviceMapper, DmError};
use crate::devices::lvm::label::{self, LabelError, PhysicalVolume};
use crate::devices::lvm::table::{self, DevNumber, Wanted};
use crate::devices::lvm::{self as lvm};
use crate::devices::md::assemble as md_assemble;
use crate::devices::md::{self, MdFilter};
use crate::devices::spec::DeviceSpec;

use super::cmdline::Cmdline;
use super::hardware::ModuleLoadError;
use super::log;

/// How long a degraded array waits for its missing members before it starts anyway.
/// Starting degraded is harmless here: the array is read-only and gone after kexec.
const DEGRADED_GRACE: Duration = Duration::from_secs(2);

/// The devices whose contents could not be identified (a read error, an open
/// failure, a damaged superblock), each as `NAME (PROBLEM)`: a member whose superblock
/// cannot be read is one of them, so a degraded array's warning names it. Partitions
/// the kernel found on a whole-disk md member are left out: they are views of the
/// member, not devices of their own.
fn unidentified_devices(devices: &[BlockDevice]) -> Vec<String> {
    let is_md_member = |name: &str| {
        devices
            .iter()
            .any(|device| device.name == name && device.md.is_some())
    };
    devices
        .iter()
        .filter(|device| device.md.is_none() && device.fs.is_none() && device.lvm_pv.is_none())
        .filter(|device| !device.parent.as_deref().is_some_and(is_md_member))
        .filter_map(|device| {
            let problem = device.problem.as_ref()?;
            Some(format!("{} ({problem})", device.name))
        })
        .collect()
}

/// One look at the devices present, and how to load a module by name.
pub(crate) struct Pass<'a> {
    pub devices: &'a [BlockDevice],
    pub sys_root: &'a Path,
    pub dev_root: &'a Path,
    pub load_module: &'a mut dyn FnMut(&str) -> Result<(), ModuleLoadError>,
    /// The last look before kboot gives up waiting: problems that might have resolved
    /// themselves as more devices appeared are reported then.
    pub final_pass: bool,
}

/// Why the LVM label on a device could not be read.
#[derive(Debug, thiserror::Error)]
enum PvReadError {
    #[error("cannot read the LVM PV on {}: {source}", device.display())]
    Open {
        device: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot read the LVM PV on {}: {source}", device.display())]
    Label {
        device: PathBuf,
        #[source]
        source: LabelError,
    },
}

/// The PV on `dev`, if its LVM label says there is one.
fn read_pv(dev: &BlockDevice) -> Result<Option<PhysicalVolume>, PvReadError> {
    let file = File::open(&dev.path).map_err(|source| PvReadError::Open {
        device: dev.path.clone(),
        source,
    })?;
    let mut window = Window::new(file, dev.offset_bytes, dev.size_bytes);
    label::read_pv(&mut window, dev.size_bytes).map_err(|source| PvReadError::Label {
        device: dev.path.clone(),
        source,
    })
}

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
    /// RAM snapshots over filesystems whose journal is replayed into them; they sit
    /// on the volumes and arrays, so they go down first.
    snapshots: Vec<RamSnapshot<LoopStore>>,
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
            snapshots: Vec::new(),
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

    /// Starts what the devices now present allow. Returns whether a new device
    /// appeared.
    pub(crate) fn activate(&mut self, pass: &mut Pass<'_>) -> bool {
        let arrays = self.assemble_arrays(pass);
        // PVs on new arrays show up after a rescan; the caller comes back.
        if arrays {
            return true;
        }
        self.lvm_enabled && self.activate_volumes(pass)
    }

    /// Starts the md arrays whose members are all present (or, after a grace period,
    /// enough of them). Returns whether one started.
    fn assemble_arrays(&mut self, pass: &mut Pass<'_>) -> bool {
        if !self.md_filter.assemble {
            return false;
        }
        let members: Vec<md::MdMember> = md_assemble::find_members(pass.devices)
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
                    if pass.final_pass {
                        self.warn_once(e.to_string());
                    }
                    continue;
                }
            };
            if plan.degraded && !self.start_degraded(&plan, pass.devices, pass.final_pass) {
                continue;
            }
            for left_out in &plan.left_out {
                self.warn_once(format!(
                    "md array {}: leaving out {left_out}",
                    plan.display_name()
                ));
            }
            self.arrays_done.insert(plan.uuid.clone());
            started |= self.start_array(&plan, pass);
        }
        started
    }

    /// Whether a degraded array starts now: it waits a little for members that have
    /// not appeared yet; members that are present but unusable (stale, faulty) will
    /// not get better. Says so when it starts.
    fn start_degraded(
        &mut self,
        plan: &md::ArrayPlan,
        devices: &[BlockDevice],
        final_pass: bool,
    ) -> bool {
        let absent = plan.missing_slots.len() > plan.left_out.len();
        let since = *self
            .degraded_since
            .entry(plan.uuid.clone())
            .or_insert_with(Instant::now);
        if absent && since.elapsed() < DEGRADED_GRACE && !final_pass {
            return false;
        }
        let missing: Vec<String> = plan.missing_slots.iter().map(u32::to_string).collect();
        let unidentified = unidentified_devices(devices);
        let unidentified = if unidentified.is_empty() {
            String::new()
        } else {
            format!(
                "; devices that could not be identified, the missing member may be one: {}",
                unidentified.join(", ")
            )
        };
        self.warn_once(format!(
            "md array {} is degraded ({} of {} members; slot {} missing{unidentified}): starting it read-only anyway",
            plan.display_name(),
            plan.members.len(),
            plan.raid_disks,
            missing.join(", ")
        ));
        true
    }

    /// Assembles one planned array. Returns whether it started.
    fn start_array(&mut self, plan: &md::ArrayPlan, pass: &mut Pass<'_>) -> bool {
        // The md module keeps the loader's error whole, as its source.
        let mut load_module = |name: &str| (pass.load_module)(name).map_err(Into::into);
        match md_assemble::assemble(plan, pass.sys_root, pass.dev_root, &mut load_module) {
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
                true
            }
            Err(e) => {
                self.warn_once(format!(
                    "cannot start md array {}: {e}",
                    plan.display_name(),
                    e = Chain(&e)
                ));
                false
            }
        }
    }

    /// Activates the LVs the PVs present allow and the command line wants. Returns
    /// whether one was activated.
    fn activate_volumes(&mut self, pass: &mut Pass<'_>) -> bool {
        self.read_new_pvs(pass.devices);
        if self.pvs.is_empty() {
            return false;
        }
        let (vgs, errors) = lvm::volume_groups(self.pvs.values().map(|(_, pv)| pv));
        for (pv, e) in errors {
            self.warn_once(format!(
                "PV {pv}: its VG metadata cannot be read: {e}",
                e = Chain(&e)
            ));
        }
        let present: HashMap<String, DevNumber> = self
            .pvs
            .values()
            .map(|(number, pv)| (pv.uuid.clone(), *number))
            .collect();
        let plan = table::plan_activation(&vgs, &present, &self.wanted);
        for (lv, reason) in &plan.skipped {
            // A missing PV may still appear; say so only when giving up.
            if pass.final_pass || !reason.contains("missing") {
                self.warn_once(format!("LVM volume {lv} not activated: {reason}"));
                self.refused.insert(lv.clone(), reason.clone());
            }
        }
        let mut activated = false;
        for lv in plan.activate {
            if self.volumes_done.insert(lv.dm_name.clone()) {
                activated |= self.activate_volume(&lv, pass);
            }
        }
        activated
    }

    /// Reads the LVM label of every PV not read yet (md members are read as their
    /// array).
    fn read_new_pvs(&mut self, devices: &[BlockDevice]) {
        for dev in devices {
            let (Some(number), Some(_)) = (dev.number, &dev.lvm_pv) else {
                continue;
            };
            if dev.md.is_some() || self.pvs.contains_key(&dev.name) {
                continue;
            }
            match read_pv(dev) {
                Ok(Some(pv)) => {
                    for damaged in &pv.damaged_metadata {
                        self.warn_once(format!(
                            "PV {} ({}): a metadata copy is damaged, using another: {damaged}",
                            dev.path.display(),
                            pv.uuid
                        ));
                    }
                    let number = DevNumber {
                        major: number.0,
                        minor: number.1,
                    };
                    self.pvs.insert(dev.name.clone(), (number, pv));
                }
                Ok(None) => {}
                Err(e) => self.warn_once(e.to_string()),
            }
        }
    }

    /// Activates one LV through device-mapper (opened, with `dm_mod` loaded, the first
    /// time). Returns whether it came up.
    fn activate_volume(&mut self, lv: &table::LvActivation, pass: &mut Pass<'_>) -> bool {
        if self.dm.is_none() {
            if let Err(e) = (pass.load_module)("dm_mod") {
                self.warn_once(format!("cannot load dm_mod for LVM: {e}", e = Chain(&e)));
            }
        }
        let control = match self.control(pass.dev_root, pass.sys_root) {
            Ok(control) => control,
            Err(e) => {
                self.warn_once(format!(
                    "cannot use device-mapper for {}/{}: {e}",
                    lv.vg,
                    lv.lv,
                    e = Chain(&e)
                ));
                return false;
            }
        };
        match control
            .activate(lv)
            .and_then(|number| dm::make_nodes(pass.dev_root, lv, number).map(|()| number))
        {
            Ok(number) => {
                log::say(format!(
                    "activated LVM volume {}/{} as /dev/mapper/{} ({number}) read-only",
                    lv.vg, lv.lv, lv.dm_name
                ));
                self.volumes_running.push(lv.dm_name.clone());
                true
            }
            Err(e) => {
                self.warn_once(format!(
                    "cannot activate LVM volume {}/{}: {e}",
                    lv.vg,
                    lv.lv,
                    e = Chain(&e)
                ));
                false
            }
        }
    }

    /// `/dev/mapper/control`, opened the first time it is needed.
    fn control(
        &mut self,
        dev_root: &Path,
        sys_root: &Path,
    ) -> Result<&mut DeviceMapper<ControlFile>, DmError> {
        match &mut self.dm {
            Some(control) => Ok(control),
            slot => Ok(slot.insert(dm::open_control(dev_root, sys_root)?)),
        }
    }

    /// A device-mapper snapshot over `dev` whose copy-on-write store is in RAM, so
    /// its journal can be replayed without writing the disk; returns the snapshot's
    /// `/dev/mapper` node. One made earlier for the same device is used again. The
    /// modules (`dm_mod`, `dm_snapshot`, `loop`) must be loaded or built in.
    pub(crate) fn replay_snapshot(
        &mut self,
        dev: &BlockDevice,
        dev_root: &Path,
        sys_root: &Path,
        mem_available_bytes: u64,
    ) -> Result<PathBuf, SnapshotError> {
        let origin = dev.number.map(|(major, minor)| DevNumber { major, minor });
        let plan = snapshot::plan(
            &dev.name,
            origin,
            dev.offset_bytes,
            dev.size_bytes,
            mem_available_bytes,
        )?;
        if let Some(made) = self.snapshots.iter().find(|s| s.plan.origin == plan.origin) {
            return Ok(dev_root.join("mapper").join(made.plan.name.as_str()));
        }
        let mut stores = LoopStores {
            dev_root: dev_root.to_path_buf(),
            sys_root: sys_root.to_path_buf(),
        };
        let control = self.control(dev_root, sys_root)?;
        let made = snapshot::create(control, &mut stores, plan)?;
        match dm::make_mapper_node(dev_root, &made.plan.name, made.dev) {
            Ok(node) => {
                self.snapshots.push(made);
                Ok(node)
            }
            Err(e) => {
                // The node error is the one to report; the snapshot is only RAM.
                let _ = snapshot::remove(control, &mut stores, made);
                Err(e.into())
            }
        }
    }

    /// Takes down the RAM snapshot over `dev`, if there is one (its filesystem must
    /// be unmounted). Failures are warnings: it costs only RAM until the handoff.
    pub(crate) fn drop_snapshot(&mut self, dev: &BlockDevice) {
        let Some((major, minor)) = dev.number else {
            return;
        };
        let origin = DevNumber { major, minor };
        let Some(at) = self.snapshots.iter().position(|s| s.plan.origin == origin) else {
            return;
        };
        let made = self.snapshots.remove(at);
        self.remove_snapshot(made);
    }

    fn remove_snapshot(&mut self, made: RamSnapshot<LoopStore>) {
        let name = made.plan.name.as_str().to_string();
        let Some(control) = self.dm.as_mut() else {
            return;
        };
        // Destroying a loop store reads no paths.
        let mut stores = LoopStores {
            dev_root: PathBuf::new(),
            sys_root: PathBuf::new(),
        };
        if let Err(e) = snapshot::remove(control, &mut stores, made) {
            log::warn(format!(
                "cannot remove the RAM snapshot {name}: {e}",
                e = Chain(&e)
            ));
        }
    }

    /// Takes down the RAM snapshots, volumes and arrays kboot started, newest first
    /// (snapshots sit on volumes, volumes on arrays), once the next kernel is loaded: nothing needs them any more, and a
    /// running md array makes the kernel's reboot path sleep a second
    /// (`md_notify_reboot`). Failures only cost that second: they are warnings.
    /// Afterwards everything may be brought up again (a failed handoff retries).
    pub(crate) fn release(&mut self, sys_root: &Path) {
        for made in std::mem::take(&mut self.snapshots).into_iter().rev() {
            self.remove_snapshot(made);
        }
        if let Some(control) = self.dm.as_mut() {
            for name in self.volumes_running.drain(..).rev() {
                let removed = dm::DmName::new(&name).and_then(|dm_name| control.remove(&dm_name));
                if let Err(e) = removed {
                    log::warn(format!(
                        "cannot remove device-mapper device {name}: {e}",
                        e = Chain(&e)
                    ));
                }
            }
        }
        for kernel_name in self.arrays_running.drain(..).rev() {
            if let Err(e) = md_assemble::stop(sys_root, &kernel_name) {
                log::warn(format!(
                    "cannot stop md array {kernel_name}: {e}",
                    e = Chain(&e)
                ));
            }
        }
        self.arrays_done.clear();
        self.volumes_done.clear();
        self.degraded_since.clear();
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
