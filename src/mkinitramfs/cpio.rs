//! A writer for "newc" cpio archives, the format the kernel unpacks as initramfs
//! (`Documentation/driver-api/early-userspace/buffer-format.rst`, `init/initramfs.c`).
//!
//! Each member: a 110-byte ASCII header (`070701` then 13 fields of 8 hex digits: ino
//! mode uid gid nlink mtime filesize devmajor devminor rdevmajor rdevminor namesize
//! check), the NUL-terminated name, padding to 4 bytes, the data, padding to 4 bytes.
//! The archive ends with a member named `TRAILER!!!`. Output is reproducible: mtime is
//! always 0 and inode numbers count up from 1 in write order.

use std::io::{Read, Write};
use std::path::PathBuf;

use thiserror::Error;

use super::list::{EntryKind, InitramfsSpec, NodeKind};

const NEWC_MAGIC: &str = "070701";
const HEADER_BYTES: u64 = 110;
const TRAILER_NAME: &str = "TRAILER!!!";
/// gen_init_cpio and cpio(1) round the archive up to whole 512-byte blocks.
const ARCHIVE_BLOCK_BYTES: u64 = 512;

const S_IFDIR: u32 = 0o040000;
const S_IFREG: u32 = 0o100000;
const S_IFLNK: u32 = 0o120000;
const S_IFCHR: u32 = 0o020000;
const S_IFBLK: u32 = 0o060000;

#[derive(Debug, Error)]
pub(crate) enum CpioError {
    #[error("cannot write the archive: {source}")]
    Write {
        #[source]
        source: std::io::Error,
    },
    #[error("cannot read {path} for the archive: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} changed size while being archived: expected {expected_bytes} bytes, read {read_bytes}")]
    SizeChanged {
        path: PathBuf,
        expected_bytes: u64,
        read_bytes: u64,
    },
    #[error("{name}: {field} {value} does not fit the 32-bit newc header field")]
    FieldOverflow {
        name: String,
        field: &'static str,
        value: u64,
    },
}

/// Permissions and owner of a member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Ownership {
    pub mode_bits: u32,
    pub uid: u32,
    pub gid: u32,
}

/// One member's header fields (newc has no others worth setting here).
struct Header {
    mode: u32,
    uid: u32,
    gid: u32,
    nlink: u32,
    size_bytes: u64,
    rdev_major: u32,
    rdev_minor: u32,
}

impl Header {
    /// A member of type `type_bits` (`S_IF*`) owned as `owner` says, one link, no
    /// device number.
    fn new(type_bits: u32, owner: Ownership, size_bytes: u64) -> Header {
        Header {
            mode: type_bits | owner.mode_bits,
            uid: owner.uid,
            gid: owner.gid,
            nlink: 1,
            size_bytes,
            rdev_major: 0,
            rdev_minor: 0,
        }
    }
}

/// Streams members into `out`. Call [`CpioWriter::finish`] to write the trailer.
pub(crate) struct CpioWriter<W: Write> {
    out: W,
    offset_bytes: u64,
    next_inode: u32,
}

impl<W: Write> CpioWriter<W> {
    pub(crate) fn new(out: W) -> Self {
        CpioWriter {
            out,
            offset_bytes: 0,
            next_inode: 1,
        }
    }

    pub(crate) fn dir(&mut self, name: &str, owner: Ownership) -> Result<(), CpioError> {
        // A directory's links: its entry and its own ".".
        let header = Header {
            nlink: 2,
            ..Header::new(S_IFDIR, owner, 0)
        };
        self.member(name, &header, &mut std::io::empty(), None)
    }

    /// A regular file of exactly `size_bytes` read from `contents`; `source` labels
    /// read errors.
    pub(crate) fn file(
        &mut self,
        name: &str,
        owner: Ownership,
        size_bytes: u64,
        contents: &mut impl Read,
        source: PathBuf,
    ) -> Result<(), CpioError> {
        let header = Header::new(S_IFREG, owner, size_bytes);
        self.member(name, &header, contents, Some(source))
    }

    pub(crate) fn symlink(
        &mut self,
        name: &str,
        target: &str,
        owner: Ownership,
    ) -> Result<(), CpioError> {
        let header = Header::new(S_IFLNK, owner, target.len() as u64);
        self.member(name, &header, &mut target.as_bytes(), None)
    }

    pub(crate) fn node(
        &mut self,
        name: &str,
        owner: Ownership,
        kind: NodeKind,
        major: u32,
        minor: u32,
    ) -> Result<(), CpioError> {
        let type_bits = match kind {
            NodeKind::Char => S_IFCHR,
            NodeKind::Block => S_IFBLK,
        };
        let header = Header {
            rdev_major: major,
            rdev_minor: minor,
            ..Header::new(type_bits, owner, 0)
        };
        self.member(name, &header, &mut std::io::empty(), None)
    }

    /// Writes the trailer, pads to a whole block and returns the output.
    pub(crate) fn finish(mut self) -> Result<W, CpioError> {
        let header = Header {
            mode: 0,
            uid: 0,
            gid: 0,
            nlink: 1,
            size_bytes: 0,
            rdev_major: 0,
            rdev_minor: 0,
        };
        self.write_header_and_name(TRAILER_NAME, &header, 0)?;
        self.pad_to(ARCHIVE_BLOCK_BYTES)?;
        self.out
            .flush()
            .map_err(|source| CpioError::Write { source })?;
        Ok(self.out)
    }

    fn member(
        &mut self,
        name: &str,
        header: &Header,
        contents: &mut impl Read,
        source: Option<PathBuf>,
    ) -> Result<(), CpioError> {
        // Names are stored relative to the root, as gen_init_cpio does.
        let name = name.trim_start_matches('/');
        let inode = self.next_inode;
        self.next_inode = self.next_inode.wrapping_add(1);
        self.write_header_and_name(name, header, inode)?;
        let copied_bytes = std::io::copy(&mut contents.take(header.size_bytes), &mut self.out)
            .map_err(|error| match &source {
                // Errors reading the source and writing the archive look alike in
                // io::copy; the source is named when there is one.
                Some(path) => CpioError::Read {
                    path: path.clone(),
                    source: error,
                },
                None => CpioError::Write { source: error },
            })?;
        if copied_bytes != header.size_bytes {
            return Err(CpioError::SizeChanged {
                path: source.unwrap_or_else(|| PathBuf::from(name)),
                expected_bytes: header.size_bytes,
                read_bytes: copied_bytes,
            });
        }
        self.offset_bytes += copied_bytes;
        self.pad_to(4)
    }

    fn write_header_and_name(
        &mut self,
        name: &str,
        header: &Header,
        inode: u32,
    ) -> Result<(), CpioError> {
        let size = u32::try_from(header.size_bytes).map_err(|_| CpioError::FieldOverflow {
            name: name.to_string(),
            field: "filesize",
            value: header.size_bytes,
        })?;
        // The name size counts the terminating NUL.
        let name_size = u32::try_from(name.len() + 1).map_err(|_| CpioError::FieldOverflow {
            name: name.to_string(),
            field: "namesize",
            value: name.len() as u64 + 1,
        })?;
        let fields = [
            inode,
            header.mode,
            header.uid,
            header.gid,
            header.nlink,
            0, // mtime: fixed for reproducible images
            size,
            0, // devmajor/devminor of the filesystem the file came from: meaningless here
            0,
            header.rdev_major,
            header.rdev_minor,
            name_size,
            0, // check: only used by the 070702 "crc" variant
        ];
        let mut text = String::with_capacity(HEADER_BYTES as usize + name.len() + 1);
        text.push_str(NEWC_MAGIC);
        for field in fields {
            text.push_str(&format!("{field:08X}"));
        }
        text.push_str(name);
        text.push('\0');
        self.write_all(text.as_bytes())?;
        self.pad_to(4)
    }

    fn pad_to(&mut self, alignment_bytes: u64) -> Result<(), CpioError> {
        let padding_bytes =
            (alignment_bytes - self.offset_bytes % alignment_bytes) % alignment_bytes;
        const ZEROS: [u8; ARCHIVE_BLOCK_BYTES as usize] = [0; ARCHIVE_BLOCK_BYTES as usize];
        // padding_bytes < alignment_bytes <= 512, so the slice is in range.
        self.write_all(&ZEROS[..padding_bytes as usize])
    }

    fn write_all(&mut self, bytes: &[u8]) -> Result<(), CpioError> {
        self.out
            .write_all(bytes)
            .map_err(|source| CpioError::Write { source })?;
        self.offset_bytes += bytes.len() as u64;
        Ok(())
    }
}

/// Writes every entry of `spec` as a newc archive into `out`; returns `out`.
pub(crate) fn write_spec<W: Write>(spec: &InitramfsSpec, out: W) -> Result<W, CpioError> {
    let mut writer = CpioWriter::new(out);
    for entry in spec.entries() {
        let name = entry.path.as_str();
        let owner = Ownership {
            mode_bits: entry.mode_bits,
            uid: entry.uid,
            gid: entry.gid,
        };
        match &entry.kind {
            EntryKind::Dir => writer.dir(name, owner)?,
            EntryKind::File { source } => match spec.generated().get(source) {
                Some(contents) => writer.file(
                    name,
                    owner,
                    contents.len() as u64,
                    &mut contents.as_slice(),
                    source.clone(),
                )?,
                None => {
                    let read_error = |error| CpioError::Read {
                        path: source.clone(),
                        source: error,
                    };
                    let mut file = std::fs::File::open(source).map_err(read_error)?;
                    let size_bytes = file.metadata().map_err(read_error)?.len();
                    writer.file(name, owner, size_bytes, &mut file, source.clone())?;
                }
            },
            EntryKind::Node { kind, major, minor } => {
                writer.node(name, owner, *kind, *major, *minor)?
            }
            EntryKind::Symlink { target } => writer.symlink(name, target, owner)?,
        }
    }
    writer.finish()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
