//! The side-effect edge of md support: finding the members among the block devices and
//! asking the kernel to start a planned array, read-only, through sysfs.
//!
//! Sequence (drivers/md/md.c, Linux 6.1; the same attributes mdadm uses):
//!
//! 1. Load `md_mod` and the level's personality (`raid1`, `raid456`, ...) ourselves:
//!    there is no /sbin/modprobe for the kernel's `request_module("md-level-N")`.
//! 2. Write `mdN` to `/sys/module/md_mod/parameters/new_array` (`add_named_array`):
//!    creates the stopped array with minor N under major 9; devtmpfs makes `/dev/mdN`.
//! 3. Write `1.2` / `0.90` to `md/metadata_version` (`metadata_store`): persistent
//!    native metadata, so the kernel reads each member's superblock itself.
//! 4. Write `MAJ:MIN` to `md/new_dev` per planned member (`new_dev_store`): imports
//!    and binds the device, checking its superblock against the first one. Nothing
//!    else is given: with `raid_disks` left 0, `md_run` calls `analyze_sbs`, which
//!    takes level, layout, slots and offsets from the freshest superblock, exactly as
//!    `mdadm --assemble` does for native metadata.
//! 5. Write `readonly` to `md/array_state` (`array_state_store`): with no personality
//!    running yet this sets `mddev->ro = MD_RDONLY`, marks the disk read-only and
//!    calls `do_md_run`. Why not the ioctls: `RUN_ARRAY` starts read-write (or
//!    `read-auto` if `md_mod.start_ro` is set, which turns read-write on the first
//!    write) and `md_run` then writes superblocks (`md_update_sb` with events bumped)
//!    before a later `STOP_ARRAY_RO` could take effect. With `MD_RDONLY` from the
//!    start, `md_update_sb` returns without writing, no resync or recovery thread
//!    starts, and writes to the array fail with EROFS. Degraded arrays start the same
//!    way: the kernel's own checks (raid5 `enough`, raid10 `enough`) agree with the
//!    plan's.
//!
//! One known write remains: for members with an internal write-intent bitmap
//! (`feature_map` bit 0), `do_md_run` → `md_bitmap_load` → `md_bitmap_update_sb`
//! rewrites the 256-byte bitmap superblock even on a read-only array. It writes back
//! the events and state it read, so the bytes only change when the bitmap was stale
//! or out of step with the array; the md superblock itself is never written.
//!
//! On a failure after step 2 the half-built array is torn down (`array_state` =
//! `clear`) so its members are not held open.

use std::fs;
use std::io::{self, ErrorKind};
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

use thiserror::Error;

use super::plan::{choose_kernel_name, ArrayPlan, MdMember};
use crate::devices::blockdev::BlockDevice;

/// A started array.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AssembledArray {
    /// The md name (1.x `set_name` without homehost), if any.
    pub name: Option<String>,
    pub uuid: String,
    /// `md127`.
    pub kernel_name: String,
    /// `/dev/md127`.
    pub dev_path: PathBuf,
    pub number: (u32, u32),
    /// `/dev/md/NAME`, when the array has a name usable as a file name.
    pub link: Option<PathBuf>,
}

#[derive(Debug, Error)]
pub(crate) enum AssembleError {
    #[error("md array {array}: cannot load kernel module {module}: {source}")]
    Module {
        array: String,
        module: String,
        #[source]
        source: ModuleLoadFailure,
    },
    #[error("md array {array}: no free md device number (md0 to md127 are all in use)")]
    NoFreeName { array: String },
    #[error("md array {array}: {step}: writing {value:?} to {path}{for_device} failed: {source}")]
    Sysfs {
        array: String,
        step: &'static str,
        path: PathBuf,
        value: String,
        /// ` for vda1` when the step concerns one member, else empty.
        for_device: String,
        #[source]
        source: io::Error,
    },
    #[error("md array {array} on {kernel_name}: cannot read {path}: {source}")]
    DeviceNumberRead {
        array: String,
        kernel_name: String,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("md array {array} on {kernel_name}: cannot read {path}: {reason}")]
    DeviceNumber {
        array: String,
        kernel_name: String,
        path: PathBuf,
        reason: String,
    },
    #[error("md array {array}: cannot create link {link}: {source}")]
    Link {
        array: String,
        link: PathBuf,
        #[source]
        source: io::Error,
    },
}

impl AssembleError {
    /// The errno of the failed system call, when there was one.
    #[cfg(test)]
    pub(crate) fn errno(&self) -> Option<i32> {
        match self {
            AssembleError::Sysfs { source, .. }
            | AssembleError::DeviceNumberRead { source, .. }
            | AssembleError::Link { source, .. } => source.raw_os_error(),
            _ => None,
        }
    }
}

/// The md members among `devices` (whose superblocks `blockdev` already read). Image
/// files, which have no device number, cannot be assembled and are left out.
pub(crate) fn find_members(devices: &[BlockDevice]) -> Vec<MdMember> {
    devices
        .iter()
        .filter_map(|device| {
            Some(MdMember {
                device: device.name.clone(),
                path: device.path.clone(),
                number: device.number?,
                superblock: device.md.clone()?,
            })
        })
        .collect()
}

/// One sysfs write. sysfs attributes take the whole value in a single write(2),
/// which `fs::write` does for these short strings.
fn write_attr(path: &Path, value: &str) -> io::Result<()> {
    fs::write(path, value)
}

/// Why the caller's module loader failed: its own error, kept whole (devices knows no
/// module loader).
pub(crate) type ModuleLoadFailure = Box<dyn std::error::Error + Send + Sync>;

/// Starts `plan` read-only. `load_module` loads a module by name (with its
/// dependencies); it is only called for modules not already in `sys_root/module`.
pub(crate) fn assemble(
    plan: &ArrayPlan,
    sys_root: &Path,
    dev_root: &Path,
    load_module: &mut dyn FnMut(&str) -> Result<(), ModuleLoadFailure>,
) -> Result<AssembledArray, AssembleError> {
    let array = plan.display_name();
    for module in ["md_mod", plan.level.module()] {
        if sys_root.join("module").join(module).exists() {
            continue;
        }
        load_module(module).map_err(|source| AssembleError::Module {
            array: array.clone(),
            module: module.to_owned(),
            source,
        })?;
    }

    let kernel_name = create_array(plan, &array, sys_root)?;
    match start_array(plan, &array, sys_root, &kernel_name) {
        Ok(()) => {}
        Err(error) => {
            // Best effort: the start error is the one worth reporting.
            let _ = stop(sys_root, &kernel_name);
            return Err(error);
        }
    }
    let number = read_device_number(&array, sys_root, &kernel_name)?;
    let dev_path = dev_root.join(&kernel_name);
    let link = match plan.name.as_deref().filter(|name| link_name_ok(name)) {
        Some(name) => Some(make_link(&array, dev_root, name, &kernel_name)?),
        None => None,
    };
    Ok(AssembledArray {
        name: plan.name.clone(),
        uuid: plan.uuid.clone(),
        kernel_name,
        dev_path,
        number,
        link,
    })
}

/// Step 2: a new, empty array. Retries with the next free number if another one
/// appeared in between (EEXIST/EBUSY from `add_named_array`).
fn create_array(plan: &ArrayPlan, array: &str, sys_root: &Path) -> Result<String, AssembleError> {
    let new_array = sys_root.join("module/md_mod/parameters/new_array");
    let mut refused: Vec<String> = Vec::new();
    loop {
        let taken = |name: &str| {
            refused.iter().any(|r| r == name) || sys_root.join("block").join(name).exists()
        };
        let kernel_name =
            choose_kernel_name(plan, &taken).ok_or_else(|| AssembleError::NoFreeName {
                array: array.to_owned(),
            })?;
        match write_attr(&new_array, &kernel_name) {
            Ok(()) => return Ok(kernel_name),
            Err(e) if matches!(e.raw_os_error(), Some(libc::EEXIST) | Some(libc::EBUSY)) => {
                refused.push(kernel_name);
            }
            Err(source) => {
                return Err(AssembleError::Sysfs {
                    array: array.to_owned(),
                    step: "creating the array",
                    path: new_array,
                    value: kernel_name,
                    for_device: String::new(),
                    source,
                })
            }
        }
    }
}

/// Steps 3 to 5.
fn start_array(
    plan: &ArrayPlan,
    array: &str,
    sys_root: &Path,
    kernel_name: &str,
) -> Result<(), AssembleError> {
    let md_dir = sys_root.join("block").join(kernel_name).join("md");
    let write = |step: &'static str, attr: &str, value: String, device: Option<&str>| {
        let path = md_dir.join(attr);
        write_attr(&path, &value).map_err(|source| AssembleError::Sysfs {
            array: array.to_owned(),
            step,
            path,
            value,
            for_device: device.map(|d| format!(" for {d}")).unwrap_or_default(),
            source,
        })
    };
    write(
        "setting the metadata version",
        "metadata_version",
        plan.version.as_str().to_owned(),
        None,
    )?;
    for member in &plan.members {
        let (major, minor) = member.number;
        write(
            "adding a member",
            "new_dev",
            format!("{major}:{minor}"),
            Some(&member.device),
        )?;
    }
    write(
        "starting read-only",
        "array_state",
        "readonly".to_owned(),
        None,
    )
}

fn read_device_number(
    array: &str,
    sys_root: &Path,
    kernel_name: &str,
) -> Result<(u32, u32), AssembleError> {
    let path = sys_root.join("block").join(kernel_name).join("dev");
    let error = |reason: String| AssembleError::DeviceNumber {
        array: array.to_owned(),
        kernel_name: kernel_name.to_owned(),
        path: path.clone(),
        reason,
    };
    let text = fs::read_to_string(&path).map_err(|source| AssembleError::DeviceNumberRead {
        array: array.to_owned(),
        kernel_name: kernel_name.to_owned(),
        path: path.clone(),
        source,
    })?;
    let (major, minor) = text
        .trim()
        .split_once(':')
        .ok_or_else(|| error(format!("{:?} is not MAJ:MIN", text.trim())))?;
    match (major.parse(), minor.parse()) {
        (Ok(major), Ok(minor)) => Ok((major, minor)),
        _ => Err(error(format!("{:?} is not MAJ:MIN", text.trim()))),
    }
}

/// A name that can be one file name under /dev/md.
fn link_name_ok(name: &str) -> bool {
    !name.is_empty() && name != "." && name != ".." && !name.contains('/')
}

/// `/dev/md/NAME` → `../mdN`, as mdadm and udev make it.
fn make_link(
    array: &str,
    dev_root: &Path,
    name: &str,
    kernel_name: &str,
) -> Result<PathBuf, AssembleError> {
    let dir = dev_root.join("md");
    let link = dir.join(name);
    let error = |source| AssembleError::Link {
        array: array.to_owned(),
        link: link.clone(),
        source,
    };
    fs::create_dir_all(&dir).map_err(error)?;
    match fs::remove_file(&link) {
        Ok(()) => {}
        Err(e) if e.kind() == ErrorKind::NotFound => {}
        Err(e) => return Err(error(e)),
    }
    symlink(Path::new("..").join(kernel_name), &link).map_err(error)?;
    Ok(link)
}

/// Stops an array and releases its members (`array_state` = `clear`).
pub(crate) fn stop(sys_root: &Path, kernel_name: &str) -> io::Result<()> {
    write_attr(
        &sys_root
            .join("block")
            .join(kernel_name)
            .join("md/array_state"),
        "clear",
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
