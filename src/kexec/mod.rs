//! Turning a boot entry into a running kernel. Everything here but `syscall` is
//! pure: it checks the image and plans the load; `syscall` alone talks to the kernel.
//!
//! Two ways in: `kexec_file_load` (the running kernel parses and lays out the image)
//! and kboot's own image builder for `kexec_load`: `image::DomImage` holds the image
//! being built, `loader/` has one loader per format, `arch/` the zero page and the
//! purgatory, `memmap` reads the target's memory map.

pub mod arch;
pub mod bzimage;
pub mod firmware;
pub mod image;
pub mod loader;
pub mod memmap;
pub mod syscall;

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

pub use bzimage::{BzImageError, SetupHeader};

#[derive(Debug, thiserror::Error)]
pub enum KexecError {
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
    #[error("{file_load}; then {load}")]
    BothRefused {
        file_load: syscall::SyscallError,
        load: Box<KexecError>,
    },
}

/// How the target got loaded, and what refused it on the way.
#[derive(Debug)]
pub struct Loaded {
    pub via: &'static str,
    /// With `Auto`: why `kexec_file_load` was refused before `kexec_load` took over.
    pub file_load_refused: Option<syscall::SyscallError>,
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
/// foreign file is named before the kernel gives a bare errno. An ELF or gzip file
/// (a `vmlinux`, perhaps compressed) has no such header: `None`, and its loader checks
/// it when it lays it out.
pub fn check_kernel(path: &Path) -> Result<Option<SetupHeader>, KexecError> {
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
/// `Auto` tries `kexec_file_load` and falls back to `kexec_load` when the kernel
/// refuses the first for a reason the second may not share.
pub fn load(plan: &KexecPlan, method: KexecMethod) -> Result<Loaded, KexecError> {
    match method {
        KexecMethod::File => {
            syscall::file_load(&plan.kernel, &plan.ramdisks, &plan.cmdline)?;
            Ok(Loaded {
                via: "kexec_file_load",
                file_load_refused: None,
            })
        }
        KexecMethod::Load => {
            load_own(plan)?;
            Ok(Loaded {
                via: "kexec_load",
                file_load_refused: None,
            })
        }
        KexecMethod::Auto => {
            match syscall::file_load(&plan.kernel, &plan.ramdisks, &plan.cmdline) {
                Ok(()) => Ok(Loaded {
                    via: "kexec_file_load",
                    file_load_refused: None,
                }),
                Err(refused) if syscall::file_load_refusal_allows_load(&refused) => {
                    match load_own(plan) {
                        Ok(()) => Ok(Loaded {
                            via: "kexec_load",
                            file_load_refused: Some(refused),
                        }),
                        Err(load) => Err(KexecError::BothRefused {
                            file_load: refused,
                            load: Box::new(load),
                        }),
                    }
                }
                Err(refused) => Err(refused.into()),
            }
        }
    }
}

/// The `kexec_load` path: build the image from the files and the live memory map,
/// then hand the segments to the kernel.
fn load_own(plan: &KexecPlan) -> Result<(), KexecError> {
    let image = build_image(plan, Path::new("/"))?;
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
    Ok(())
}

/// Reads the plan's files (the kernel gunzipped when it is gzip-compressed; ramdisks
/// as they are, joined) and lays them out for the memory map under `root`.
pub fn build_image(plan: &KexecPlan, root: &Path) -> Result<image::DomImage, KexecError> {
    let kernel = read_decompressed(&plan.kernel)?;
    let mut ramdisk = Vec::new();
    for path in &plan.ramdisks {
        let bytes = std::fs::read(path).map_err(|source| KexecError::ReadFile {
            path: path.clone(),
            source,
        })?;
        append_ramdisk(&mut ramdisk, &bytes);
    }
    let memmap = memmap::read(root)?;
    let mut image = image::DomImage::new(kernel, ramdisk, plan.cmdline.clone(), memmap);
    image.acpi_rsdp_addr = firmware::acpi_rsdp(root);
    loader::load(&mut image).map_err(|source| KexecError::Layout {
        path: plan.kernel.clone(),
        source,
    })?;
    Ok(image)
}

/// Joins ramdisks as GRUB does: each padded to 4 bytes (the kernel unpacks
/// concatenated archives, compressed or not).
pub fn append_ramdisk(joined: &mut Vec<u8>, ramdisk: &[u8]) {
    joined.extend_from_slice(ramdisk);
    joined.resize(joined.len().next_multiple_of(4), 0);
}

/// Decompressed kernels larger than this are refused (Xen's builder caps at 1 GiB too):
/// a corrupt header must not make PID 1 allocate without bound.
const MAX_DECOMPRESSED_BYTES: u64 = 1 << 30;

/// The compressions a kernel file may be wrapped in, by their magic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    Gzip,
    Xz,
    Zstd,
    Bzip2,
    Lz4Legacy,
}

impl Compression {
    pub fn detect(bytes: &[u8]) -> Option<Compression> {
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

    pub fn name(self) -> &'static str {
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
pub fn decompress(compression: Compression, bytes: &[u8]) -> std::io::Result<Vec<u8>> {
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
pub fn read_decompressed(path: &Path) -> Result<Vec<u8>, KexecError> {
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
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn gzip_kernels_are_read_decompressed_and_plain_ones_as_they_are() {
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("vmlinux");
        std::fs::write(&plain, b"plain bytes").unwrap();
        assert_eq!(read_decompressed(&plain).unwrap(), b"plain bytes");
        let gz = dir.path().join("vmlinux.gz");
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(b"inner bytes").unwrap();
        std::fs::write(&gz, enc.finish().unwrap()).unwrap();
        assert_eq!(read_decompressed(&gz).unwrap(), b"inner bytes");
        assert!(matches!(
            read_decompressed(&dir.path().join("nosuch")),
            Err(KexecError::ReadFile { .. })
        ));
    }

    /// Every compression a kernel file may carry, made by the real tools (xz with
    /// CRC32 as kbuild does, zstd, bzip2, lz4 -l = the kernel's legacy format, gzip).
    #[test]
    fn kernels_compressed_by_the_real_tools_are_read_unpacked() {
        let dir = tempfile::tempdir().unwrap();
        let original: Vec<u8> = (0..300_000u32)
            .flat_map(|i| (i % 251).to_le_bytes())
            .collect();
        let plain = dir.path().join("vmlinux");
        std::fs::write(&plain, &original).unwrap();
        for (tool, args, expected) in [
            ("xz", &["--check=crc32", "-k", "-c"][..], Compression::Xz),
            ("zstd", &["-q", "-c"][..], Compression::Zstd),
            ("bzip2", &["-k", "-c"][..], Compression::Bzip2),
            ("lz4", &["-l", "-q", "-c"][..], Compression::Lz4Legacy),
            ("gzip", &["-c"][..], Compression::Gzip),
        ] {
            let out = std::process::Command::new(tool)
                .args(args)
                .arg(&plain)
                .output()
                .unwrap_or_else(|e| panic!("{tool} (tests/setup-debian.sh installs it): {e}"));
            assert!(out.status.success(), "{tool} failed");
            let packed = dir.path().join(format!("vmlinux.{tool}"));
            std::fs::write(&packed, &out.stdout).unwrap();
            assert_eq!(Compression::detect(&out.stdout), Some(expected), "{tool}");
            assert_eq!(read_decompressed(&packed).unwrap(), original, "{tool}");
            // Cut short: a clear error naming the file and the format, no panic.
            let cut = dir.path().join(format!("cut.{tool}"));
            std::fs::write(&cut, &out.stdout[..out.stdout.len() / 2]).unwrap();
            match read_decompressed(&cut) {
                Err(KexecError::Decompress { compression, .. }) => {
                    assert_eq!(compression, expected.name())
                }
                // LZ4's legacy format has no end marker: a cut stream yields a prefix.
                Ok(prefix) if expected == Compression::Lz4Legacy => {
                    assert!(prefix.len() < original.len())
                }
                other => panic!("{tool}: cut stream gave {other:?}"),
            }
        }
    }

    #[test]
    fn ramdisks_join_padded_to_four_bytes() {
        let mut joined = Vec::new();
        append_ramdisk(&mut joined, b"abcde");
        append_ramdisk(&mut joined, b"xy");
        assert_eq!(joined, b"abcde\0\0\0xy\0\0");
    }

    #[test]
    fn auto_falls_back_only_on_refusals_kexec_load_may_not_share() {
        let refusal = |errno| syscall::SyscallError::FileLoad {
            kernel: PathBuf::from("/boot/vmlinuz"),
            initrd: "none".into(),
            cmdline_len: 1,
            source: io::Error::from_raw_os_error(errno),
            hint: "",
        };
        for errno in [
            libc::ENOSYS,
            libc::ENOEXEC,
            libc::EINVAL,
            libc::EKEYREJECTED,
            libc::EPERM,
        ] {
            assert!(
                syscall::file_load_refusal_allows_load(&refusal(errno)),
                "{errno}"
            );
        }
        for errno in [libc::ENOMEM, libc::EBUSY, libc::ENOENT] {
            assert!(
                !syscall::file_load_refusal_allows_load(&refusal(errno)),
                "{errno}"
            );
        }
    }
}
