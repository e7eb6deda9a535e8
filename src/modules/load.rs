//! Loading kernel modules at boot, without kmod.
//!
//! Planning is pure: read the modalias of every device under sysfs, match those against
//! the [`ModuleIndex`] aliases, and resolve the dependency closure in load order. The
//! side effect is one syscall per module, `finit_module(2)` (or `init_module(2)` for a
//! gunzipped image), behind [`ModuleLoader`] so the flow can be tested with a recorder.
//! A module that is already loaded answers EEXIST, which is success here.
//! Specified by init_module(2); the kboot storage-formats reference, section 6.

use std::collections::BTreeSet;
use std::ffi::CStr;
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::kmod::{finit_module, init_module, ModuleInitFlags};
use thiserror::Error;

use super::file::{is_compressed, read_module_bytes};
use super::{ModuleIndex, ModulePath, ModulesError};

#[derive(Debug, Error)]
pub(crate) enum ModloadError {
    #[error("cannot walk {path}: {source}")]
    Walk {
        path: PathBuf,
        #[source]
        source: walkdir::Error,
    },
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Modules(#[from] ModulesError),
    #[error("{syscall}({path}) failed: {errno}")]
    Syscall {
        syscall: &'static str,
        path: PathBuf,
        errno: Errno,
    },
    #[error("not loaded because its dependency {dependency} failed to load")]
    DependencyFailed { dependency: String },
}

/// The kernel interface for inserting one module file; the real one is [`KernelLoader`].
pub(crate) trait ModuleLoader {
    /// Loads the module at `path`. `Err(Errno::EEXIST)` inside
    /// [`ModloadError::Syscall`] means it was already loaded.
    fn load(&mut self, path: &Path) -> Result<(), ModloadError>;
}

/// Loads modules into the running kernel.
pub(crate) struct KernelLoader;

impl ModuleLoader for KernelLoader {
    fn load(&mut self, path: &Path) -> Result<(), ModloadError> {
        let no_params: &CStr = c"";
        if !is_compressed(path) {
            let file = std::fs::File::open(path).map_err(|source| ModloadError::Read {
                path: path.to_path_buf(),
                source,
            })?;
            return finit_module(&file, no_params, ModuleInitFlags::empty()).map_err(|errno| {
                ModloadError::Syscall {
                    syscall: "finit_module",
                    path: path.to_path_buf(),
                    errno,
                }
            });
        }
        // Kernels only decompress in finit_module since 6.4, and only the format they
        // were built for; unpacking here works for gzip, xz and zstd on every kernel.
        let image = read_module_bytes(path)?;
        init_module(&image, no_params).map_err(|errno| ModloadError::Syscall {
            syscall: "init_module",
            path: path.to_path_buf(),
            errno,
        })
    }
}

/// The modalias of every device under `sys_root/devices`, each once, sorted.
/// `sys_root` is where sysfs is mounted (`/sys` at boot). Symlinks are not followed:
/// sysfs links back up its own tree.
pub(crate) fn device_modaliases(sys_root: &Path) -> Result<Vec<String>, ModloadError> {
    let devices = sys_root.join("devices");
    let mut modaliases = BTreeSet::new();
    for entry in walkdir::WalkDir::new(&devices) {
        let entry = entry.map_err(|source| ModloadError::Walk {
            path: devices.clone(),
            source,
        })?;
        if entry.file_name() != "modalias" || !entry.file_type().is_file() {
            continue;
        }
        let text = match std::fs::read_to_string(entry.path()) {
            Ok(text) => text,
            // A device can vanish between listing and reading (hot unplug).
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => continue,
            Err(source) => {
                return Err(ModloadError::Read {
                    path: entry.path().to_path_buf(),
                    source,
                })
            }
        };
        let modalias = text.trim();
        if !modalias.is_empty() {
            modaliases.insert(modalias.to_string());
        }
    }
    Ok(modaliases.into_iter().collect())
}

/// What to load for a set of devices.
#[derive(Debug, Default)]
pub(crate) struct LoadPlan {
    /// In load order: dependencies first.
    pub modules: Vec<ModulePath>,
    /// Modules wanted by some device that could not be resolved (broken index); the
    /// rest of the plan stands without them.
    pub unresolved: Vec<(String, ModulesError)>,
}

/// Plans the modules that drive the devices with these modaliases. Each wanted module
/// is resolved on its own so one broken entry does not cost the other devices.
pub(crate) fn plan_for_modaliases(index: &ModuleIndex, modaliases: &[String]) -> LoadPlan {
    let mut plan = LoadPlan::default();
    let mut wanted: Vec<String> = Vec::new();
    for modalias in modaliases {
        for name in index.aliases_matching(modalias) {
            if !wanted.contains(&name) {
                wanted.push(name);
            }
        }
    }
    for name in wanted {
        match index.resolve(&[&name]) {
            Ok(modules) => {
                for module in modules {
                    if !plan.modules.contains(&module) {
                        plan.modules.push(module);
                    }
                }
            }
            Err(error) => plan.unresolved.push((name, error)),
        }
    }
    plan
}

/// One module that did not load.
#[derive(Debug)]
pub(crate) struct LoadFailure {
    pub module: String,
    pub path: PathBuf,
    pub error: ModloadError,
}

impl LoadFailure {
    /// The syscall's errno, when the kernel refused the module.
    pub(crate) fn errno(&self) -> Option<Errno> {
        match self.error {
            ModloadError::Syscall { errno, .. } => Some(errno),
            _ => None,
        }
    }
}

/// What happened to each module of a plan. Failures are reported, never fatal: a
/// missing driver for one device must not stop the boot from others.
#[derive(Debug, Default)]
pub(crate) struct LoadReport {
    pub loaded: Vec<String>,
    pub already_loaded: Vec<String>,
    pub failed: Vec<LoadFailure>,
}

/// Loads `modules` in order through `loader`. A module whose hard dependency failed is
/// not tried: the kernel would only answer "unknown symbol".
pub(crate) fn load_modules(
    loader: &mut impl ModuleLoader,
    index: &ModuleIndex,
    modules: &[ModulePath],
) -> LoadReport {
    let mut report = LoadReport::default();
    for module in modules {
        let path = index.full_path(module);
        let failed_dependency = index.module(&module.name).and_then(|entry| {
            entry
                .depends
                .iter()
                .find(|dep| report.failed.iter().any(|failure| &failure.module == *dep))
        });
        if let Some(dependency) = failed_dependency {
            report.failed.push(LoadFailure {
                module: module.name.clone(),
                path,
                error: ModloadError::DependencyFailed {
                    dependency: dependency.clone(),
                },
            });
            continue;
        }
        match loader.load(&path) {
            Ok(()) => report.loaded.push(module.name.clone()),
            Err(ModloadError::Syscall {
                errno: Errno::EEXIST,
                ..
            }) => report.already_loaded.push(module.name.clone()),
            Err(error) => report.failed.push(LoadFailure {
                module: module.name.clone(),
                path,
                error,
            }),
        }
    }
    report
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
