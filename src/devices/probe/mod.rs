//! Identify the filesystem on a block device from its superblock, the way `blkid -p`
//! does, without libblkid: type, UUID, label and whether an ext3/4 journal needs
//! recovery.
//!
//! Offsets come from the on-disk formats (ext4 `struct ext4_super_block`, XFS
//! `xfs_sb`, btrfs `btrfs_super_block`, the FAT BPB, the Linux swap header, ECMA-119
//! volume descriptors); see section 3 of `storage-formats.md`. The rules for turning
//! raw bytes into UUID and LABEL strings follow util-linux 2.38 libblkid, so that
//! `root=UUID=...` and `LABEL=...` match what the installed system's fstab was
//! written against.
//!
//! One module per filesystem family (`ext`, `xfs`, `btrfs`, `vfat`, `swap`,
//! `iso9660`); a new filesystem is a new module here and one line in [`probe`].
//!
//! Only a few small regions are read (at most a few KiB per filesystem type): this
//! runs on the boot path for every block device.

use std::fmt;
use std::io::{Read, Seek};
use std::str::FromStr;

use thiserror::Error;

use crate::bytes::{RegionReadError, SizedDevice};

mod btrfs;
mod ext;
mod iso9660;
mod swap;
mod vfat;
mod xfs;

/// Errors from probing a device.
#[derive(Debug, Error)]
pub(crate) enum ProbeError {
    #[error(transparent)]
    Read(#[from] RegionReadError),
    #[error(
        "unknown filesystem type {name:?} \
         (known: ext2, ext3, ext4, xfs, btrfs, vfat, iso9660, swap)"
    )]
    UnknownFsType { name: String },
}

/// A filesystem type kboot can recognise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub(crate) enum FsType {
    Ext2,
    Ext3,
    Ext4,
    Xfs,
    Btrfs,
    Vfat,
    Iso9660,
    Swap,
}

impl FsType {
    /// Every type, in the order `FromStr` error messages list them.
    pub(crate) const ALL: [FsType; 8] = [
        FsType::Ext2,
        FsType::Ext3,
        FsType::Ext4,
        FsType::Xfs,
        FsType::Btrfs,
        FsType::Vfat,
        FsType::Iso9660,
        FsType::Swap,
    ];

    /// The name `blkid` prints as TYPE, which is also the kernel's filesystem name
    /// for `mount(2)` and `rootfstype=`.
    pub(crate) fn name(self) -> &'static str {
        match self {
            FsType::Ext2 => "ext2",
            FsType::Ext3 => "ext3",
            FsType::Ext4 => "ext4",
            FsType::Xfs => "xfs",
            FsType::Btrfs => "btrfs",
            FsType::Vfat => "vfat",
            FsType::Iso9660 => "iso9660",
            FsType::Swap => "swap",
        }
    }

    /// Whether the type can be mounted to look for kernels (swap cannot).
    pub(crate) fn mountable(self) -> bool {
        !matches!(self, FsType::Swap)
    }
}

impl fmt::Display for FsType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for FsType {
    type Err = ProbeError;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        FsType::ALL
            .into_iter()
            .find(|fs_type| fs_type.name() == name)
            .ok_or_else(|| ProbeError::UnknownFsType {
                name: name.to_owned(),
            })
    }
}

/// What a superblock says about the filesystem.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub(crate) struct FsInfo {
    pub fs_type: FsType,
    /// As `blkid` prints UUID; `None` when the filesystem has none (all zero).
    pub uuid: Option<String>,
    /// As `blkid` prints LABEL (trailing white space trimmed); `None` when empty.
    pub label: Option<String>,
    /// ext3/4 with a journal that must be replayed before a read-only mount can
    /// see consistent data (incompat RECOVER); false for every other type.
    pub needs_recovery: bool,
}

impl FsInfo {
    /// A filesystem with no journal to recover (every type but ext3/4).
    fn new(fs_type: FsType, uuid: Option<String>, label: Option<String>) -> FsInfo {
        FsInfo {
            fs_type,
            uuid,
            label,
            needs_recovery: false,
        }
    }
}

/// Identify the filesystem on `dev`, a device (or image) of `size_bytes` bytes.
///
/// `Ok(None)` when no known filesystem is there. A device too short to hold a given
/// superblock is simply not of that type.
pub(crate) fn probe<R: Read + Seek>(
    dev: &mut R,
    size_bytes: u64,
) -> Result<Option<FsInfo>, ProbeError> {
    let mut device = Device { dev, size_bytes };
    // One read covers the ext, XFS and FAT superblocks and the 4 KiB-page swap header.
    let head = device.read_at(0, HEAD_LEN_BYTES)?;
    if let Some(head) = &head {
        if let Some(info) = ext::parse_ext(head) {
            return Ok(info);
        }
        if let Some(info) = xfs::parse_xfs(head) {
            return Ok(Some(info));
        }
    }
    if let Some(info) = btrfs::probe_btrfs(&mut device)? {
        return Ok(Some(info));
    }
    if let Some(head) = &head {
        if let Some(info) = vfat::probe_vfat(&mut device, head)? {
            return Ok(Some(info));
        }
    }
    if let Some(info) = swap::probe_swap(&mut device, head.as_deref())? {
        return Ok(Some(info));
    }
    iso9660::probe_iso9660(&mut device)
}

const HEAD_LEN_BYTES: usize = 4096;

/// The device with its size, so every read can first check it fits.
type Device<'a, R> = SizedDevice<'a, R>;

/// A 16-byte UUID as `blkid` prints it: lowercase, hyphenated; `None` when all zero
/// (blkid does not report empty UUIDs).
fn uuid_string(bytes: &[u8]) -> Option<String> {
    if bytes.len() != 16 || bytes.iter().all(|&b| b == 0) {
        return None;
    }
    let mut out = String::with_capacity(36);
    for (i, b) in bytes.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push('-');
        }
        out.push_str(&format!("{b:02x}"));
    }
    Some(out)
}

/// C `isspace` for the ASCII range, which blkid uses to trim labels.
fn is_c_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\x0b' | '\x0c' | '\r')
}

/// A byte-string label as blkid reports it: up to the first NUL, trailing white space
/// trimmed, `None` when nothing is left.
fn label_string(bytes: &[u8]) -> Option<String> {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    let text = String::from_utf8_lossy(bytes.get(..end).unwrap_or(&[]));
    non_empty(text.trim_end_matches(is_c_space))
}

fn non_empty(text: &str) -> Option<String> {
    (!text.is_empty()).then(|| text.to_owned())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) mod tests;
