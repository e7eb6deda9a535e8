//! Turning a boot entry into a running kernel. Everything here but `syscall` is
//! pure: it checks the image and plans the load; `syscall` alone talks to the kernel.
//!
//! Two ways in: `kexec_file_load` (the running kernel parses and lays out the image)
//! and kboot's own image builder for `kexec_load`: `image::DomImage` holds the image
//! being built, `loader/` has one loader per format, `arch/` the zero page and the
//! purgatory, `memmap` reads the target's memory map.

pub(crate) mod arch;
pub(crate) mod firmware;
pub(crate) mod image;
pub(crate) mod loader;
pub(crate) mod memmap;
pub(crate) mod syscall;

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub(crate) use loader::bzimage::header::{self as bzimage, BzImageError, SetupHeader};

#[derive(Debug, thiserror::Error)]
pub(crate) enum KexecError {
    #[error("cannot unpack {path} ({compression}): {source}")]
    Decompress {
        path: PathBuf,
        compression: &'static str,
        #[source]
        source: io::Error,
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
        source: loader::LoaderError,
    },
    #[error("{first}; then {then}")]
    BothRefused {
        first: Box<KexecError>,
        then: Box<KexecError>,
    },
}

/// How the target got loaded, and what refused it on the way.
#[derive(Debug)]
pub(crate) struct Loaded {
    pub via: &'static str,
    /// With `Auto`: why the first way was refused before the other took over.
    pub refused: Option<Box<KexecError>>,
    /// Where kboot's own builder spent its time; `None` for `kexec_file_load`, which
    /// does all of it inside the one syscall.
    pub times: Option<LoadTimes>,
}

/// The phases of a `kexec_load` through kboot's own builder.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LoadTimes {
    /// Kernel and ramdisk bytes read (the kernel unpacked, if it was compressed).
    pub bytes_read: u64,
    pub read: Duration,
    /// Layout, boot parameters and the purgatory's checksums.
    pub layout: Duration,
    /// The syscall: the kernel copies every segment in.
    pub syscall: Duration,
}

impl std::fmt::Display for LoadTimes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        write!(
            f,
            "read {:.1} MB in {:.0} ms, laid out and checksummed in {:.0} ms, kexec_load took {:.0} ms",
            self.bytes_read as f64 / 1e6,
            ms(self.read),
            ms(self.layout),
            ms(self.syscall)
        )
    }
}

impl Loaded {
    fn file() -> Loaded {
        Loaded {
            via: "kexec_file_load",
            refused: None,
            times: None,
        }
    }

    fn own(times: LoadTimes) -> Loaded {
        Loaded {
            via: "kexec_load",
            refused: None,
            times: Some(times),
        }
    }

    fn after(self, refused: KexecError) -> Loaded {
        Loaded {
            refused: Some(Box::new(refused)),
            ..self
        }
    }
}

/// Everything needed to boot: the files and the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KexecPlan {
    pub kernel: PathBuf,
    /// Loaded one after the other as a single initramfs (the kernel unpacks
    /// concatenated archives), as BLS and grub entries with several `initrd`s want.
    pub ramdisks: Vec<PathBuf>,
    pub cmdline: String,
}

/// Reads the kernel's boot header and checks that the file is whole, so a truncated or
/// foreign file is named before the kernel gives a bare errno. An ELF or gzip file
/// (a `vmlinux`, perhaps compressed) has no such header: `None`, and its loader checks
/// it when it lays it out.
pub(crate) fn check_kernel(path: &Path) -> Result<Option<SetupHeader>, KexecError> {
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
    if Compression::detect(&head).is_some() || head.starts_with(ELF_MAGIC) {
        return Ok(None);
    }
    bzimage::parse_header(&head, file_len)
        .map(Some)
        .map_err(|source| KexecError::BadKernel {
            path: path.to_path_buf(),
            source,
        })
}

const ELF_MAGIC: &[u8] = b"\x7fELF";

/// How to ask the kernel to load the target (`kboot.kexec=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum KexecMethod {
    /// The fastest way this machine allows, falling back to the other (see [`load`]).
    #[default]
    Auto,
    /// Only `kexec_file_load`.
    File,
    /// Only `kexec_load` (kboot's own image builder).
    Load,
}

/// Loads the plan into the kernel. On success `syscall::reboot_into_loaded` starts it.
///
/// `Auto` tries kboot's own builder (`kexec_load`) first: the running kernel then only
/// copies the segments, where `kexec_file_load` first hashes the whole kernel and
/// ramdisk with SHA-256 for its purgatory (seconds under emulation, and again before
/// the jump). It falls back to `kexec_file_load` when the kernel refuses `kexec_load`
/// (lockdown and Secure Boot allow only signed kernels through `kexec_file_load`) or
/// the builder does not know the format. Booted through UEFI, the order turns round:
/// `kexec_file_load` hands the next kernel the EFI runtime services and memory map,
/// which kboot's builder does not pass on yet.
pub(crate) fn load(plan: &KexecPlan, method: KexecMethod) -> Result<Loaded, KexecError> {
    let both_refused = |first, then| KexecError::BothRefused {
        first: Box::new(first),
        then: Box::new(then),
    };
    match method {
        KexecMethod::File => file_load(plan).map(|()| Loaded::file()),
        KexecMethod::Load => load_own(plan).map(Loaded::own),
        KexecMethod::Auto if firmware::booted_through_uefi(Path::new("/")) => {
            match file_load(plan) {
                Ok(()) => Ok(Loaded::file()),
                Err(refused) if file_load_refusal_allows_load(&refused) => match load_own(plan) {
                    Ok(times) => Ok(Loaded::own(times).after(refused)),
                    Err(then) => Err(both_refused(refused, then)),
                },
                Err(refused) => Err(refused),
            }
        }
        KexecMethod::Auto => match load_own(plan) {
            Ok(times) => Ok(Loaded::own(times)),
            Err(refused) if load_refusal_allows_file_load(&refused) => match file_load(plan) {
                Ok(()) => Ok(Loaded::file().after(refused)),
                Err(then) => Err(both_refused(refused, then)),
            },
            Err(refused) => Err(refused),
        },
    }
}

fn file_load(plan: &KexecPlan) -> Result<(), KexecError> {
    Ok(syscall::file_load(
        &plan.kernel,
        &plan.ramdisks,
        &plan.cmdline,
    )?)
}

fn file_load_refusal_allows_load(refused: &KexecError) -> bool {
    matches!(refused, KexecError::Syscall(e) if syscall::file_load_refusal_allows_load(e))
}

/// After kboot's own builder failed: worth asking `kexec_file_load` when the kernel
/// refused `kexec_load` itself, or the builder could not read the memory map or lay out
/// the format; not when the files cannot be read (the kernel would fail the same way).
fn load_refusal_allows_file_load(refused: &KexecError) -> bool {
    match refused {
        KexecError::Syscall(e) => syscall::load_refusal_allows_file_load(e),
        KexecError::Layout { .. } | KexecError::MemMap(_) | KexecError::Decompress { .. } => true,
        _ => false,
    }
}

/// The `kexec_load` path: build the image from the files and the live memory map,
/// then hand the segments to the kernel.
fn load_own(plan: &KexecPlan) -> Result<LoadTimes, KexecError> {
    let started = Instant::now();
    let (kernel, ramdisk) = read_files(plan)?;
    let bytes_read = (kernel.len() + ramdisk.len()) as u64;
    let read_done = Instant::now();
    let image = lay_out(plan, kernel, ramdisk, Path::new("/"))?;
    let layout_done = Instant::now();
    let segments: Vec<syscall::LoadSegment<'_>> = image
        .segments
        .iter()
        .map(|s| syscall::LoadSegment {
            buf: image.bytes(&s.data),
            mem: s.mem,
            memsz: s.memsz,
        })
        .collect();
    syscall::kexec_load(image.entry, &segments)?;
    // `duration_since` saturates: no arithmetic here can panic PID 1.
    Ok(LoadTimes {
        bytes_read,
        read: read_done.duration_since(started),
        layout: layout_done.duration_since(read_done),
        syscall: layout_done.elapsed(),
    })
}

/// Reads the plan's files (the kernel gunzipped when it is gzip-compressed; ramdisks
/// as they are, joined) and lays them out for the memory map under `root`.
pub(crate) fn build_image(plan: &KexecPlan, root: &Path) -> Result<image::DomImage, KexecError> {
    let (kernel, ramdisk) = read_files(plan)?;
    lay_out(plan, kernel, ramdisk, root)
}

/// The kernel (unpacked if compressed) and the ramdisks joined.
fn read_files(plan: &KexecPlan) -> Result<(Vec<u8>, Vec<u8>), KexecError> {
    prefetch(std::iter::once(&plan.kernel).chain(&plan.ramdisks));
    let kernel = read_decompressed(&plan.kernel)?;
    let mut ramdisk = Vec::new();
    for path in &plan.ramdisks {
        let bytes = std::fs::read(path).map_err(|source| KexecError::ReadFile {
            path: path.clone(),
            source,
        })?;
        append_ramdisk(&mut ramdisk, &bytes);
    }
    Ok((kernel, ramdisk))
}

fn lay_out(
    plan: &KexecPlan,
    kernel: Vec<u8>,
    ramdisk: Vec<u8>,
    root: &Path,
) -> Result<image::DomImage, KexecError> {
    let memmap = memmap::read(root)?;
    let mut image = image::DomImage::new(kernel, ramdisk, plan.cmdline.clone(), memmap);
    image.acpi_rsdp_addr = firmware::acpi_rsdp(root);
    loader::load(&mut image).map_err(|source| KexecError::Layout {
        path: plan.kernel.clone(),
        source,
    })?;
    Ok(image)
}

/// Asks the kernel to start reading every file at once (`POSIX_FADV_WILLNEED`), so the
/// disk works on all of them while kboot copies the first: one file after the other,
/// readahead alone keeps only a window in flight. A hint: failures change nothing.
fn prefetch<'a>(paths: impl IntoIterator<Item = &'a PathBuf>) {
    use std::os::fd::AsRawFd;
    for path in paths {
        if let Ok(file) = File::open(path) {
            let _ = nix::fcntl::posix_fadvise(
                file.as_raw_fd(),
                0,
                0,
                nix::fcntl::PosixFadviseAdvice::POSIX_FADV_WILLNEED,
            );
        }
    }
}

/// Joins ramdisks as GRUB does: each padded to 4 bytes (the kernel unpacks
/// concatenated archives, compressed or not).
pub(crate) fn append_ramdisk(joined: &mut Vec<u8>, ramdisk: &[u8]) {
    joined.extend_from_slice(ramdisk);
    joined.resize(joined.len().next_multiple_of(4), 0);
}

/// Decompressed kernels larger than this are refused (Xen's builder caps at 1 GiB too):
/// a corrupt header must not make PID 1 allocate without bound.
const MAX_DECOMPRESSED_BYTES: u64 = 1 << 30;

/// The compressions a kernel file may be wrapped in, by their magic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Compression {
    Gzip,
    Xz,
    Zstd,
    Bzip2,
    Lz4Legacy,
}

impl Compression {
    pub(crate) fn detect(bytes: &[u8]) -> Option<Compression> {
        const MAGICS: [(&[u8], Compression); 5] = [
            (&[0x1f, 0x8b], Compression::Gzip),
            (&[0xfd, b'7', b'z', b'X', b'Z', 0x00], Compression::Xz),
            (&[0x28, 0xb5, 0x2f, 0xfd], Compression::Zstd),
            (b"BZh", Compression::Bzip2),
            (&[0x02, 0x21, 0x4c, 0x18], Compression::Lz4Legacy),
        ];
        MAGICS
            .iter()
            .find(|(magic, _)| bytes.starts_with(magic))
            .map(|(_, c)| *c)
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Compression::Gzip => "gzip",
            Compression::Xz => "xz",
            Compression::Zstd => "zstd",
            Compression::Bzip2 => "bzip2",
            Compression::Lz4Legacy => "lz4",
        }
    }
}

/// Unpacks `bytes`, bounded by `MAX_DECOMPRESSED_BYTES`.
pub(crate) fn decompress(compression: Compression, bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    use std::io::{Error, ErrorKind};
    let too_big = || Error::new(ErrorKind::InvalidData, "decompresses to more than 1 GiB");
    let mut out = Vec::new();
    let bounded = |reader: &mut dyn Read, out: &mut Vec<u8>| -> std::io::Result<()> {
        reader.take(MAX_DECOMPRESSED_BYTES + 1).read_to_end(out)?;
        if out.len() as u64 > MAX_DECOMPRESSED_BYTES {
            return Err(too_big());
        }
        Ok(())
    };
    match compression {
        Compression::Gzip => bounded(&mut flate2::read::MultiGzDecoder::new(bytes), &mut out)?,
        Compression::Bzip2 => bounded(&mut bzip2_rs::DecoderReader::new(bytes), &mut out)?,
        Compression::Zstd => {
            let mut decoder = ruzstd::decoding::StreamingDecoder::new(bytes)
                .map_err(|e| Error::new(ErrorKind::InvalidData, e.to_string()))?;
            bounded(&mut decoder, &mut out)?
        }
        Compression::Xz => {
            lzma_rs::xz_decompress(&mut std::io::BufReader::new(bytes), &mut out)
                .map_err(|e| Error::new(ErrorKind::InvalidData, e.to_string()))?;
            if out.len() as u64 > MAX_DECOMPRESSED_BYTES {
                return Err(too_big());
            }
        }
        Compression::Lz4Legacy => {
            out = loader::bzimage::lz4_legacy(bytes)
                .ok_or_else(|| Error::new(ErrorKind::InvalidData, "bad LZ4 legacy stream"))?
        }
    }
    Ok(out)
}

/// A file's bytes, unpacked when they start with a compression magic (gzip, xz, zstd,
/// bzip2, LZ4 legacy): how vmlinux files are often stored.
pub(crate) fn read_decompressed(path: &Path) -> Result<Vec<u8>, KexecError> {
    let read_err = |source| KexecError::ReadFile {
        path: path.to_path_buf(),
        source,
    };
    let bytes = std::fs::read(path).map_err(read_err)?;
    match Compression::detect(&bytes) {
        Some(compression) => {
            decompress(compression, &bytes).map_err(|source| KexecError::Decompress {
                path: path.to_path_buf(),
                compression: compression.name(),
                source,
            })
        }
        None => Ok(bytes),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
