//! Hardware as kboot waits for it: loading drivers for the devices sysfs shows (and
//! filesystem and md/dm modules by name), listing block devices, and bringing up the
//! md arrays and LVM volumes they allow.

use crate::report::Chain;
use std::collections::BTreeSet;

use crate::devices::blockdev::{self, BlockDevice};
use crate::modules::load::{self as modload, KernelLoader, ModloadError};
use crate::modules::{ModuleIndex, ModulePath, ModulesError};

use super::attempt::BootError;
use super::storage::Pass;
use super::{log, Boot};

/// Why a module asked for by name (a filesystem, md or dm driver) did not load.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ModuleLoadError {
    #[error(transparent)]
    Resolve(#[from] ModulesError),
    #[error("{module} not loaded: {source}")]
    NotLoaded {
        module: String,
        #[source]
        source: ModloadError,
    },
}

impl Boot {
    /// Loads drivers for the hardware sysfs shows. Cheap to call repeatedly: nothing
    /// happens unless new devices appeared, and no module is tried twice.
    fn load_hardware_modules(&mut self) {
        let Some(index) = &self.modules else { return };
        let modaliases = match modload::device_modaliases(&self.sys_root) {
            Ok(m) => m,
            Err(e) => {
                log::warn(format!(
                    "cannot list devices for driver loading: {e}",
                    e = Chain(&e)
                ));
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
                log::warn(format!(
                    "driver {name} cannot be loaded: {e}",
                    e = Chain(&e)
                ));
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
    pub(super) fn current_devices(
        &mut self,
        final_pass: bool,
    ) -> Result<Vec<BlockDevice>, BootError> {
        loop {
            self.load_hardware_modules();
            let devices = blockdev::scan(&self.sys_root, &self.dev_root)?;
            self.debug_devices(&devices);
            let (modules, attempted) = (self.modules.as_ref(), &mut self.attempted_modules);
            let mut load = |name: &str| load_named_module(modules, attempted, name);
            let mut pass = Pass {
                devices: &devices,
                sys_root: &self.sys_root,
                dev_root: &self.dev_root,
                load_module: &mut load,
                final_pass,
            };
            if !self.storage.activate(&mut pass) {
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
    /// Loads a module by name (and its dependencies); built-in counts as loaded.
    pub(super) fn load_module(&mut self, name: &str) -> Result<(), ModuleLoadError> {
        load_named_module(self.modules.as_ref(), &mut self.attempted_modules, name)
    }

    pub(super) fn load_fs_module(&mut self, name: &str) {
        if let Err(e) = load_named_module(self.modules.as_ref(), &mut self.attempted_modules, name)
        {
            // Not in the initramfs: the kernel may still have it built in.
            log::warn(format!("filesystem driver {name}: {e}", e = Chain(&e)));
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
}

/// Loads module `name` (or an alias such as `md-level-1`) with its dependencies,
/// unless it is built in or was tried before. Errors say why it could not be loaded.
fn load_named_module(
    index: Option<&ModuleIndex>,
    attempted: &mut BTreeSet<String>,
    name: &str,
) -> Result<(), ModuleLoadError> {
    let Some(index) = index else { return Ok(()) };
    if index.is_builtin(name) || !attempted.insert(name.to_string()) {
        return Ok(());
    }
    let modules = index.resolve(&[name])?;
    let fresh: Vec<ModulePath> = modules
        .into_iter()
        .filter(|m| m.name == name || attempted.insert(m.name.clone()))
        .collect();
    let report = modload::load_modules(&mut KernelLoader, index, &fresh);
    Boot::report_modules(&report);
    // Only the module asked for counts: a soft dependency that does not fit this
    // machine (crc32c_intel without SSE 4.2) is no reason to fail.
    let wanted = crate::modules::normalize_name(name);
    match report.failed.into_iter().find(|f| f.module == wanted) {
        Some(failure) => Err(ModuleLoadError::NotLoaded {
            module: failure.module,
            source: failure.error,
        }),
        None => Ok(()),
    }
}
