//! The edge of the image builder: the one place that reads the kernel and ramdisk
//! files (the builder, the loaders and the protocols take bytes). `kexec_file_load`
//! opens the same files itself, in `syscall`.

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use super::image::ModuleImage;
use super::loader::bzimage::header::{SetupHeader, HEADER_BYTES};
use super::{KexecError, KexecPlan};
use crate::compression::{decompress_if_compressed, Compression};
use crate::untrusted;

/// Reads the kernel's boot header and checks that the file is whole, so a truncated or
/// foreign file is named before the kernel gives a bare errno. An ELF or gzip file
/// (a `vmlinux`, perhaps compressed) has no such header: `None`, and its loader checks
/// it when it lays it out.
pub(crate) fn check_kernel(path: &Path) -> Result<Option<SetupHeader>, KexecError> {
    let read_err = |source| KexecError::ReadKernel {
        path: path.to_path_buf(),
        source,
    };
    let mut file = untrusted::open_within(path, untrusted::KERNEL).map_err(read_err)?;
    let file_len = file.metadata().map_err(read_err)?.len();
    let mut head = Vec::with_capacity(HEADER_BYTES);
    Read::by_ref(&mut file)
        .take(HEADER_BYTES as u64)
        .read_to_end(&mut head)
        .map_err(read_err)?;
    if Compression::detect(&head).is_some() || head.starts_with(ELF_MAGIC) {
        return Ok(None);
    }
    SetupHeader::parse(&head, file_len)
        .map(Some)
        .map_err(|source| KexecError::BadKernel {
            path: path.to_path_buf(),
            source,
        })
}

const ELF_MAGIC: &[u8] = b"\x7fELF";

/// The plan's kernel (unpacked if compressed) and its ramdisks joined.
pub(crate) fn read_files(plan: &KexecPlan) -> Result<(Vec<u8>, Vec<u8>), KexecError> {
    prefetch(std::iter::once(&plan.kernel).chain(&plan.ramdisks));
    let kernel = read_decompressed(&plan.kernel)?;
    let mut ramdisk = Vec::new();
    let mut joined_bytes = 0;
    for path in &plan.ramdisks {
        joined_bytes +=
            append_ramdisk_file(&mut ramdisk, path, joined_bytes).map_err(|source| {
                KexecError::ReadFile {
                    path: path.clone(),
                    source,
                }
            })?;
    }
    Ok((kernel, ramdisk))
}

/// The plan's multiboot modules, each read as it is (not unpacked: as GRUB's
/// `module --nounzip`; Xen unpacks a compressed dom0 kernel itself, and Linux its
/// compressed ramdisk), within the ramdisks' limit together.
pub(crate) fn read_modules(plan: &KexecPlan) -> Result<Vec<ModuleImage>, KexecError> {
    let mut modules = Vec::with_capacity(plan.modules.len());
    let mut total_bytes = 0u64;
    for module in &plan.modules {
        let room = untrusted::Limit {
            max_bytes: untrusted::RAMDISKS.max_bytes.saturating_sub(total_bytes),
            ..untrusted::RAMDISKS
        };
        let bytes = untrusted::read(&module.file, room).map_err(|source| KexecError::ReadFile {
            path: module.file.clone(),
            source,
        })?;
        total_bytes += bytes.len() as u64;
        modules.push(ModuleImage {
            bytes,
            cmdline: module.cmdline.clone(),
        });
    }
    Ok(modules)
}

/// Appends the ramdisk at `path` to `joined`, which already holds `joined_bytes`, as
/// `append_ramdisk` does, refusing anything but a regular file and keeping all the
/// ramdisks together within `untrusted::RAMDISKS`. Returns the bytes appended.
pub(crate) fn append_ramdisk_file(
    joined: &mut impl Write,
    path: &Path,
    joined_bytes: u64,
) -> io::Result<u64> {
    let room = untrusted::Limit {
        max_bytes: untrusted::RAMDISKS.max_bytes.saturating_sub(joined_bytes),
        ..untrusted::RAMDISKS
    };
    let file = untrusted::open_within(path, room)?;
    let mut bounded = file.take(room.max_bytes + 1);
    let appended = append_ramdisk(joined, &mut bounded)?;
    if bounded.limit() == 0 {
        return Err(untrusted::Refused::GrewTooLarge {
            max_bytes: room.max_bytes,
            what: room.what,
        }
        .into());
    }
    Ok(appended)
}

/// Asks the kernel to start reading every file at once (`POSIX_FADV_WILLNEED`), so the
/// disk works on all of them while kboot copies the first: one file after the other,
/// readahead alone keeps only a window in flight. A hint: failures change nothing.
fn prefetch<'a>(paths: impl IntoIterator<Item = &'a PathBuf>) {
    use std::os::fd::AsRawFd;
    for path in paths {
        if let Ok(file) = untrusted::open(path, untrusted::Accept::RegularFile) {
            let _ = nix::fcntl::posix_fadvise(
                file.as_raw_fd(),
                0,
                0,
                nix::fcntl::PosixFadviseAdvice::POSIX_FADV_WILLNEED,
            );
        }
    }
}

/// Joins ramdisks as GRUB does: appends one to `joined`, padded to 4 bytes (the
/// kernel unpacks concatenated archives, compressed or not). Both ways in use it: the
/// image builder into memory, `kexec_file_load` into a memfd.
pub(crate) fn append_ramdisk(joined: &mut impl Write, ramdisk: &mut impl Read) -> io::Result<u64> {
    let copied = io::copy(ramdisk, joined)?;
    let pad = copied.next_multiple_of(4) - copied;
    joined.write_all(&[0u8; 3][..pad as usize])?;
    Ok(copied + pad)
}

/// A file's bytes, unpacked when they start with a compression magic (gzip, xz, zstd,
/// bzip2, LZ4 legacy): how vmlinux files are often stored.
pub(crate) fn read_decompressed(path: &Path) -> Result<Vec<u8>, KexecError> {
    let read_err = |source| KexecError::ReadFile {
        path: path.to_path_buf(),
        source,
    };
    let bytes = untrusted::read(path, untrusted::KERNEL).map_err(read_err)?;
    decompress_if_compressed(bytes, MAX_DECOMPRESSED_BYTES).map_err(|source| {
        KexecError::Decompress {
            path: path.to_path_buf(),
            source,
        }
    })
}

/// Decompressed kernels larger than this are refused (Xen's builder caps at 1 GiB too):
/// a corrupt header must not make PID 1 allocate without bound.
const MAX_DECOMPRESSED_BYTES: u64 = 1 << 30;

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
