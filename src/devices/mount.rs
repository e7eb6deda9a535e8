//! Mounting, always read-only for the user's filesystems. Options that would let a
//! read-only mount still write (journal replay, log recovery) are turned off.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use sys_mount::{Mount, MountBuilder, MountFlags, UnmountFlags};

use super::probe::{FsInfo, FsType};

#[derive(Debug, thiserror::Error)]
pub(crate) enum MountError {
    #[error("cannot create mount point {path}: {source}")]
    MountPoint {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("mount {device} on {target} as {fstype} ({options}) failed: {source}")]
    Mount {
        device: PathBuf,
        target: PathBuf,
        fstype: String,
        options: String,
        #[source]
        source: io::Error,
    },
    #[error("{device} has no filesystem kboot recognises and no rootfstype= was given")]
    UnknownType { device: PathBuf },
    #[error("{device} is {fstype}, which cannot be mounted")]
    NotMountable { device: PathBuf, fstype: String },
}

/// The mount options that keep a read-only mount from writing: ext3/4 replays a dirty
/// journal even read-only unless told `noload`; XFS replays its log unless `norecovery`.
pub(crate) fn safety_options(fs_type: FsType, info: Option<&FsInfo>) -> Option<&'static str> {
    match fs_type {
        FsType::Ext3 | FsType::Ext4 if info.is_some_and(|i| i.needs_recovery) => Some("noload"),
        FsType::Xfs => Some("norecovery"),
        _ => None,
    }
}

/// Whether a mount would have to skip a journal replay or log recovery to stay
/// read-only: then kboot replays it into a RAM snapshot instead. XFS always, as only
/// reading its log tells whether it is dirty.
pub(crate) fn replays_journal(fs_type: Option<FsType>, info: Option<&FsInfo>) -> bool {
    fs_type.is_some_and(|t| safety_options(t, info).is_some())
}

/// The type name the kernel's mount(2) wants for a filesystem.
pub(crate) fn kernel_fs_name(fs_type: FsType) -> &'static str {
    match fs_type {
        // ext4 mounts ext2 and ext3 as well, and is the one built into most kernels.
        FsType::Ext2 | FsType::Ext3 | FsType::Ext4 => "ext4",
        other => other.name(),
    }
}

/// The module that provides a filesystem type, for loading on demand.
pub(crate) fn module_for(fstype: &str) -> &str {
    match fstype {
        "ext2" | "ext3" => "ext4",
        "iso9660" => "isofs",
        other => other,
    }
}

/// Joins the safety option and the user's flags (`rootflags=`) into one data string.
pub(crate) fn options(
    fs_type: Option<FsType>,
    info: Option<&FsInfo>,
    user: Option<&str>,
) -> String {
    let safety = fs_type.and_then(|t| safety_options(t, info));
    [safety, user.filter(|u| !u.is_empty())]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(",")
}

/// Creates the mount point `target` and a mount of `fstype` with `flags` and the
/// `data` options (none when empty).
fn prepare_mount<'a>(
    target: &Path,
    fstype: &'a str,
    flags: MountFlags,
    data: &'a str,
) -> Result<MountBuilder<'a>, MountError> {
    fs::create_dir_all(target).map_err(|source| MountError::MountPoint {
        path: target.to_path_buf(),
        source,
    })?;
    let builder = Mount::builder().fstype(fstype).flags(flags);
    Ok(if data.is_empty() {
        builder
    } else {
        builder.data(data)
    })
}

/// Mounts `device` read-only at `target` as `fstype` with `data` options.
pub(crate) fn mount_readonly(
    device: &Path,
    target: &Path,
    fstype: &str,
    data: &str,
) -> Result<(), MountError> {
    let builder = prepare_mount(target, fstype, MountFlags::RDONLY, data)?;
    builder
        .mount(device, target)
        .map(drop)
        .map_err(|source| MountError::Mount {
            device: device.to_path_buf(),
            target: target.to_path_buf(),
            fstype: fstype.to_string(),
            options: if data.is_empty() {
                "ro".into()
            } else {
                format!("ro,{data}")
            },
            source,
        })
}

/// Unmounts `target` if something is mounted there; errors other than "not mounted"
/// are returned.
pub(crate) fn unmount(target: &Path) -> io::Result<()> {
    match sys_mount::unmount(target, UnmountFlags::empty()) {
        Err(e)
            if e.raw_os_error() == Some(libc::EINVAL) || e.raw_os_error() == Some(libc::ENOENT) =>
        {
            Ok(())
        }
        other => other,
    }
}

/// Mounts a kernel filesystem (proc, sysfs, devtmpfs, tmpfs) at `target`, creating it.
/// Already mounted counts as success.
pub(crate) fn mount_kernel_fs(
    fstype: &str,
    target: &Path,
    flags: MountFlags,
    data: &str,
) -> Result<(), MountError> {
    let builder = prepare_mount(target, fstype, flags, data)?;
    match builder.mount(fstype, target) {
        Ok(_) => Ok(()),
        Err(e) if e.raw_os_error() == Some(libc::EBUSY) => Ok(()),
        Err(source) => Err(MountError::Mount {
            device: PathBuf::from(fstype),
            target: target.to_path_buf(),
            fstype: fstype.to_string(),
            options: data.to_string(),
            source,
        }),
    }
}

#[cfg(test)]
mod tests;
