//! The one place the companion makes hypercalls: `IOCTL_PRIVCMD_HYPERCALL` on
//! `/dev/xen/privcmd` (Linux `include/uapi/xen/privcmd.h`: `struct privcmd_hypercall
//! { __u64 op; __u64 arg[5]; }`, `_IOC(_IOC_NONE, 'P', 0, 48)` = 0x305000), with the
//! argument structure copied into a page from `/dev/xen/hypercall` (Linux 4.18+,
//! `drivers/xen/privcmd-buf.c`: kernel pages that never fault or move, which Xen
//! needs when it copies from a PVH dom0's memory). Without that device, as
//! libxencall does, an anonymous page locked in memory and kept out of children.
#![allow(unsafe_code)]

use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::AsRawFd;
use std::path::Path;

/// Where the hypercall device lives.
pub(crate) const PRIVCMD_PATH: &str = "/dev/xen/privcmd";
const HYPERCALL_BUFFER_PATH: &str = "/dev/xen/hypercall";
/// `IOCTL_PRIVCMD_HYPERCALL`: `_IOC(_IOC_NONE, 'P', 0, sizeof(struct privcmd_hypercall))`.
const IOCTL_PRIVCMD_HYPERCALL: u32 = (48 << 16) | ((b'P' as u32) << 8);
/// One page holds every argument structure kboot sends (the largest, `struct
/// xen_domctl`, is 144 bytes).
const BUFFER_BYTES: usize = 4096;

/// `struct privcmd_hypercall`.
#[repr(C)]
struct PrivcmdHypercall {
    op: u64,
    arg: [u64; 5],
}

/// `privcmd_hypercall.arg`: the command first when there is one, then the buffer's
/// address.
pub(crate) fn hypercall_args(cmd: Option<u64>, buffer_addr: Option<u64>) -> [u64; 5] {
    let mut args = [0u64; 5];
    let mut next = 0;
    if let Some(cmd) = cmd {
        args[0] = cmd;
        next = 1;
    }
    if let Some(addr) = buffer_addr {
        args[next] = addr;
    }
    args
}

/// A page the hypervisor may read and write during a hypercall.
struct HypercallBuffer {
    ptr: *mut u8,
    /// Kept open while the mapping lives (the device frees the pages on close).
    _device: Option<File>,
}

impl HypercallBuffer {
    fn new() -> io::Result<HypercallBuffer> {
        match OpenOptions::new()
            .read(true)
            .write(true)
            .open(HYPERCALL_BUFFER_PATH)
        {
            Ok(device) => {
                // SAFETY: a fresh shared mapping of BUFFER_BYTES of the device the
                // kernel made for hypercall buffers; no existing memory is touched.
                let ptr = unsafe {
                    libc::mmap(
                        std::ptr::null_mut(),
                        BUFFER_BYTES,
                        libc::PROT_READ | libc::PROT_WRITE,
                        libc::MAP_SHARED,
                        device.as_raw_fd(),
                        0,
                    )
                };
                if ptr == libc::MAP_FAILED {
                    return Err(io::Error::last_os_error());
                }
                Ok(HypercallBuffer {
                    ptr: ptr.cast(),
                    _device: Some(device),
                })
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Self::locked_anonymous(),
            Err(e) => Err(e),
        }
    }

    /// The fallback for kernels before 4.18: locked, not inherited by children (a
    /// copy-on-write fault in the middle of a hypercall would fail it).
    fn locked_anonymous() -> io::Result<HypercallBuffer> {
        // SAFETY: a fresh private anonymous mapping; no existing memory is touched.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                BUFFER_BYTES,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_LOCKED,
                -1,
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `ptr` is the BUFFER_BYTES mapping made just above.
        let rc = unsafe { libc::madvise(ptr, BUFFER_BYTES, libc::MADV_DONTFORK) };
        if rc < 0 {
            let e = io::Error::last_os_error();
            // SAFETY: unmapping the mapping made above, which nothing else refers to.
            unsafe { libc::munmap(ptr, BUFFER_BYTES) };
            return Err(e);
        }
        Ok(HypercallBuffer {
            ptr: ptr.cast(),
            _device: None,
        })
    }

    fn bytes(&mut self) -> &mut [u8] {
        // SAFETY: `ptr` is a live, writable BUFFER_BYTES mapping owned by `self`
        // until drop; the borrow of `self` keeps it unique.
        unsafe { std::slice::from_raw_parts_mut(self.ptr, BUFFER_BYTES) }
    }
}

impl Drop for HypercallBuffer {
    fn drop(&mut self) {
        // SAFETY: the mapping made in `new`, unmapped once; no slice of it outlives
        // the `&mut self` borrows of `bytes`.
        unsafe { libc::munmap(self.ptr.cast(), BUFFER_BYTES) };
    }
}

/// `/dev/xen/privcmd` and a hypercall buffer.
pub(crate) struct Privcmd {
    device: File,
    buffer: HypercallBuffer,
}

impl Privcmd {
    /// Opens the device; the error is the one `open(2)` or `mmap(2)` gave, with the
    /// path it was about.
    pub(crate) fn open() -> Result<Privcmd, (&'static Path, io::Error)> {
        let device = OpenOptions::new()
            .read(true)
            .write(true)
            .open(PRIVCMD_PATH)
            .map_err(|e| (Path::new(PRIVCMD_PATH), e))?;
        let buffer = HypercallBuffer::new().map_err(|e| (Path::new(HYPERCALL_BUFFER_PATH), e))?;
        Ok(Privcmd { device, buffer })
    }

    /// Hypercall `op`. Its arguments: `cmd` when given, then a pointer to a copy of
    /// `arg` when given — `domctl(struct xen_domctl *)` takes the pointer alone,
    /// `event_channel_op(cmd, void *)`, `hvm_op(op, void *)` and `xen_version(cmd,
    /// void *)` the command first. Xen's changes to the copy come back into `arg`.
    /// Returns the hypercall's non-negative result; a negative one is the errno
    /// (Xen's errno values are Linux's for everything kboot can meet).
    pub(crate) fn hypercall(
        &mut self,
        op: u64,
        cmd: Option<u64>,
        arg: Option<&mut [u8]>,
    ) -> io::Result<i64> {
        let len = arg.as_ref().map_or(0, |a| a.len());
        if len > BUFFER_BYTES {
            return Err(io::Error::from_raw_os_error(libc::E2BIG));
        }
        let mut buffer_addr = None;
        if let Some(arg) = arg.as_deref() {
            let page = self.buffer.bytes();
            page[..len].copy_from_slice(arg);
            buffer_addr = Some(page.as_ptr() as u64);
        }
        let mut call = PrivcmdHypercall {
            op,
            arg: hypercall_args(cmd, buffer_addr),
        };
        // SAFETY: the fd is open for the life of `self`; `call` is a live `struct
        // privcmd_hypercall`; its pointer argument, when set, is the buffer page,
        // which stays mapped and holds the whole argument structure.
        let rc = unsafe {
            libc::ioctl(
                self.device.as_raw_fd(),
                IOCTL_PRIVCMD_HYPERCALL as libc::Ioctl,
                &mut call as *mut PrivcmdHypercall,
            )
        };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        if let Some(arg) = arg {
            arg.copy_from_slice(&self.buffer.bytes()[..len]);
        }
        Ok(i64::from(rc))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
