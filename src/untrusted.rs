//! Opening and reading files that come from disks kboot does not control: kernels,
//! ramdisks, boot loader configs, disk images. Whoever wrote the disk chose each
//! file's type, size and symlinks, so every read here
//! - opens without blocking (`O_NONBLOCK`: a FIFO would otherwise wait forever for a
//!   writer) and then checks the type of what was opened (`fstat` on the open file, so
//!   nothing can be swapped in between): only regular files, and block devices where a
//!   disk is expected, are read;
//! - is bounded: the size `fstat` reports is checked before reading, and the read
//!   itself stops one byte past the limit (a file may grow, and a sparse 4 GiB file
//!   costs nothing to make);
//! - stays inside its filesystem: `resolve_in_root` walks a path as the system booted
//!   from that filesystem would (`..` stops at its root, absolute symlinks start from
//!   its root), with Linux's limit of 40 symlinks, so a loop is an error too.
//!
//! Errors are `io::Error`s, as `fs::read` gives, so callers keep their own variants
//! ("cannot read {path}: {source}") and their `NotFound` checks; what this module
//! refuses is a `Refused` inside them.

use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Component, Path, PathBuf};

/// What may be read where.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Accept {
    RegularFile,
    /// A disk: an image file or the block device itself.
    RegularFileOrBlockDevice,
}

/// The most bytes one kind of file may hold, and its name for messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Limit {
    pub(crate) what: &'static str,
    pub(crate) max_bytes: u64,
}

const KIB: u64 = 1 << 10;
const MIB: u64 = 1 << 20;

/// A kernel as stored (compressed or not); the largest distribution kernels are
/// tens of MiB.
pub(crate) const KERNEL: Limit = Limit {
    what: "a kernel file",
    max_bytes: 512 * MIB,
};
/// Every ramdisk of an entry together (they are joined into one).
pub(crate) const RAMDISKS: Limit = Limit {
    what: "the ramdisks together",
    max_bytes: 2048 * MIB,
};
pub(crate) const GRUB_CFG: Limit = Limit {
    what: "a grub.cfg",
    max_bytes: 16 * MIB,
};
/// GRUB writes its environment block as exactly 1024 bytes; some tools write more.
pub(crate) const GRUBENV: Limit = Limit {
    what: "a grubenv",
    max_bytes: 64 * KIB,
};
pub(crate) const BLS_ENTRY: Limit = Limit {
    what: "a boot loader entry",
    max_bytes: 64 * KIB,
};
pub(crate) const LOADER_CONF: Limit = Limit {
    what: "a loader.conf",
    max_bytes: 64 * KIB,
};

/// Linux's own limit on symlinks followed in one lookup (`MAXSYMLINKS`).
pub(crate) const MAX_SYMLINK_HOPS: usize = 40;

/// Why a file was not read. Carried inside the `io::Error` the functions here return.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Refused {
    #[error("it is {kind}, not {wanted}")]
    NotAFile {
        kind: &'static str,
        wanted: &'static str,
    },
    #[error("it is {size_bytes} bytes, more than the {max_bytes} bytes {what} may be")]
    TooLarge {
        size_bytes: u64,
        max_bytes: u64,
        what: &'static str,
    },
    #[error("it holds more than the {max_bytes} bytes {what} may be (it grew while read?)")]
    GrewTooLarge { max_bytes: u64, what: &'static str },
    #[error("more than {MAX_SYMLINK_HOPS} symbolic links to follow (a symlink loop?)")]
    SymlinkLoop,
}

impl From<Refused> for io::Error {
    fn from(refused: Refused) -> io::Error {
        let kind = match &refused {
            Refused::NotAFile {
                kind: "a directory",
                ..
            } => io::ErrorKind::IsADirectory,
            Refused::NotAFile { .. } => io::ErrorKind::InvalidInput,
            Refused::TooLarge { .. } | Refused::GrewTooLarge { .. } => io::ErrorKind::FileTooLarge,
            Refused::SymlinkLoop => io::ErrorKind::InvalidInput,
        };
        io::Error::new(kind, refused)
    }
}

/// Opens `path` for reading if it is what `accept` allows, without blocking.
pub(crate) fn open(path: &Path, accept: Accept) -> io::Result<File> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)?;
    let file_type = file.metadata()?.file_type();
    let allowed = file_type.is_file()
        || (accept == Accept::RegularFileOrBlockDevice && file_type.is_block_device());
    if !allowed {
        return Err(Refused::NotAFile {
            kind: type_name(file_type),
            wanted: match accept {
                Accept::RegularFile => "a regular file",
                Accept::RegularFileOrBlockDevice => "a regular file or block device",
            },
        }
        .into());
    }
    // Reads of regular files and block devices ignore O_NONBLOCK; clear it anyway so
    // the file behaves as one opened the ordinary way.
    use nix::fcntl::{fcntl, FcntlArg, OFlag};
    let flags = fcntl(file.as_raw_fd(), FcntlArg::F_GETFL).map_err(io::Error::from)?;
    let flags = OFlag::from_bits_truncate(flags) & !OFlag::O_NONBLOCK;
    fcntl(file.as_raw_fd(), FcntlArg::F_SETFL(flags)).map_err(io::Error::from)?;
    Ok(file)
}

fn type_name(file_type: fs::FileType) -> &'static str {
    if file_type.is_dir() {
        "a directory"
    } else if file_type.is_fifo() {
        "a FIFO"
    } else if file_type.is_char_device() {
        "a character device"
    } else if file_type.is_block_device() {
        "a block device"
    } else if file_type.is_socket() {
        "a socket"
    } else if file_type.is_symlink() {
        "a symbolic link"
    } else {
        "not a regular file"
    }
}

/// Opens a regular file whose size `fstat` says is within `limit`.
pub(crate) fn open_within(path: &Path, limit: Limit) -> io::Result<File> {
    let file = open(path, Accept::RegularFile)?;
    let size_bytes = file.metadata()?.len();
    if size_bytes > limit.max_bytes {
        return Err(Refused::TooLarge {
            size_bytes,
            max_bytes: limit.max_bytes,
            what: limit.what,
        }
        .into());
    }
    Ok(file)
}

/// Reads what is left of `reader`, failing once it holds more than `limit`: the
/// bound holds while reading, whatever the size said.
pub(crate) fn read_at_most(reader: impl Read, limit: Limit) -> io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    reader.take(limit.max_bytes + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit.max_bytes {
        return Err(Refused::GrewTooLarge {
            max_bytes: limit.max_bytes,
            what: limit.what,
        }
        .into());
    }
    Ok(bytes)
}

/// `fs::read` for a file from a disk: a regular file of at most `limit`.
pub(crate) fn read(path: &Path, limit: Limit) -> io::Result<Vec<u8>> {
    read_at_most(open_within(path, limit)?, limit)
}

/// `fs::read_to_string` for a file from a disk: a regular file of at most `limit`.
pub(crate) fn read_to_string(path: &Path, limit: Limit) -> io::Result<String> {
    String::from_utf8(read(path, limit)?).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

/// Where `path`, as written on the filesystem mounted at `root`, is in kboot's own
/// namespace, resolved as the system booted from that filesystem would resolve it:
/// `..` never goes above `root`, and a symlink's absolute target starts at `root`.
/// The result has no symlink left in it (as of the walk), so opening it cannot lead
/// out of `root`. Components that do not exist are kept as written: opening the
/// result then fails as it should.
pub(crate) fn resolve_in_root(root: &Path, path: &Path) -> io::Result<PathBuf> {
    // Components still to walk, the next one last.
    let mut pending: Vec<OsString> = Vec::new();
    push_components(&mut pending, path);
    let mut resolved = root.to_path_buf();
    let mut depth = 0usize;
    let mut hops = 0usize;
    while let Some(name) = pending.pop() {
        if name == ".." {
            if depth > 0 {
                resolved.pop();
                depth -= 1;
            }
            continue;
        }
        let candidate = resolved.join(&name);
        let is_symlink = fs::symlink_metadata(&candidate).is_ok_and(|m| m.file_type().is_symlink());
        if !is_symlink {
            resolved = candidate;
            depth += 1;
            continue;
        }
        hops += 1;
        if hops > MAX_SYMLINK_HOPS {
            return Err(Refused::SymlinkLoop.into());
        }
        let target = fs::read_link(&candidate)?;
        if target.is_absolute() {
            resolved = root.to_path_buf();
            depth = 0;
        }
        push_components(&mut pending, &target);
    }
    Ok(resolved)
}

/// Pushes `path`'s components so that the first is popped first; `/` and `.` are
/// dropped, `..` kept for the walk to apply.
fn push_components(pending: &mut Vec<OsString>, path: &Path) {
    let start = pending.len();
    for component in path.components() {
        match component {
            Component::Normal(name) => pending.push(name.to_os_string()),
            Component::ParentDir => pending.push(OsString::from("..")),
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    pending[start..].reverse();
}

/// `path` on the filesystem at `root` as `resolve_in_root` finds it, read as `read`
/// does.
pub(crate) fn read_in_root(root: &Path, path: &Path, limit: Limit) -> io::Result<Vec<u8>> {
    read(&resolve_in_root(root, path)?, limit)
}

/// Whether `path` on the filesystem at `root` is a regular file, for listings (the
/// read checks again on the file it opens): why not, when it is not.
pub(crate) fn check_regular_file_in_root(root: &Path, path: &Path) -> io::Result<()> {
    let file_type = fs::metadata(resolve_in_root(root, path)?)?.file_type();
    if file_type.is_file() {
        return Ok(());
    }
    Err(Refused::NotAFile {
        kind: type_name(file_type),
        wanted: "a regular file",
    }
    .into())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
