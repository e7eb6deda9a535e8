//! The first things PID 1 does: the kernel filesystems and a console on fds 0-2.

use std::fs::OpenOptions;
use std::os::fd::AsRawFd;
use std::path::Path;

use sys_mount::MountFlags;

use crate::devices::mount::{mount_kernel_fs, MountError};

/// Mounts /proc, /sys, /dev (devtmpfs) and /run. Returns the failures; the boot goes
/// on without what failed, and the caller reports it.
pub(crate) fn mount_kernel_filesystems() -> Vec<MountError> {
    let nosuid_nodev_noexec = MountFlags::NOSUID | MountFlags::NODEV | MountFlags::NOEXEC;
    [
        ("proc", "/proc", nosuid_nodev_noexec, ""),
        ("sysfs", "/sys", nosuid_nodev_noexec, ""),
        ("devtmpfs", "/dev", MountFlags::NOSUID, "mode=0755"),
        (
            "tmpfs",
            "/run",
            MountFlags::NOSUID | MountFlags::NODEV,
            "mode=0755",
        ),
    ]
    .into_iter()
    .filter_map(|(fstype, target, flags, data)| {
        mount_kernel_fs(fstype, Path::new(target), flags, data).err()
    })
    .collect()
}

/// Makes sure stdin, stdout and stderr are the console. The kernel opens
/// /dev/console for init when the initramfs has the node; if it did not, fds 0-2
/// are closed and every message would be lost.
pub(crate) fn attach_console() {
    let missing = (0..3).any(|fd| nix::fcntl::fcntl(fd, nix::fcntl::FcntlArg::F_GETFD).is_err());
    if !missing {
        return;
    }
    if let Ok(console) = OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/console")
    {
        for fd in 0..3 {
            let _ = nix::unistd::dup2(console.as_raw_fd(), fd);
        }
        // fds 0-2 now hold the console; the original descriptor may close.
    }
}
