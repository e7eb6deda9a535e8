//! Finding and mounting root and boot: waiting for the device `root=`/`boot=` names,
//! or, without `root=`, trying filesystems until one has kernels in `/boot`.

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

use crate::devices::blockdev::{self, BlockDevice};
use crate::devices::dm::snapshot::{self, SnapshotError};
use crate::devices::mount::{self, MountError};
use crate::devices::probe::FsType;
use crate::devices::spec::DeviceSpec;
use crate::report::Chain;
use crate::select::scan;

use super::attempt::BootError;
use super::{log, Boot, BOOT_MOUNT, DEFAULT_ROOT_WAIT_SECS, ROOT_MOUNT};

const PROC_MEMINFO: &str = "/proc/meminfo";

/// Why a filesystem could not be mounted with its journal replayed in RAM.
#[derive(Debug, thiserror::Error)]
enum ReplayError {
    #[error("cannot read {PROC_MEMINFO}: {source}")]
    Meminfo {
        #[source]
        source: std::io::Error,
    },
    #[error("{PROC_MEMINFO} has no MemAvailable line")]
    NoMemAvailable,
    #[error(transparent)]
    Snapshot(#[from] SnapshotError),
    #[error("over the snapshot: {0}")]
    Mount(#[from] MountError),
}

/// The filesystem kboot is looking for, as messages name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// `root=`.
    Root,
    /// `boot=`.
    Boot,
    /// A filesystem tried as root when `root=` is not given.
    CandidateRoot,
}

impl Role {
    fn mount_point(self) -> &'static Path {
        Path::new(match self {
            Role::Root | Role::CandidateRoot => ROOT_MOUNT,
            Role::Boot => BOOT_MOUNT,
        })
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Role::Root => "root",
            Role::Boot => "boot",
            Role::CandidateRoot => "candidate root",
        })
    }
}

impl Boot {
    /// Waits for the device `spec` names, as `rootwait`/`rootdelay=` say, loading
    /// drivers for hardware as it appears.
    pub(super) fn wait_for(
        &mut self,
        what: Role,
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
                    seen,
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
    pub(super) fn discover_root(&mut self) -> Result<String, BootError> {
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
                if self.mount(&dev, Role::CandidateRoot).is_err() {
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

    pub(super) fn mount(&mut self, dev: &BlockDevice, what: Role) -> Result<(), BootError> {
        let probed = dev.fs.as_ref();
        let candidates: Vec<(String, Option<FsType>)> =
            if !self.cmdline.rootfstype.is_empty() && what == Role::Root {
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
        let target = what.mount_point();
        let user_flags = if what == Role::Root {
            self.cmdline.rootflags.clone()
        } else {
            None
        };
        let mut last_err = None;
        for (fstype, parsed) in candidates {
            self.load_fs_module(mount::module_for(&fstype));
            if mount::replays_journal(parsed, probed) {
                match self.mount_replayed(dev, target, &fstype, user_flags.as_deref()) {
                    Ok(node) => {
                        log::say(format!(
                            "mounted {} ({fstype}) read-only on {} over {}, its journal replayed in RAM",
                            dev.path.display(),
                            target.display(),
                            node.display()
                        ));
                        return Ok(());
                    }
                    Err(e) => log::warn(format!(
                        "cannot replay the journal of {} in RAM: {e}; mounting it without \
                         replay: changes still in its journal are not seen",
                        dev.path.display(),
                        e = Chain(&e)
                    )),
                }
            }
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

    /// Mounts `dev` over a RAM snapshot so the kernel replays its journal (ext3/4) or
    /// log (XFS) into RAM, never onto the disk. Returns the snapshot's node. A
    /// snapshot that cannot be mounted is taken down again.
    fn mount_replayed(
        &mut self,
        dev: &BlockDevice,
        target: &Path,
        fstype: &str,
        user_flags: Option<&str>,
    ) -> Result<PathBuf, ReplayError> {
        // Built into the kboot kernel; modules in distribution kernels. A missing one
        // shows as the device-mapper or loop error below.
        for module in ["dm_mod", "dm_snapshot", "loop"] {
            let _ = self.load_module(module);
        }
        let meminfo =
            fs::read_to_string(PROC_MEMINFO).map_err(|source| ReplayError::Meminfo { source })?;
        let mem_available_bytes =
            snapshot::mem_available_bytes(&meminfo).ok_or(ReplayError::NoMemAvailable)?;
        let node = self.storage.replay_snapshot(
            dev,
            &self.dev_root,
            &self.sys_root,
            mem_available_bytes,
        )?;
        // No noload/norecovery: the replay is what is wanted, and it writes only RAM.
        let data = mount::options(None, None, user_flags);
        if let Err(e) = mount::mount_readonly(&node, target, fstype, &data) {
            self.storage.drop_snapshot(dev);
            return Err(e.into());
        }
        Ok(node)
    }
}
