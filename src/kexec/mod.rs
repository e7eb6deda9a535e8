//! Turning a boot entry into a running kernel. Two ways in: `kexec_file_load` (the
//! running kernel parses and lays out the image) and kboot's own image builder for
//! `kexec_load`; `auto` picks the order ([`load`], in `auto.rs`).
//!
//! Where things go:
//! - a new kernel *format* (bzImage, ELF vmlinux, ...): a loader in `loader/`. It
//!   probes the image and returns its layout (the kernel's segments, what it parsed,
//!   the boot protocol it speaks) and writes no boot parameters;
//! - a new *boot protocol* (Linux zero page; multiboot 1 and 2 for Xen; Xen's PVH
//!   entry): a module in
//!   `protocol/`. It turns a loader's layout plus the command line and ramdisk (or
//!   modules) into boot parameters and says how to enter the kernel;
//! - `build.rs` runs loader, then protocol, then adds the purgatory (once, for all);
//!   `image::DomImage` holds the image being built; `arch/x86_64/` has the zero page
//!   bytes and the purgatory; the crate's `compression` unpacks compressed kernels.
//!
//! Pure (bytes in, values out; unit-tested without root): `build`, `loader/`,
//! `protocol/`, `arch/`, `image`, `auto` (over the trait), and the parsers of `memmap` and
//! `firmware` and `hypervisor`. The edges: `files` reads the kernel and ramdisk files
//! (the one place that does); `memmap::read`, `firmware` and `hypervisor::detect` (Xen
//! guest or not, and which type) read `/sys` and `/proc` under a root path;
//! `syscall` alone talks to the kernel, behind the `KexecSyscalls` trait.

pub(crate) mod acpi_copy;
pub(crate) mod arch;
pub(crate) mod auto;
pub(crate) mod build;
pub(crate) mod files;
pub(crate) mod firmware;
pub(crate) mod hypervisor;
pub(crate) mod image;
pub(crate) mod loader;
pub(crate) mod memmap;
pub(crate) mod protocol;
pub(crate) mod syscall;

use crate::compression::DecompressError;
use std::io;
use std::path::{Path, PathBuf};

pub(crate) use auto::{load, KexecMethod};
pub(crate) use files::{check_kernel, read_decompressed};
use loader::bzimage::header::BzImageError;

#[derive(Debug, thiserror::Error)]
pub(crate) enum KexecError {
    #[error("cannot unpack {path}: {source}")]
    Decompress {
        path: PathBuf,
        #[source]
        source: DecompressError,
    },
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
    #[error("cannot read {path}: {source}")]
    ReadFile {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(transparent)]
    MemMap(#[from] memmap::MemMapError),
    #[error("cannot lay out {path} for kexec_load: {source}")]
    Layout {
        path: PathBuf,
        #[source]
        source: build::BuildError,
    },
    #[error(
        "not enough memory to load the kernel and ramdisk: kexec_load needs {} MiB for \
         its copy of them and {} MiB are available; give the machine more RAM or boot a \
         smaller ramdisk",
        .needed_bytes.div_ceil(1 << 20),
        .available_bytes / (1 << 20)
    )]
    NotEnoughMemory {
        needed_bytes: u64,
        available_bytes: u64,
    },
    #[error(
        "kexec_file_load boots Linux kernels only, not a kernel with modules (multiboot): \
         use kexec_load (kboot.kexec=load, or kboot kexec -c)"
    )]
    ModulesNeedKexecLoad,
    #[error(
        "kexec_file_load enters kernels at their 64-bit entry only: for --entry-32bit use \
         kexec_load (kboot kexec -c)"
    )]
    Entry32BitNeedsKexecLoad,
    #[error(
        "kexec_file_load enters Linux kernels at their 64-bit entry only: the PVH entry \
         (--type pvh) needs kexec_load (kboot kexec -c, kboot.kexec=load)"
    )]
    PvhNeedsKexecLoad,
    #[error("{first}; then {then}")]
    BothRefused {
        first: Box<KexecError>,
        then: Box<KexecError>,
    },
}

/// Everything needed to boot: the files and the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KexecPlan {
    pub kernel: PathBuf,
    /// Loaded one after the other as a single initramfs (the kernel unpacks
    /// concatenated archives), as BLS and grub entries with several `initrd`s want.
    pub ramdisks: Vec<PathBuf>,
    pub cmdline: String,
    /// Multiboot modules (Xen: the dom0 kernel, then its ramdisk), in order; empty for
    /// a Linux kernel. Only kboot's own builder (`kexec_load`) boots them.
    pub modules: Vec<BootModule>,
    /// The loader to use, by its kexec-tools `--type` name (`loader::TYPE_NAMES`);
    /// `None`: the first loader that recognises the kernel.
    pub loader_type: Option<String>,
    /// Enter the kernel at its 32-bit entry (kexec-tools' `--entry-32bit`): kboot's own
    /// builder only.
    pub entry_32bit: bool,
}

impl KexecPlan {
    /// Whether the kernel is to be entered through its Xen PVH entry (`--type pvh`).
    pub(crate) fn is_pvh(&self) -> bool {
        self.loader_type.as_deref() == Some("pvh")
    }
}

/// A multiboot module to load: the file, and the command line the kernel gets for it
/// with the file's name as its first word (Xen strips that word, as from GRUB's and
/// kexec-tools' strings).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BootModule {
    pub file: PathBuf,
    pub cmdline: String,
}

/// Reads the plan's files (the kernel unpacked when it is compressed; ramdisks as they
/// are, joined) and lays them out for the memory map under `root`.
pub(crate) fn build_image(plan: &KexecPlan, root: &Path) -> Result<image::DomImage, KexecError> {
    let (kernel, ramdisk) = files::read_files(plan)?;
    let modules = files::read_modules(plan)?;
    lay_out(plan, kernel, ramdisk, modules, root)
}

/// Lays out the bytes for the memory map (and the ACPI RSDP) under `root`.
fn lay_out(
    plan: &KexecPlan,
    kernel: Vec<u8>,
    ramdisk: Vec<u8>,
    modules: Vec<image::ModuleImage>,
    root: &Path,
) -> Result<image::DomImage, KexecError> {
    let memmap = memmap::read(root)?;
    let mut image = image::DomImage::new(kernel, ramdisk, plan.cmdline.clone(), memmap);
    image.kernel_name = plan.kernel.to_string_lossy().into_owned();
    image.modules = modules;
    // The PVH start info gets a fresh ACPI root (`acpi_copy`); other protocols the address.
    (image.acpi_rsdp_addr, image.acpi_rsdp_copy) = firmware::acpi_root(root, plan.is_pvh());
    image.entry_32bit = plan.entry_32bit;
    build::build_as(&mut image, plan.loader_type.as_deref()).map_err(|source| {
        KexecError::Layout {
            path: plan.kernel.clone(),
            source,
        }
    })?;
    Ok(image)
}
