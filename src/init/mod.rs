//! PID 1: the boot flow. Mount the kernel filesystems, read the command line, find
//! and mount root (and boot) read-only, pick a kernel, kexec it. Any failure lands at
//! the rescue prompt, and the prompt's `retry` runs the whole attempt again.
//!
//! Where things are: `run` (here) is PID 1's loop; `attempt` is one try (collect the
//! entries, menu, kexec) and its errors; `root` waits for and mounts root and boot;
//! `hardware` loads drivers and lists block devices; `storage` brings up md and LVM;
//! `menu`, `keys` and `console` are the boot menu; `rescue` the prompt; `cmdline`,
//! `choose`, `early` and `log` the rest.

mod attempt;
pub(crate) mod choose;
pub(crate) mod cmdline;
pub(crate) mod console;
pub(crate) mod early;
mod hardware;
pub(crate) mod keys;
pub(crate) mod log;
pub(crate) mod menu;
pub(crate) mod rescue;
mod root;
pub(crate) mod storage;

use crate::report::Chain;
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use crate::modules::ModuleIndex;
use attempt::Attempt;
use cmdline::Cmdline;
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
    /// Entries that failed to boot (by `attempt::entry_key`) and why: the menu marks
    /// them, and a failed default is never booted again by itself.
    failed: BTreeMap<attempt::EntryKey, String>,
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
}

fn read_cmdline() -> Cmdline {
    match fs::read_to_string("/proc/cmdline") {
        Ok(text) => match text.parse::<Cmdline>() {
            Ok(c) => c,
            Err(never) => match never {},
        },
        Err(e) => {
            log::error(format!(
                "cannot read /proc/cmdline: {e}; going on with an empty command line",
                e = Chain(&e)
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
                dir.display(),
                e = Chain(&e)
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
        log::warn(Chain(&e));
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
            Ok(Attempt::Rescan) => {
                log::say("rescanning devices");
                continue;
            }
            Ok(Attempt::Rescue) => {}
            Ok(Attempt::Failed(e)) => log::error(Chain(&e)),
            // The panic hook has printed what happened.
            Err(_) => {}
        }
        rescue::prompt(&boot);
    }
}
