//! Turning a boot entry into a running kernel. Everything here but `syscall` is
//! pure: it checks the image and plans the load; `syscall` alone talks to the kernel.

pub mod bzimage;
pub mod syscall;

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

pub use bzimage::{BzImageError, SetupHeader};

#[derive(Debug, thiserror::Error)]
pub enum KexecError {
    #[error("cannot read kernel {path}: {source}")]
    ReadKernel {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{source}")]
    BadKernel {
        path: PathBuf,
        #[source]
        source: BzImageError,
    },
    #[error(transparent)]
    Syscall(#[from] syscall::SyscallError),
    #[error("kboot.kexec=load (kboot's own image builder) is not available yet: use kboot.kexec=file or auto")]
    LoadNotAvailable,
}

/// Everything needed to boot: the files and the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KexecPlan {
    pub kernel: PathBuf,
    /// Loaded one after the other as a single initramfs (the kernel unpacks
    /// concatenated archives), as BLS and grub entries with several `initrd`s want.
    pub ramdisks: Vec<PathBuf>,
    pub cmdline: String,
}

/// Reads the kernel's boot header and checks that the file is whole, so a truncated or
/// foreign file is named before the kernel gives a bare errno.
pub fn check_kernel(path: &Path) -> Result<SetupHeader, KexecError> {
    let read_err = |source| KexecError::ReadKernel {
        path: path.to_path_buf(),
        source,
    };
    let mut file = File::open(path).map_err(read_err)?;
    let file_len = file.metadata().map_err(read_err)?.len();
    let mut head = Vec::with_capacity(bzimage::HEADER_BYTES);
    file.by_ref()
        .take(bzimage::HEADER_BYTES as u64)
        .read_to_end(&mut head)
        .map_err(read_err)?;
    bzimage::parse_header(&head, file_len).map_err(|source| KexecError::BadKernel {
        path: path.to_path_buf(),
        source,
    })
}

/// How to ask the kernel to load the target (`kboot.kexec=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KexecMethod {
    /// `kexec_file_load` first, `kexec_load` if the kernel refuses it.
    #[default]
    Auto,
    /// Only `kexec_file_load`.
    File,
    /// Only `kexec_load` (kboot's own image builder).
    Load,
}

/// Loads the plan into the kernel. On success `syscall::reboot_into_loaded` starts it.
pub fn load(plan: &KexecPlan, method: KexecMethod) -> Result<(), KexecError> {
    match method {
        KexecMethod::Auto | KexecMethod::File => {
            syscall::file_load(&plan.kernel, &plan.ramdisks, &plan.cmdline)?;
            Ok(())
        }
        KexecMethod::Load => Err(KexecError::LoadNotAvailable),
    }
}
