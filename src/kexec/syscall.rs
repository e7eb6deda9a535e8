//! The one place kboot asks the kernel to load and start another kernel. Nothing else
//! in the crate makes these calls. The two load calls sit behind the [`KexecSyscalls`]
//! trait ([`LiveKexec`] makes them), so `kexec::load`'s `auto` order can be tested
//! with a recording backend (as `devices::dm` has `DmControl`).
#![allow(unsafe_code)]

use crate::untrusted;
use std::ffi::CString;
use std::fs::File;
use std::io::{self, Seek, SeekFrom};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

/// `kexec_file_load` flag: unload the loaded kernel.
const KEXEC_FILE_UNLOAD: libc::c_ulong = 1;
/// `kexec_file_load` flag: boot without an initramfs.
const KEXEC_FILE_NO_INITRAMFS: libc::c_ulong = 4;

#[derive(Debug, thiserror::Error)]
pub(crate) enum SyscallError {
    #[error("cannot open {path}: {source}")]
    Open {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot join the ramdisks into one: {source}")]
    JoinInitrds {
        #[source]
        source: io::Error,
    },
    #[error("command line has a NUL byte")]
    NulInCmdline,
    #[error("kexec_file_load(kernel {kernel}, initrd {}, {cmdline_len}-byte cmdline) failed: {source}{hint}", shown_initrds(initrds))]
    FileLoad {
        kernel: PathBuf,
        initrds: Vec<PathBuf>,
        cmdline_len: usize,
        #[source]
        source: io::Error,
        hint: &'static str,
    },
    #[error("kexec_load(entry {entry:#x}, {} segments [{}]) failed: {source}{hint}", segments.len(), segments.iter().map(|(mem, memsz)| format!("{mem:#x}+{memsz:#x}")).collect::<Vec<_>>().join(" "))]
    Load {
        entry: u64,
        /// (mem, memsz) of each segment.
        segments: Vec<(u64, u64)>,
        #[source]
        source: io::Error,
        hint: &'static str,
    },
    #[error("cannot unload the loaded kernel: {0}")]
    Unload(#[source] io::Error),
    #[error("reboot(2) returned: {0}")]
    Reboot(#[source] io::Error),
}

/// The ramdisks as a `FileLoad` error names them: comma-separated, or `none`.
fn shown_initrds(initrds: &[PathBuf]) -> String {
    if initrds.is_empty() {
        return "none".to_string();
    }
    initrds
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(",")
}

fn hint_for(err: &io::Error) -> &'static str {
    match err.raw_os_error() {
        Some(libc::EPERM) => {
            " (kexec is disabled: kernel.kexec_load_disabled, lockdown, or not root)"
        }
        Some(libc::ENOSYS) => " (this kernel was built without CONFIG_KEXEC_FILE)",
        Some(libc::ENOEXEC) => " (the kernel does not accept this image format)",
        Some(libc::EKEYREJECTED) | Some(libc::EBADMSG) => {
            " (signature check failed: the running kernel requires signed kernels)"
        }
        Some(libc::ENOMEM) | Some(libc::EADDRNOTAVAIL) => {
            " (no room for the image: try a smaller ramdisk)"
        }
        _ => "",
    }
}

/// The calls that load a kernel. [`LiveKexec`] makes them; the tests of
/// `kexec::load` record them instead.
pub(crate) trait KexecSyscalls {
    /// `kexec_load(2)`: segments laid out by kboot's own image builder.
    fn kexec_load(&mut self, entry: u64, segments: &[LoadSegment<'_>]) -> Result<(), SyscallError>;
    /// `kexec_file_load(2)`: the running kernel reads the files and lays them out.
    fn kexec_file_load(
        &mut self,
        kernel: &Path,
        initrds: &[PathBuf],
        cmdline: &str,
    ) -> Result<(), SyscallError>;
}

/// The running kernel's kexec syscalls.
pub(crate) struct LiveKexec;

impl KexecSyscalls for LiveKexec {
    fn kexec_load(&mut self, entry: u64, segments: &[LoadSegment<'_>]) -> Result<(), SyscallError> {
        kexec_load(entry, segments)
    }

    fn kexec_file_load(
        &mut self,
        kernel: &Path,
        initrds: &[PathBuf],
        cmdline: &str,
    ) -> Result<(), SyscallError> {
        file_load(kernel, initrds, cmdline)
    }
}

impl SyscallError {
    /// A refused `kexec_file_load`, with its arguments and a hint for the errno.
    pub(crate) fn file_load_failed(
        kernel: &Path,
        initrds: &[PathBuf],
        cmdline_len: usize,
        source: io::Error,
    ) -> SyscallError {
        SyscallError::FileLoad {
            kernel: kernel.to_path_buf(),
            initrds: initrds.to_vec(),
            cmdline_len,
            hint: hint_for(&source),
            source,
        }
    }

    /// A refused `kexec_load`, with its entry, segments and a hint for the errno.
    pub(crate) fn load_failed(
        entry: u64,
        segments: &[LoadSegment<'_>],
        source: io::Error,
    ) -> SyscallError {
        SyscallError::Load {
            entry,
            segments: segments.iter().map(|s| (s.mem, s.memsz)).collect(),
            hint: load_hint_for(&source),
            source,
        }
    }
}

/// Opens a kernel or ramdisk for the kernel to read: a regular file (a FIFO would
/// block, and the kernel refuses anything else) within `limit`.
fn open(path: &Path, limit: untrusted::Limit) -> Result<File, SyscallError> {
    untrusted::open_within(path, limit).map_err(|source| SyscallError::Open {
        path: path.to_path_buf(),
        source,
    })
}

/// The one file `kexec_file_load` takes as initramfs: the ramdisk itself, or for
/// several, their concatenation in memory, each padded to 4 bytes as GRUB does (the
/// kernel unpacks concatenated archives, compressed or not).
fn initrd_file(initrds: &[PathBuf]) -> Result<Option<File>, SyscallError> {
    let [first, rest @ ..] = initrds else {
        return Ok(None);
    };
    if rest.is_empty() {
        return open(first, untrusted::RAMDISKS).map(Some);
    }
    let joined = |source| SyscallError::JoinInitrds { source };
    let fd = nix::sys::memfd::memfd_create(
        c"kboot-initrd",
        nix::sys::memfd::MemFdCreateFlag::MFD_CLOEXEC,
    )
    .map_err(|errno| joined(io::Error::from(errno)))?;
    let mut joined_file = File::from(fd);
    let mut joined_bytes = 0;
    for path in initrds {
        joined_bytes += super::files::append_ramdisk_file(&mut joined_file, path, joined_bytes)
            .map_err(|source| SyscallError::Open {
                path: path.clone(),
                source,
            })?;
    }
    joined_file.seek(SeekFrom::Start(0)).map_err(joined)?;
    Ok(Some(joined_file))
}

/// `kexec_file_load(2)`: the running kernel parses the image and lays it out.
fn file_load(kernel: &Path, initrds: &[PathBuf], cmdline: &str) -> Result<(), SyscallError> {
    let kernel_file = open(kernel, untrusted::KERNEL)?;
    let initrd_file = initrd_file(initrds)?;
    let c_cmdline = CString::new(cmdline).map_err(|_| SyscallError::NulInCmdline)?;
    let cmdline_len = c_cmdline.as_bytes_with_nul().len();
    let (initrd_fd, flags) = match &initrd_file {
        Some(f) => (f.as_raw_fd(), 0),
        None => (-1, KEXEC_FILE_NO_INITRAMFS),
    };
    // SAFETY: the fds are open for the duration of the call (the Files live until the
    // end of this function), and the command line pointer/length describe a live,
    // NUL-terminated buffer; the kernel only reads from them.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_kexec_file_load,
            kernel_file.as_raw_fd(),
            initrd_fd,
            cmdline_len as libc::c_ulong,
            c_cmdline.as_ptr(),
            flags,
        )
    };
    if rc != 0 {
        let source = io::Error::last_os_error();
        return Err(SyscallError::file_load_failed(
            kernel,
            initrds,
            cmdline_len,
            source,
        ));
    }
    Ok(())
}

/// `kexec_load` flags: the target architecture in the high 16 bits.
const KEXEC_ARCH_X86_64: libc::c_ulong = 62 << 16;

/// `struct kexec_segment` (include/uapi/linux/kexec.h).
#[repr(C)]
struct KexecSegment {
    buf: *const libc::c_void,
    bufsz: libc::size_t,
    mem: libc::c_ulong,
    memsz: libc::size_t,
}

/// One segment as `kexec_load` takes it: bytes to copy to `mem`, zero-filled to `memsz`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LoadSegment<'a> {
    pub buf: &'a [u8],
    pub mem: u64,
    pub memsz: u64,
}

/// `errno`s after which `kexec_file_load` is worth retrying as `kexec_load`
/// (kexec-tools' list: no syscall, a format the kernel's own loader does not take,
/// bad arguments; EPERM too, since a `kexec_file_load`-only policy such as an IMA
/// rule can refuse one and not the other).
pub(crate) fn file_load_refusal_allows_load(err: &SyscallError) -> bool {
    match err {
        SyscallError::FileLoad { source, .. } => matches!(
            source.raw_os_error(),
            Some(
                libc::ENOSYS
                    | libc::ENOEXEC
                    | libc::EINVAL
                    | libc::EOPNOTSUPP
                    | libc::EKEYREJECTED
                    | libc::EPERM
            )
        ),
        _ => false,
    }
}

/// `errno`s after which `kexec_load` is worth retrying as `kexec_file_load`: no
/// syscall (a kernel without CONFIG_KEXEC), or not allowed (lockdown, Secure Boot,
/// kernel.kexec_load_disabled applies to both, so that one fails again, named).
pub(crate) fn load_refusal_allows_file_load(err: &SyscallError) -> bool {
    match err {
        SyscallError::Load { source, .. } => {
            matches!(source.raw_os_error(), Some(libc::ENOSYS | libc::EPERM))
        }
        _ => false,
    }
}

/// `kexec_load(2)`: loads segments laid out by kboot's own image builder; the kernel
/// copies them into place at reboot and jumps to `entry` (the purgatory).
fn kexec_load(entry: u64, segments: &[LoadSegment<'_>]) -> Result<(), SyscallError> {
    let raw: Vec<KexecSegment> = segments
        .iter()
        .map(|s| KexecSegment {
            buf: s.buf.as_ptr().cast(),
            bufsz: s.buf.len(),
            mem: s.mem as libc::c_ulong,
            memsz: s.memsz as libc::size_t,
        })
        .collect();
    // SAFETY: `raw` holds `raw.len()` valid `kexec_segment`s whose `buf`/`bufsz` describe
    // slices borrowed for the duration of this call; the kernel only reads them (and
    // copies the data) before returning. Addresses in `mem` are physical and checked by
    // the kernel, not dereferenced here.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_kexec_load,
            entry as libc::c_ulong,
            raw.len() as libc::c_ulong,
            raw.as_ptr(),
            KEXEC_ARCH_X86_64,
        )
    };
    if rc != 0 {
        let source = io::Error::last_os_error();
        return Err(SyscallError::load_failed(entry, segments, source));
    }
    Ok(())
}

/// Unloads whatever is loaded (kexec-tools' `kexec -u`): `kexec_load` with no
/// segments, or `kexec_file_load` with `KEXEC_FILE_UNLOAD` where only that is built in.
pub(crate) fn unload() -> Result<(), SyscallError> {
    // SAFETY: no segments: the pointer is null with a count of zero, which the kernel
    // takes as "unload"; nothing is read or written through it.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_kexec_load,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
            std::ptr::null::<KexecSegment>(),
            KEXEC_ARCH_X86_64,
        )
    };
    if rc == 0 {
        return Ok(());
    }
    let first = io::Error::last_os_error();
    if first.raw_os_error() != Some(libc::ENOSYS) {
        return Err(SyscallError::Unload(first));
    }
    // SAFETY: with KEXEC_FILE_UNLOAD the kernel ignores the fds and the (null, zero
    // length) command line.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_kexec_file_load,
            -1 as libc::c_int,
            -1 as libc::c_int,
            0 as libc::c_ulong,
            std::ptr::null::<libc::c_char>(),
            KEXEC_FILE_UNLOAD,
        )
    };
    if rc != 0 {
        return Err(SyscallError::Unload(io::Error::last_os_error()));
    }
    Ok(())
}

fn load_hint_for(err: &io::Error) -> &'static str {
    match err.raw_os_error() {
        Some(libc::EPERM) => {
            " (kexec_load is refused: kernel.kexec_load_disabled, lockdown, or not root)"
        }
        Some(libc::ENOSYS) => " (this kernel was built without CONFIG_KEXEC)",
        Some(libc::EADDRNOTAVAIL) => {
            " (a segment is not page aligned or beyond the kernel's limit)"
        }
        Some(libc::EINVAL) => " (segments overlap, or one is larger than half of RAM)",
        Some(libc::ENOMEM) | Some(libc::EBUSY) => {
            " (a segment is outside usable RAM or memory is short)"
        }
        _ => "",
    }
}

/// Starts the loaded kernel. Returns only on failure.
pub(crate) fn reboot_into_loaded() -> SyscallError {
    match nix::sys::reboot::reboot(nix::sys::reboot::RebootMode::RB_KEXEC) {
        Ok(never) => match never {},
        Err(errno) => SyscallError::Reboot(io::Error::from(errno)),
    }
}

/// Restarts the machine through the firmware. Returns only on failure.
pub(crate) fn restart() -> SyscallError {
    nix::unistd::sync();
    match nix::sys::reboot::reboot(nix::sys::reboot::RebootMode::RB_AUTOBOOT) {
        Ok(never) => match never {},
        Err(errno) => SyscallError::Reboot(io::Error::from(errno)),
    }
}

/// Powers the machine off. Returns only on failure.
pub(crate) fn power_off() -> SyscallError {
    nix::unistd::sync();
    match nix::sys::reboot::reboot(nix::sys::reboot::RebootMode::RB_POWER_OFF) {
        Ok(never) => match never {},
        Err(errno) => SyscallError::Reboot(io::Error::from(errno)),
    }
}
