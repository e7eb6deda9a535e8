//! PID 1: the boot flow. Mount the kernel filesystems, read the command line, find
//! and mount root (and boot) read-only, pick a kernel, kexec it. Any failure lands at
//! the rescue prompt, and the prompt's `retry` runs the whole attempt again.

pub(crate) mod choose;
pub(crate) mod cmdline;
pub(crate) mod console;
pub(crate) mod early;
pub(crate) mod keys;
pub(crate) mod log;
pub(crate) mod menu;
pub(crate) mod rescue;
pub(crate) mod storage;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

use crate::devices::blockdev::{self, BlockDevice};
use crate::devices::mount::{self, MountError};
use crate::devices::probe::FsType;
use crate::devices::spec::DeviceSpec;
use crate::kexec::{self, KexecPlan};
use crate::modules::load::{self as modload, KernelLoader};
use crate::modules::{ModuleIndex, ModulePath};
use crate::select::scan::{self, ScanRequest};
use crate::select::{self, BootEntry};
use cmdline::Cmdline;
use menu::{MenuItem, Outcome};
use storage::Storage;

/// Where root and boot are mounted.
pub(crate) const ROOT_MOUNT: &str = "/mnt/root";
pub(crate) const BOOT_MOUNT: &str = "/mnt/boot";
/// How long to wait for `root=` without `rootwait` or `rootdelay=`.
pub(crate) const DEFAULT_ROOT_WAIT_SECS: u32 = 30;

/// kboot runs the boot flow when it is PID 1 or is started under the name `init`.
pub fn is_init(args: &[String]) -> bool {
    let called_init = args
        .first()
        .and_then(|a| Path::new(a).file_name())
        .is_some_and(|n| n == "init");
    std::process::id() == 1 || called_init
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum BootError {
    #[error("no root= on the command line and no filesystem with kernels in /boot found after {waited_secs} s: add root=UUID=… or root=LABEL=… (type `devices` to see what is there)")]
    NoRootFound { waited_secs: u64 },
    #[error("{what} device {spec} not found after {waited_secs} s (filesystems seen: {seen}): check {what}= (type `devices` to list the disks), or add rootwait if the disk is slow to appear")]
    DeviceNotFound {
        what: &'static str,
        spec: DeviceSpec,
        waited_secs: u64,
        seen: String,
    },
    #[error(
        "{what} device {spec}: {reason}; boot from a linear or striped LV, or name another device"
    )]
    Refused {
        what: &'static str,
        spec: DeviceSpec,
        reason: String,
    },
    #[error("cannot list block devices: {0}")]
    Devices(#[from] blockdev::BlockdevError),
    #[error(transparent)]
    Mount(#[from] MountError),
    #[error("{0}")]
    Select(#[from] select::SelectError),
    #[error("{title}: {} not found on its filesystem; the config names a file that is not there: pick another entry, or edit the paths with kernel=/ramdisk=", missing.join(", "))]
    MissingFiles { title: String, missing: Vec<String> },
    #[error("kboot.default={0} names no entry: use a number from the list, a version or a title")]
    NoSuchDefault(String),
    #[error("kernel {kernel} cannot be booted: {source}; choose another kernel (kernel=PATH) or reinstall this one")]
    Kernel {
        kernel: String,
        #[source]
        source: kexec::KexecError,
    },
    #[error(transparent)]
    Kexec(#[from] kexec::KexecError),
    /// The user asked the menu to look for devices again.
    #[error("rescanning devices")]
    Rescan,
    /// The user asked the menu for the rescue prompt.
    #[error("rescue prompt asked for")]
    RescueAsked,
}

/// The state of one machine's boot: the command line and what has been set up so far.
pub(crate) struct Boot {
    pub cmdline: Cmdline,
    pub sys_root: PathBuf,
    pub dev_root: PathBuf,
    /// The modules shipped in the initramfs for the running kernel, if any.
    pub modules: Option<ModuleIndex>,
    /// Modules already tried (loaded, failed or unresolvable): never tried twice.
    attempted_modules: BTreeSet<String>,
    /// The device modaliases the last driver pass saw.
    seen_modaliases: Vec<String>,
    /// The device lines `kboot.debug` printed last.
    debug_seen_devices: Vec<String>,
    /// md arrays and LVM volumes brought up so far.
    storage: Storage,
    /// Entries that failed to boot (kernel and ramdisk paths) and why: the menu marks
    /// them, and a failed default is never booted again by itself.
    failed: BTreeMap<(String, String), String>,
}

impl Boot {
    pub(crate) fn new(cmdline: Cmdline, modules: Option<ModuleIndex>) -> Self {
        let storage = Storage::new(&cmdline);
        Boot {
            cmdline,
            sys_root: PathBuf::from("/sys"),
            dev_root: PathBuf::from("/dev"),
            modules,
            attempted_modules: BTreeSet::new(),
            seen_modaliases: Vec::new(),
            debug_seen_devices: Vec::new(),
            storage,
            failed: BTreeMap::new(),
        }
    }

    /// One try at booting. Returns only on failure.
    pub(crate) fn attempt(&mut self) -> Result<std::convert::Infallible, BootError> {
        // A retry starts clean.
        for target in [BOOT_MOUNT, ROOT_MOUNT] {
            let _ = mount::unmount(Path::new(target));
        }
        let discovered_root = match self.cmdline.root.clone() {
            Some(spec) => {
                let root = self.wait_for("root", &spec)?;
                self.mount(&root, Path::new(ROOT_MOUNT), "root")?;
                None
            }
            None => Some(self.discover_root()?),
        };
        let boot_mount = match self.cmdline.boot.clone() {
            Some(spec) => {
                let boot = self.wait_for("boot", &spec)?;
                self.mount(&boot, Path::new(BOOT_MOUNT), "boot")?;
                Some(PathBuf::from(BOOT_MOUNT))
            }
            None => None,
        };
        let target_cmdline = match discovered_root {
            Some(root_word) => format!("{root_word} {}", self.cmdline.target_cmdline())
                .trim_end()
                .to_string(),
            None => self.cmdline.target_cmdline(),
        };
        let request = ScanRequest {
            root: Path::new(ROOT_MOUNT),
            boot: boot_mount.as_deref(),
            kernel: self.cmdline.kernel.as_deref(),
            ramdisk: self.cmdline.ramdisk.as_deref(),
            cmdline: &target_cmdline,
            append: self.cmdline.append.as_deref(),
        };
        let collected = select::collect(&request)?;
        for warning in &collected.warnings {
            log::warn(warning);
        }
        let entries = collected.entries;
        let sources: BTreeSet<&str> = entries.iter().map(|e| e.source.name()).collect();
        log::say(format!(
            "found {} entr{} ({})",
            entries.len(),
            if entries.len() == 1 { "y" } else { "ies" },
            sources.into_iter().collect::<Vec<_>>().join(", ")
        ));
        // kboot.default= on the command line wins over what the configs say.
        let default = match self.cmdline.default_entry.as_deref() {
            Some(wanted) => choose::default_index(&entries, Some(wanted))
                .ok_or_else(|| BootError::NoSuchDefault(wanted.to_string()))?,
            None => collected.default_index,
        };
        let timeout = self
            .cmdline
            .timeout_secs
            .or(collected.timeout_secs)
            .unwrap_or(choose::DEFAULT_TIMEOUT_SECS);
        loop {
            let items: Vec<MenuItem> = entries
                .iter()
                .map(|e| MenuItem {
                    title: e.title.clone(),
                    detail: if e.missing.is_empty() {
                        format!(
                            "{} initrd {} ({})",
                            e.kernel,
                            e.ramdisks_shown(),
                            e.source.name()
                        )
                    } else {
                        format!(
                            "{} initrd {} (MISSING: {})",
                            e.kernel,
                            e.ramdisks_shown(),
                            e.missing.join(", ")
                        )
                    },
                    cmdline: e.cmdline.clone(),
                    problem: self.failed.get(&entry_key(e)).cloned(),
                })
                .collect();
            let (index, cmdline) = if menu::should_show(self.cmdline.menu, &items, timeout) {
                match menu::run_menu(&items, default, timeout) {
                    Outcome::Boot { index, cmdline } => (index, cmdline),
                    Outcome::Rescan => return Err(BootError::Rescan),
                    Outcome::Rescue | Outcome::Continue => return Err(BootError::RescueAsked),
                }
            } else {
                (default, entries[default].cmdline.clone())
            };
            let Some(entry) = entries.get(index) else {
                continue;
            };
            // Returns only on failure: the entry is marked and the menu comes back.
            let failure = self.boot_entry(entry, &cmdline);
            log::error(&failure);
            self.failed.insert(entry_key(entry), failure.to_string());
        }
    }

    /// Boots `entry` with `cmdline` (the entry's own, or as edited in the menu).
    /// Returns only on failure.
    fn boot_entry(&mut self, entry: &BootEntry, cmdline: &str) -> BootError {
        if !entry.missing.is_empty() {
            return BootError::MissingFiles {
                title: entry.title.clone(),
                missing: entry.missing.clone(),
            };
        }
        let plan = KexecPlan {
            kernel: entry.kernel_path(),
            ramdisks: entry.ramdisk_paths(),
            cmdline: cmdline.to_string(),
        };
        if let Err(source) = kexec::check_kernel(&plan.kernel) {
            return BootError::Kernel {
                kernel: entry.kernel.clone(),
                source,
            };
        }
        log::say(format!(
            "booting {} initrd {} cmdline \"{}\"",
            entry.kernel,
            entry.ramdisks_shown(),
            cmdline
        ));
        let loaded = match kexec::load(&plan, self.cmdline.kexec) {
            Ok(loaded) => loaded,
            Err(e) => return BootError::Kexec(e),
        };
        if let Some(refused) = &loaded.refused {
            log::warn(format!("{refused}; loaded with {} instead", loaded.via));
        }
        if let Some(times) = &loaded.times {
            log::say(times);
        }
        // The kernel holds its own copies now; leave the disks cleanly unmounted.
        for target in [BOOT_MOUNT, ROOT_MOUNT] {
            if let Err(e) = mount::unmount(Path::new(target)) {
                log::warn(format!("cannot unmount {target}: {e}"));
            }
        }
        self.storage.release(&self.sys_root);
        log::say(format!(
            "kernel loaded with {}; rebooting into it",
            loaded.via
        ));
        BootError::Kexec(kexec::KexecError::Syscall(
            kexec::syscall::reboot_into_loaded(),
        ))
    }

    /// Waits for the device `spec` names, as `rootwait`/`rootdelay=` say, loading
    /// drivers for hardware as it appears.
    fn wait_for(
        &mut self,
        what: &'static str,
        spec: &DeviceSpec,
    ) -> Result<BlockDevice, BootError> {
        let limit_secs = if self.cmdline.rootwait {
            None
        } else {
            Some(
                self.cmdline
                    .rootdelay_secs
                    .unwrap_or(DEFAULT_ROOT_WAIT_SECS),
            )
        };
        let started = Instant::now();
        let mut pause = Duration::from_millis(10);
        let mut announced = false;
        loop {
            let waited = started.elapsed();
            let giving_up = limit_secs.is_some_and(|l| waited >= Duration::from_secs(u64::from(l)));
            let devices = self.current_devices(giving_up)?;
            if let Some(found) = blockdev::find(&devices, spec, &self.dev_root) {
                log::say(format!("{what} {spec} is {}", found.path.display()));
                return Ok(found.clone());
            }
            if let Some(reason) = self.storage.refusal(spec) {
                return Err(BootError::Refused {
                    what,
                    spec: spec.clone(),
                    reason,
                });
            }
            if giving_up {
                let seen: Vec<String> = devices
                    .iter()
                    .filter(|d| d.fs.is_some())
                    .map(BlockDevice::summary)
                    .collect();
                return Err(BootError::DeviceNotFound {
                    what,
                    spec: spec.clone(),
                    waited_secs: waited.as_secs(),
                    seen: if seen.is_empty() {
                        "none".into()
                    } else {
                        seen.join(", ")
                    },
                });
            }
            if !announced && waited >= Duration::from_millis(500) {
                match limit_secs {
                    Some(l) => log::say(format!("waiting for {what} device {spec} (up to {l} s)")),
                    None => log::say(format!(
                        "waiting for {what} device {spec} (rootwait: for as long as it takes)"
                    )),
                }
                announced = true;
            }
            thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(250));
        }
    }

    /// Without `root=`: the first filesystem (in device order) that has kernels in
    /// `/boot` becomes root, and the target is told `root=UUID=…` so it finds it too.
    /// Returns the `root=` word for the target.
    fn discover_root(&mut self) -> Result<String, BootError> {
        let limit = Duration::from_secs(u64::from(
            self.cmdline
                .rootdelay_secs
                .unwrap_or(DEFAULT_ROOT_WAIT_SECS),
        ));
        let started = Instant::now();
        let mut tried: Vec<PathBuf> = Vec::new();
        let mut announced = false;
        loop {
            let devices = self.current_devices(started.elapsed() >= limit)?;
            let candidates = devices.iter().filter(|d| {
                d.fs.as_ref().is_some_and(|f| f.fs_type.mountable()) && !tried.contains(&d.path)
            });
            for dev in candidates.cloned().collect::<Vec<_>>() {
                tried.push(dev.path.clone());
                if self
                    .mount(&dev, Path::new(ROOT_MOUNT), "candidate root")
                    .is_err()
                {
                    continue;
                }
                let boot_dir = Path::new(ROOT_MOUNT).join("boot");
                let has_kernels = fs::read_dir(&boot_dir).is_ok_and(|mut entries| {
                    entries.any(|e| {
                        e.is_ok_and(|e| {
                            scan::kernel_version(&e.file_name().to_string_lossy()).is_some()
                        })
                    })
                });
                if has_kernels {
                    let name = match dev.fs.as_ref().and_then(|f| f.uuid.clone()) {
                        Some(uuid) => format!("root=UUID={uuid}"),
                        None => format!("root={}", dev.path.display()),
                    };
                    log::say(format!(
                        "no root= given: using {} ({name}), which has kernels in /boot",
                        dev.path.display()
                    ));
                    return Ok(name);
                }
                let _ = mount::unmount(Path::new(ROOT_MOUNT));
            }
            let waited = started.elapsed();
            if waited >= limit {
                return Err(BootError::NoRootFound {
                    waited_secs: waited.as_secs(),
                });
            }
            if !announced && waited >= Duration::from_millis(500) {
                log::say(format!(
                    "no root= given: looking for a filesystem with kernels in /boot (up to {} s)",
                    limit.as_secs()
                ));
                announced = true;
            }
            thread::sleep(Duration::from_millis(250));
        }
    }

    /// Loads drivers for the hardware sysfs shows. Cheap to call repeatedly: nothing
    /// happens unless new devices appeared, and no module is tried twice.
    fn load_hardware_modules(&mut self) {
        let Some(index) = &self.modules else { return };
        let modaliases = match modload::device_modaliases(&self.sys_root) {
            Ok(m) => m,
            Err(e) => {
                log::warn(format!("cannot list devices for driver loading: {e}"));
                return;
            }
        };
        if modaliases == self.seen_modaliases {
            return;
        }
        if self.cmdline.debug {
            log::say(format!("debug: {} device modaliases", modaliases.len()));
        }
        let plan = modload::plan_for_modaliases(index, &modaliases);
        self.seen_modaliases = modaliases;
        for (name, e) in plan.unresolved {
            if self.attempted_modules.insert(name.clone()) {
                log::warn(format!("driver {name} cannot be loaded: {e}"));
            }
        }
        let fresh: Vec<ModulePath> = plan
            .modules
            .into_iter()
            .filter(|m| self.attempted_modules.insert(m.name.clone()))
            .collect();
        if !fresh.is_empty() {
            let report = modload::load_modules(&mut KernelLoader, index, &fresh);
            Self::report_modules(&report);
        }
    }

    /// The block devices present now, after loading drivers for new hardware and
    /// bringing up the md arrays and LVM volumes they allow (rescanning until nothing
    /// new appears). `final_pass`: kboot is about to give up waiting.
    fn current_devices(&mut self, final_pass: bool) -> Result<Vec<BlockDevice>, BootError> {
        loop {
            self.load_hardware_modules();
            let devices = blockdev::scan(&self.sys_root, &self.dev_root)?;
            self.debug_devices(&devices);
            let (modules, attempted) = (self.modules.as_ref(), &mut self.attempted_modules);
            let mut load = |name: &str| load_named_module(modules, attempted, name);
            if !self.storage.activate(
                &devices,
                &self.sys_root,
                &self.dev_root,
                &mut load,
                final_pass,
            ) {
                return Ok(devices);
            }
        }
    }

    /// With `kboot.debug`: every block device, each time the set changes.
    fn debug_devices(&mut self, devices: &[BlockDevice]) {
        if !self.cmdline.debug {
            return;
        }
        let lines: Vec<String> = devices.iter().map(BlockDevice::blkid_line).collect();
        if lines != self.debug_seen_devices {
            for line in &lines {
                log::say(format!("debug: {line}"));
            }
            self.debug_seen_devices = lines;
        }
    }

    /// Loads the module for a filesystem type unless it is built in or already tried.
    fn load_fs_module(&mut self, name: &str) {
        if let Err(e) = load_named_module(self.modules.as_ref(), &mut self.attempted_modules, name)
        {
            // Not in the initramfs: the kernel may still have it built in.
            log::warn(format!("filesystem driver {name}: {e}"));
        }
    }

    fn report_modules(report: &modload::LoadReport) {
        if !report.loaded.is_empty() {
            log::say(format!("loaded {}", report.loaded.join(" ")));
        }
        // ENODEV: the module found none of its hardware (a CPU-specific variant, say).
        for failure in report
            .failed
            .iter()
            .filter(|f| f.errno() != Some(nix::errno::Errno::ENODEV))
        {
            log::warn(format!(
                "module {} ({}) not loaded: {}",
                failure.module,
                failure.path.display(),
                failure.error
            ));
        }
    }

    fn mount(&mut self, dev: &BlockDevice, target: &Path, what: &str) -> Result<(), BootError> {
        let probed = dev.fs.as_ref();
        let candidates: Vec<(String, Option<FsType>)> =
            if !self.cmdline.rootfstype.is_empty() && what == "root" {
                self.cmdline
                    .rootfstype
                    .iter()
                    .map(|t| (t.clone(), t.parse::<FsType>().ok()))
                    .collect()
            } else {
                match probed {
                    Some(info) if !info.fs_type.mountable() => {
                        return Err(MountError::NotMountable {
                            device: dev.path.clone(),
                            fstype: info.fs_type.name().to_string(),
                        }
                        .into())
                    }
                    Some(info) => vec![(
                        mount::kernel_fs_name(info.fs_type).to_string(),
                        Some(info.fs_type),
                    )],
                    None => {
                        return Err(MountError::UnknownType {
                            device: dev.path.clone(),
                        }
                        .into())
                    }
                }
            };
        let user_flags = if what == "root" {
            self.cmdline.rootflags.clone()
        } else {
            None
        };
        let mut last_err = None;
        for (fstype, parsed) in candidates {
            self.load_fs_module(mount::module_for(&fstype));
            let data = mount::options(parsed, probed, user_flags.as_deref());
            match mount::mount_readonly(&dev.path, target, &fstype, &data) {
                Ok(()) => {
                    log::say(format!(
                        "mounted {} ({fstype}) read-only on {}",
                        dev.path.display(),
                        target.display()
                    ));
                    return Ok(());
                }
                Err(e) => last_err = Some(e),
            }
        }
        Err(last_err.map_or(
            BootError::Mount(MountError::UnknownType {
                device: dev.path.clone(),
            }),
            BootError::Mount,
        ))
    }
}

/// What identifies an entry across rescans: its kernel and ramdisk paths.
fn entry_key(entry: &BootEntry) -> (String, String) {
    (entry.kernel.clone(), entry.ramdisks_shown())
}

/// Loads module `name` (or an alias such as `md-level-1`) with its dependencies,
/// unless it is built in or was tried before. Errors say why it could not be loaded.
fn load_named_module(
    index: Option<&ModuleIndex>,
    attempted: &mut BTreeSet<String>,
    name: &str,
) -> Result<(), String> {
    let Some(index) = index else { return Ok(()) };
    if index.is_builtin(name) || !attempted.insert(name.to_string()) {
        return Ok(());
    }
    let modules = index.resolve(&[name]).map_err(|e| e.to_string())?;
    let fresh: Vec<ModulePath> = modules
        .into_iter()
        .filter(|m| m.name == name || attempted.insert(m.name.clone()))
        .collect();
    let report = modload::load_modules(&mut KernelLoader, index, &fresh);
    Boot::report_modules(&report);
    // Only the module asked for counts: a soft dependency that does not fit this
    // machine (crc32c_intel without SSE 4.2) is no reason to fail.
    let wanted = crate::modules::normalize_name(name);
    match report.failed.iter().find(|f| f.module == wanted) {
        Some(failure) => Err(format!("{} not loaded: {}", failure.module, failure.error)),
        None => Ok(()),
    }
}

fn read_cmdline() -> Cmdline {
    match fs::read_to_string("/proc/cmdline") {
        Ok(text) => match text.parse::<Cmdline>() {
            Ok(c) => c,
            Err(never) => match never {},
        },
        Err(e) => {
            log::error(format!(
                "cannot read /proc/cmdline: {e}; going on with an empty command line"
            ));
            Cmdline::default()
        }
    }
}

/// The module index of the running kernel's modules in the initramfs.
fn module_index() -> Option<ModuleIndex> {
    let release = fs::read_to_string("/proc/sys/kernel/osrelease").ok()?;
    let dir = Path::new("/lib/modules").join(release.trim());
    if !dir.is_dir() {
        log::say(format!(
            "no modules for kernel {} in the initramfs; using built-in drivers only",
            release.trim()
        ));
        return None;
    }
    match ModuleIndex::load(&dir) {
        Ok(index) => Some(index),
        Err(e) => {
            log::error(format!(
                "cannot read the module index in {}: {e}; using built-in drivers only",
                dir.display()
            ));
            None
        }
    }
}

/// The boot flow as PID 1. Never returns: success is a kexec into the next kernel;
/// anything else ends at the rescue prompt, which can retry, reboot or power off.
pub fn run() -> ! {
    log::start();
    let mount_errors = early::mount_kernel_filesystems();
    early::attach_console();
    log::open_file(Path::new("/run/kboot.log"));
    // The kernel's own boot time (its clock starts with its first console line), for
    // anyone measuring how fast this kernel reached /init.
    let kernel_up = nix::time::clock_gettime(nix::time::ClockId::CLOCK_BOOTTIME)
        .map(|t| {
            format!(
                " (kernel up {}.{:03} s)",
                t.tv_sec(),
                t.tv_nsec() / 1_000_000
            )
        })
        .unwrap_or_default();
    log::say(format!(
        "kboot {} started{kernel_up}",
        env!("CARGO_PKG_VERSION")
    ));
    for e in mount_errors {
        log::warn(e);
    }
    panic::set_hook(Box::new(|info| {
        log::error(format!(
            "internal error: {info} (a kboot bug: please report it with the log)"
        ));
    }));
    let cmdline = read_cmdline();
    for w in &cmdline.warnings {
        log::warn(w);
    }
    let mut boot = Boot::new(cmdline, module_index());
    loop {
        match panic::catch_unwind(AssertUnwindSafe(|| boot.attempt())) {
            Ok(Err(BootError::Rescan)) => {
                log::say("rescanning devices");
                continue;
            }
            Ok(Err(BootError::RescueAsked)) => {}
            Ok(Err(e)) => log::error(e),
            Ok(Ok(never)) => match never {},
            // The panic hook has printed what happened.
            Err(_) => {}
        }
        rescue::prompt(&boot);
    }
}
