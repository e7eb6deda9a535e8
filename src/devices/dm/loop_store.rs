//! The RAM store for snapshots: a loop device over a sparse memfd. RAM is taken only
//! as chunks are written, the size is chosen per device (a `brd` ramdisk's is fixed
//! when its module loads, and `zram` needs its own module and setup), and closing the
//! memfd after detaching frees it all. Needs the `loop` driver (a module in Debian's
//! kernels, loaded by the caller). The ioctls are from `include/uapi/linux/loop.h`.

use std::ffi::CStr;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use nix::sys::memfd::{memfd_create, MemFdCreateFlag};
use nix::sys::stat::{major, makedev, minor, mknod, Mode, SFlag};

use super::snapshot::{RamStores, SnapshotError};
use crate::devices::lvm::table::DevNumber;

const LOOP_SET_FD: libc::c_ulong = 0x4C00;
const LOOP_CLR_FD: libc::c_ulong = 0x4C01;
const LOOP_CTL_GET_FREE: libc::c_ulong = 0x4C82;
/// `LOOP_MAJOR`, for nodes devtmpfs did not make.
const LOOP_MAJOR: u32 = 7;
/// The misc number of `/dev/loop-control` (`LOOP_CTRL_MINOR`).
const LOOP_CONTROL_NUMBER: DevNumber = DevNumber {
    major: 10,
    minor: 237,
};
/// How often a free loop device is asked for when another user takes it first.
const ATTACH_TRIES: usize = 3;

/// One attached loop device and the memfd behind it.
#[derive(Debug)]
pub(crate) struct LoopStore {
    path: PathBuf,
    device: File,
    // Kept open until the loop is detached; dropping it then frees the RAM.
    _memory: File,
}

/// Makes loop devices under `dev_root`, reading numbers from `sys_root`.
pub(crate) struct LoopStores {
    pub dev_root: PathBuf,
    pub sys_root: PathBuf,
}

/// One `ioctl(2)` with an integer argument, as all loop ioctls kboot uses take.
fn ioctl_int(file: &File, request: libc::c_ulong, arg: libc::c_long) -> io::Result<libc::c_int> {
    // SAFETY: the fd is open for the duration of the call; LOOP_CTL_GET_FREE,
    // LOOP_SET_FD and LOOP_CLR_FD take an integer (or ignore it) and write no memory.
    let rc = unsafe { libc::ioctl(file.as_raw_fd(), request as libc::Ioctl, arg) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(rc)
}

/// Makes a character or block node `path` for `number` unless one exists.
fn ensure_node(path: &Path, kind: SFlag, number: DevNumber) -> io::Result<()> {
    if path.exists() {
        return Ok(());
    }
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir)?;
    }
    mknod(
        path,
        kind,
        Mode::from_bits_truncate(0o600),
        makedev(u64::from(number.major), u64::from(number.minor)),
    )
    .map_err(io::Error::from)
}

fn sysfs_number(path: &Path) -> Option<DevNumber> {
    fs::read_to_string(path).ok()?.trim().parse().ok()
}

fn open_rw(path: &Path) -> io::Result<File> {
    OpenOptions::new().read(true).write(true).open(path)
}

impl LoopStores {
    fn loop_error(what: &'static str, path: &Path) -> impl FnOnce(io::Error) -> SnapshotError {
        let path = path.to_path_buf();
        move |source| SnapshotError::Loop { what, path, source }
    }

    /// `/dev/loopN` for a free N, opened.
    fn free_device(&self, control: &File) -> Result<(PathBuf, File), SnapshotError> {
        let control_path = self.dev_root.join("loop-control");
        let index = ioctl_int(control, LOOP_CTL_GET_FREE, 0)
            .map_err(Self::loop_error("LOOP_CTL_GET_FREE", &control_path))?;
        let path = self.dev_root.join(format!("loop{index}"));
        let number = sysfs_number(&self.sys_root.join(format!("block/loop{index}/dev"))).unwrap_or(
            DevNumber {
                major: LOOP_MAJOR,
                minor: index.unsigned_abs(),
            },
        );
        ensure_node(&path, SFlag::S_IFBLK, number)
            .map_err(Self::loop_error("creating the node", &path))?;
        let device = open_rw(&path).map_err(Self::loop_error("opening", &path))?;
        Ok((path, device))
    }
}

impl RamStores for LoopStores {
    type Store = LoopStore;

    fn create(&mut self, size_bytes: u64) -> Result<(LoopStore, DevNumber), SnapshotError> {
        const NAME: &CStr = c"kboot-replay";
        let memory = File::from(
            memfd_create(NAME, MemFdCreateFlag::MFD_CLOEXEC).map_err(|e| SnapshotError::Memfd {
                source: io::Error::from(e),
            })?,
        );
        // Sparse: the pages exist only once the snapshot writes them.
        memory
            .set_len(size_bytes)
            .map_err(|source| SnapshotError::Memfd { source })?;
        let control_path = self.dev_root.join("loop-control");
        let number = sysfs_number(&self.sys_root.join("class/misc/loop-control/dev"))
            .unwrap_or(LOOP_CONTROL_NUMBER);
        ensure_node(&control_path, SFlag::S_IFCHR, number)
            .map_err(Self::loop_error("creating the node", &control_path))?;
        let control = open_rw(&control_path).map_err(Self::loop_error("opening", &control_path))?;
        let mut last = None;
        for _ in 0..ATTACH_TRIES {
            let (path, device) = self.free_device(&control)?;
            match ioctl_int(&device, LOOP_SET_FD, libc::c_long::from(memory.as_raw_fd())) {
                Ok(_) => {
                    let rdev = device.metadata().map_err(Self::loop_error("stat", &path))?;
                    if !rdev.file_type().is_block_device() {
                        return Err(Self::loop_error("checking the node", &path)(
                            io::Error::from_raw_os_error(libc::ENOTBLK),
                        ));
                    }
                    let number = DevNumber {
                        major: major(rdev.rdev()) as u32,
                        minor: minor(rdev.rdev()) as u32,
                    };
                    let store = LoopStore {
                        path,
                        device,
                        _memory: memory,
                    };
                    return Ok((store, number));
                }
                // Someone else attached it between GET_FREE and SET_FD: ask again.
                Err(e) if e.raw_os_error() == Some(libc::EBUSY) => {
                    last = Some(Self::loop_error("LOOP_SET_FD", &path)(e));
                }
                Err(e) => return Err(Self::loop_error("LOOP_SET_FD", &path)(e)),
            }
        }
        Err(last.unwrap_or_else(|| {
            Self::loop_error("LOOP_SET_FD", &control_path)(io::Error::from_raw_os_error(
                libc::EBUSY,
            ))
        }))
    }

    fn destroy(&mut self, store: LoopStore) -> Result<(), SnapshotError> {
        ioctl_int(&store.device, LOOP_CLR_FD, 0)
            .map(drop)
            .map_err(Self::loop_error("LOOP_CLR_FD", &store.path))
    }
}
