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
//! Only a few small regions are read (at most a few KiB per filesystem type): this
//! runs on the boot path for every block device.

use super::bytes::{be32, field, le16, le32};
use std::fmt;
use std::io::{self, Read, Seek};
use std::str::FromStr;

use thiserror::Error;

/// Errors from probing a device.
#[derive(Debug, Error)]
pub(crate) enum ProbeError {
    #[error("cannot read {len_bytes} bytes at offset {offset_bytes}")]
    Read {
        offset_bytes: u64,
        len_bytes: usize,
        #[source]
        source: io::Error,
    },
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
        if let Some(info) = parse_ext(head) {
            return Ok(info);
        }
        if let Some(info) = parse_xfs(head) {
            return Ok(Some(info));
        }
    }
    if let Some(info) = probe_btrfs(&mut device)? {
        return Ok(Some(info));
    }
    if let Some(head) = &head {
        if let Some(info) = probe_vfat(&mut device, head)? {
            return Ok(Some(info));
        }
    }
    if let Some(info) = probe_swap(&mut device, head.as_deref())? {
        return Ok(Some(info));
    }
    probe_iso9660(&mut device)
}

const HEAD_LEN_BYTES: usize = 4096;

/// The device with its size, so every read can first check it fits.
struct Device<'a, R> {
    dev: &'a mut R,
    size_bytes: u64,
}

impl<R: Read + Seek> Device<'_, R> {
    /// `len_bytes` bytes at `offset_bytes`, or `None` when the region runs past the
    /// end of the device.
    fn read_at(
        &mut self,
        offset_bytes: u64,
        len_bytes: usize,
    ) -> Result<Option<Vec<u8>>, ProbeError> {
        super::bytes::read_region(self.dev, self.size_bytes, offset_bytes, len_bytes).map_err(
            |source| ProbeError::Read {
                offset_bytes,
                len_bytes,
                source,
            },
        )
    }
}

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

// ---------------------------------------------------------------------------------
// ext2/3/4

const EXT_SB_OFFSET_BYTES: usize = 1024;
const EXT_MAGIC: u16 = 0xEF53;
const EXT_COMPAT_HAS_JOURNAL: u32 = 0x4;
const EXT_INCOMPAT_RECOVER: u32 = 0x4;
const EXT_INCOMPAT_JOURNAL_DEV: u32 = 0x8;
/// Features an ext2 driver understands (FILETYPE, META_BG); libblkid calls anything
/// outside these ext4. ext3 additionally understands RECOVER.
const EXT2_INCOMPAT_SUPPORTED: u32 = 0x2 | 0x10;
const EXT3_INCOMPAT_SUPPORTED: u32 = EXT2_INCOMPAT_SUPPORTED | EXT_INCOMPAT_RECOVER;
/// SPARSE_SUPER, LARGE_FILE, BTREE_DIR: what ext2 and ext3 understand read-only.
const EXT3_RO_COMPAT_SUPPORTED: u32 = 0x1 | 0x2 | 0x4;

/// `Some(None)` for an ext superblock that is not a filesystem (an external journal
/// device), `None` when there is no ext superblock at all.
fn parse_ext(head: &[u8]) -> Option<Option<FsInfo>> {
    let sb = field(head, EXT_SB_OFFSET_BYTES, 1024);
    if le16(sb, 0x38) != EXT_MAGIC {
        return None;
    }
    let compat = le32(sb, 0x5C);
    let incompat = le32(sb, 0x60);
    let ro_compat = le32(sb, 0x64);
    if incompat & EXT_INCOMPAT_JOURNAL_DEV != 0 {
        // blkid calls this "jbd": a journal for some other ext3/4, never mountable.
        return Some(None);
    }
    // libblkid's rule: a filesystem is ext2 or ext3 only if an ext2/ext3 driver would
    // understand every feature it has; anything newer (extents, 64bit, flex_bg,
    // huge_file, metadata_csum, ...) is ext4.
    let old_ro_compat = ro_compat & !EXT3_RO_COMPAT_SUPPORTED == 0;
    let fs_type = if compat & EXT_COMPAT_HAS_JOURNAL == 0 {
        if old_ro_compat && incompat & !EXT2_INCOMPAT_SUPPORTED == 0 {
            FsType::Ext2
        } else {
            FsType::Ext4
        }
    } else if old_ro_compat && incompat & !EXT3_INCOMPAT_SUPPORTED == 0 {
        FsType::Ext3
    } else {
        FsType::Ext4
    };
    Some(Some(FsInfo {
        fs_type,
        uuid: uuid_string(field(sb, 0x68, 16)),
        label: label_string(field(sb, 0x78, 16)),
        needs_recovery: incompat & EXT_INCOMPAT_RECOVER != 0,
    }))
}

// ---------------------------------------------------------------------------------
// XFS

fn parse_xfs(head: &[u8]) -> Option<FsInfo> {
    if field(head, 0, 4) != b"XFSB" {
        return None;
    }
    // A sane block size keeps stray "XFSB" bytes (say, in a file at offset 0 of an
    // unpartitioned image) from being taken for a filesystem.
    let block_size_bytes = be32(head, 4);
    if !(512..=65536).contains(&block_size_bytes) || !block_size_bytes.is_power_of_two() {
        return None;
    }
    Some(FsInfo {
        fs_type: FsType::Xfs,
        uuid: uuid_string(field(head, 0x20, 16)),
        label: label_string(field(head, 0x6C, 12)),
        needs_recovery: false,
    })
}

// ---------------------------------------------------------------------------------
// btrfs

const BTRFS_SB_OFFSET_BYTES: u64 = 64 * 1024;

fn probe_btrfs<R: Read + Seek>(device: &mut Device<'_, R>) -> Result<Option<FsInfo>, ProbeError> {
    // The label (256 bytes at 0x12B) is the last field needed.
    let Some(sb) = device.read_at(BTRFS_SB_OFFSET_BYTES, 0x12B + 256)? else {
        return Ok(None);
    };
    Ok(parse_btrfs(&sb))
}

fn parse_btrfs(sb: &[u8]) -> Option<FsInfo> {
    if field(sb, 0x40, 8) != b"_BHRfS_M" {
        return None;
    }
    Some(FsInfo {
        fs_type: FsType::Btrfs,
        uuid: uuid_string(field(sb, 0x20, 16)),
        label: label_string(field(sb, 0x12B, 256)),
        needs_recovery: false,
    })
}

// ---------------------------------------------------------------------------------
// vfat

const FAT_DIR_ENTRY_BYTES: usize = 32;
const FAT_ATTR_VOLUME_ID: u8 = 0x08;
const FAT_ATTR_DIR: u8 = 0x10;
const FAT_ATTR_LONG_NAME: u8 = 0x0F;
const FAT_ATTR_MASK: u8 = 0x3F;
/// How much of the root directory to scan for the volume label entry. mkfs.fat and
/// fatlabel put it first; the cap keeps a corrupt entry count from making us read
/// megabytes on the boot path.
const FAT_ROOT_SCAN_MAX_BYTES: u64 = 64 * 1024;
const FAT_NO_NAME: &[u8] = b"NO NAME    ";

/// The BIOS parameter block fields that locate the root directory.
struct FatGeometry {
    sector_size_bytes: u64,
    sectors_per_cluster: u64,
    reserved_sectors: u64,
    fat_count: u64,
}

fn probe_vfat<R: Read + Seek>(
    device: &mut Device<'_, R>,
    head: &[u8],
) -> Result<Option<FsInfo>, ProbeError> {
    let Some(geometry) = fat_geometry(head) else {
        return Ok(None);
    };
    let fat16_size_sectors = u64::from(le16(head, 0x16));
    let fat32_size_sectors = u64::from(le32(head, 0x24));
    // FAT32 has no 16-bit FAT size; its extended BPB sits 0x1C bytes further on.
    let (is_fat32, ebpb_at) = if fat16_size_sectors != 0 {
        (false, 0x24)
    } else if fat32_size_sectors != 0 {
        (true, 0x40)
    } else {
        return Ok(None);
    };
    let has_ebpb = field(head, ebpb_at + 2, 1) == [0x29];
    let serial = field(head, ebpb_at + 3, 4);
    let boot_label = if has_ebpb {
        field(head, ebpb_at + 7, 11)
    } else {
        &[]
    };

    let root_label = if is_fat32 {
        let root_cluster = u64::from(le32(head, 0x2C));
        fat32_root_region(&geometry, fat32_size_sectors, root_cluster)
    } else {
        let root_entries = u64::from(le16(head, 0x11));
        fat16_root_region(&geometry, fat16_size_sectors, root_entries)
    };
    let root_label = match root_label {
        Some((offset_bytes, len_bytes)) => match device.read_at(offset_bytes, len_bytes)? {
            Some(dir) => find_volume_label_entry(&dir),
            None => None,
        },
        None => None,
    };

    // blkid 2.38 reports LABEL only from the root directory entry (and the boot
    // sector's as LABEL_FATBOOT); older blkid fell back to the boot sector label.
    // mkfs.fat and fatlabel write both, so we fall back too: a LABEL= that worked with
    // either version keeps working.
    let label = match root_label {
        Some(name) => label_string(&name),
        None if boot_label != FAT_NO_NAME => label_string(boot_label),
        None => None,
    };
    let uuid = match serial {
        [a, b, c, d] if serial.iter().any(|&x| x != 0) => {
            Some(format!("{d:02X}{c:02X}-{b:02X}{a:02X}"))
        }
        _ => None,
    };
    Ok(Some(FsInfo {
        fs_type: FsType::Vfat,
        uuid,
        label,
        needs_recovery: false,
    }))
}

/// The BPB if the sector looks like a FAT boot sector: a jump instruction, the
/// 0x55AA signature and sane geometry. The geometry checks are what keep an MBR or an
/// NTFS/exFAT boot sector (which share the jump and signature) from matching.
fn fat_geometry(head: &[u8]) -> Option<FatGeometry> {
    if !matches!(field(head, 0, 1), [0xEB] | [0xE9]) || field(head, 510, 2) != [0x55, 0xAA] {
        return None;
    }
    let sector_size_bytes = le16(head, 0x0B);
    let sectors_per_cluster = *field(head, 0x0D, 1).first()?;
    let reserved_sectors = le16(head, 0x0E);
    let fat_count = *field(head, 0x10, 1).first()?;
    let media = *field(head, 0x15, 1).first()?;
    let sane = (512..=4096).contains(&sector_size_bytes)
        && sector_size_bytes.is_power_of_two()
        && sectors_per_cluster.is_power_of_two()
        && reserved_sectors != 0
        && fat_count != 0
        && (media == 0xF0 || media >= 0xF8);
    sane.then(|| FatGeometry {
        sector_size_bytes: u64::from(sector_size_bytes),
        sectors_per_cluster: u64::from(sectors_per_cluster),
        reserved_sectors: u64::from(reserved_sectors),
        fat_count: u64::from(fat_count),
    })
}

/// FAT12/16: the root directory is a fixed area right after the FATs.
fn fat16_root_region(
    geometry: &FatGeometry,
    fat_size_sectors: u64,
    root_entries: u64,
) -> Option<(u64, usize)> {
    let start_sectors = geometry
        .fat_count
        .checked_mul(fat_size_sectors)?
        .checked_add(geometry.reserved_sectors)?;
    let offset_bytes = start_sectors.checked_mul(geometry.sector_size_bytes)?;
    let len_bytes = root_entries
        .checked_mul(FAT_DIR_ENTRY_BYTES as u64)?
        .min(FAT_ROOT_SCAN_MAX_BYTES);
    Some((offset_bytes, usize::try_from(len_bytes).ok()?))
}

/// FAT32: the root directory is a cluster chain; only its first cluster is scanned.
fn fat32_root_region(
    geometry: &FatGeometry,
    fat_size_sectors: u64,
    root_cluster: u64,
) -> Option<(u64, usize)> {
    // Cluster numbering starts at 2, at the first sector after the FATs.
    let cluster_index = root_cluster.checked_sub(2)?;
    let data_start_sectors = geometry
        .fat_count
        .checked_mul(fat_size_sectors)?
        .checked_add(geometry.reserved_sectors)?;
    let root_sectors = cluster_index
        .checked_mul(geometry.sectors_per_cluster)?
        .checked_add(data_start_sectors)?;
    let offset_bytes = root_sectors.checked_mul(geometry.sector_size_bytes)?;
    let len_bytes = geometry
        .sectors_per_cluster
        .checked_mul(geometry.sector_size_bytes)?
        .min(FAT_ROOT_SCAN_MAX_BYTES);
    Some((offset_bytes, usize::try_from(len_bytes).ok()?))
}

/// The 11-byte name of the volume label entry in a directory, if there is one.
fn find_volume_label_entry(dir: &[u8]) -> Option<[u8; 11]> {
    for entry in dir.chunks_exact(FAT_DIR_ENTRY_BYTES) {
        let mut name: [u8; 11] = field(entry, 0, 11).try_into().ok()?;
        let attr = *field(entry, 11, 1).first()?;
        match name[0] {
            0x00 => return None, // end of directory
            0xE5 => continue,    // deleted entry
            _ => {}
        }
        if attr & FAT_ATTR_MASK == FAT_ATTR_LONG_NAME {
            continue;
        }
        if attr & (FAT_ATTR_VOLUME_ID | FAT_ATTR_DIR) == FAT_ATTR_VOLUME_ID {
            // 0x05 stands for a real 0xE5 first byte, which would read as "deleted".
            if name[0] == 0x05 {
                name[0] = 0xE5;
            }
            return Some(name);
        }
    }
    None
}

// ---------------------------------------------------------------------------------
// swap

/// Page sizes a swap area may have been made for; the signature ends its first page.
const SWAP_PAGE_SIZES_BYTES: [u64; 5] = [4096, 8192, 16384, 32768, 65536];
const SWAP_SIGNATURE_BYTES: usize = 10;

fn probe_swap<R: Read + Seek>(
    device: &mut Device<'_, R>,
    head: Option<&[u8]>,
) -> Result<Option<FsInfo>, ProbeError> {
    for page_size_bytes in SWAP_PAGE_SIZES_BYTES {
        let signature_at = page_size_bytes - SWAP_SIGNATURE_BYTES as u64;
        let signature = match (page_size_bytes, head) {
            (4096, Some(head)) => field(head, 4086, SWAP_SIGNATURE_BYTES).to_vec(),
            _ => match device.read_at(signature_at, SWAP_SIGNATURE_BYTES)? {
                Some(signature) => signature,
                None => return Ok(None),
            },
        };
        match signature.as_slice() {
            // Version 0 swap has no UUID or label.
            b"SWAP-SPACE" => return Ok(Some(swap_info(None, None))),
            b"SWAPSPACE2" => {
                let header = match head {
                    Some(head) => field(head, 0x400, 0x30).to_vec(),
                    None => return Ok(None),
                };
                return Ok(parse_swap_v1_header(&header));
            }
            _ => {}
        }
    }
    Ok(None)
}

/// `header` starts at byte 0x400 of the device: version, last page, bad page count,
/// UUID, label.
fn parse_swap_v1_header(header: &[u8]) -> Option<FsInfo> {
    // mkswap writes the version in the machine's byte order; accept either.
    let version = field(header, 0, 4);
    if version != 1u32.to_le_bytes() && version != 1u32.to_be_bytes() {
        return None;
    }
    Some(swap_info(
        uuid_string(field(header, 0x0C, 16)),
        label_string(field(header, 0x1C, 16)),
    ))
}

fn swap_info(uuid: Option<String>, label: Option<String>) -> FsInfo {
    FsInfo {
        fs_type: FsType::Swap,
        uuid,
        label,
        needs_recovery: false,
    }
}

// ---------------------------------------------------------------------------------
// iso9660

const ISO_SECTOR_BYTES: usize = 2048;
/// The volume descriptor set starts at sector 16, after the system area.
const ISO_FIRST_DESCRIPTOR_SECTOR: u64 = 16;
/// Real images have a handful (primary, boot record, Joliet, terminator); the cap
/// bounds the scan on a corrupt image with no terminator.
const ISO_MAX_DESCRIPTORS: u64 = 32;
const ISO_TYPE_PRIMARY: u8 = 1;
const ISO_TYPE_SUPPLEMENTARY: u8 = 2;
const ISO_TYPE_TERMINATOR: u8 = 255;
const ISO_VOLUME_ID_AT: usize = 40;
const ISO_VOLUME_ID_BYTES: usize = 32;
const ISO_ESCAPE_SEQUENCES_AT: usize = 88;
const ISO_CREATED_AT: usize = 813;
const ISO_MODIFIED_AT: usize = 830;

fn probe_iso9660<R: Read + Seek>(device: &mut Device<'_, R>) -> Result<Option<FsInfo>, ProbeError> {
    let mut primary: Option<Vec<u8>> = None;
    let mut joliet: Option<Vec<u8>> = None;
    for index in 0..ISO_MAX_DESCRIPTORS {
        let offset_bytes = (ISO_FIRST_DESCRIPTOR_SECTOR + index) * ISO_SECTOR_BYTES as u64;
        let Some(descriptor) = device.read_at(offset_bytes, ISO_SECTOR_BYTES)? else {
            break;
        };
        if field(&descriptor, 1, 5) != b"CD001" {
            break;
        }
        match field(&descriptor, 0, 1) {
            [ISO_TYPE_TERMINATOR] => break,
            [ISO_TYPE_PRIMARY] if primary.is_none() => primary = Some(descriptor),
            [ISO_TYPE_SUPPLEMENTARY] if joliet.is_none() && is_joliet(&descriptor) => {
                joliet = Some(descriptor)
            }
            _ => {}
        }
    }
    Ok(primary.map(|primary| parse_iso9660(&primary, joliet.as_deref())))
}

/// A supplementary descriptor is Joliet when its escape sequences select UCS-2
/// level 1, 2 or 3.
fn is_joliet(descriptor: &[u8]) -> bool {
    matches!(
        field(descriptor, ISO_ESCAPE_SEQUENCES_AT, 3),
        b"%/@" | b"%/C" | b"%/E"
    )
}

fn parse_iso9660(primary: &[u8], joliet: Option<&[u8]>) -> FsInfo {
    let ascii_label = field(primary, ISO_VOLUME_ID_AT, ISO_VOLUME_ID_BYTES);
    let label = match joliet {
        None => label_string(ascii_label),
        Some(joliet) => {
            let utf16_label = field(joliet, ISO_VOLUME_ID_AT, ISO_VOLUME_ID_BYTES);
            let units = merge_joliet_label(utf16_label, ascii_label)
                .unwrap_or_else(|| utf16be_units(utf16_label));
            utf16_label_string(&units)
        }
    };
    let uuid = iso_date_uuid(field(primary, ISO_MODIFIED_AT, 17))
        .or_else(|| iso_date_uuid(field(primary, ISO_CREATED_AT, 17)));
    FsInfo {
        fs_type: FsType::Iso9660,
        uuid,
        label,
        needs_recovery: false,
    }
}

/// The volume date (16 ASCII digits and a time zone byte) as blkid's pseudo-UUID
/// `YYYY-MM-DD-HH-MM-SS-CC`; `None` when unset (all '0' and zone 0).
fn iso_date_uuid(date: &[u8]) -> Option<String> {
    let digits = field(date, 0, 16);
    let zone = field(date, 16, 1);
    if digits.len() != 16 || (digits.iter().all(|&b| b == b'0') && zone == [0]) {
        return None;
    }
    let mut out = String::with_capacity(22);
    for (i, &b) in digits.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10 | 12 | 14) {
            out.push('-');
        }
        out.push(char::from(b));
    }
    Some(out)
}

fn utf16be_units(bytes: &[u8]) -> Vec<u16> {
    bytes
        .chunks_exact(2)
        .map(|pair| u16::from_be_bytes([pair[0], pair[1]]))
        .collect()
}

/// Joliet holds at most 16 UTF-16 characters, the primary descriptor 32 of a
/// restricted ASCII set with '_' for anything it cannot hold. Like blkid, when the
/// Joliet label is a prefix of the ASCII one (case-insensitively, '_' matching
/// anything) rebuild the full label: Joliet's characters first, then the ASCII tail.
/// `None` when they disagree.
fn merge_joliet_label(utf16_label: &[u8], ascii_label: &[u8]) -> Option<Vec<u16>> {
    let units = utf16be_units(utf16_label);
    let mut merged = Vec::with_capacity(ascii_label.len());
    let mut unit_index = 0;
    let mut ascii_index = 0;
    while let (Some(&first_unit), Some(&ascii)) =
        (units.get(unit_index), ascii_label.get(ascii_index))
    {
        let mut unit = first_unit;
        // A surrogate pair stands for one character, which ASCII wrote as one '_'.
        if (0xD800..=0xDBFF).contains(&unit) {
            if let Some(&low) = units.get(unit_index + 1) {
                if (0xDC00..=0xDFFF).contains(&low) {
                    merged.push(unit);
                    unit_index += 1;
                    unit = low;
                }
            }
        }
        let ascii_unit = u16::from(ascii);
        if ascii == b'_' {
            merged.push(unit);
        } else if unit == u16::from(b'_') {
            merged.push(ascii_unit);
        } else if unit < 0x80 && u16::from(ascii.to_ascii_uppercase()) == ascii_upper(unit) {
            // ISO 9660 labels are upper case; Joliet keeps the case the user typed.
            merged.push(if ascii.is_ascii_uppercase() {
                unit
            } else {
                ascii_unit
            });
        } else {
            return None;
        }
        unit_index += 1;
        ascii_index += 1;
    }
    merged.extend(ascii_label.iter().skip(ascii_index).map(|&b| u16::from(b)));
    Some(merged)
}

fn ascii_upper(unit: u16) -> u16 {
    u8::try_from(unit).map_or(unit, |b| u16::from(b.to_ascii_uppercase()))
}

/// UTF-16 units up to the first NUL, decoded, trailing white space trimmed.
fn utf16_label_string(units: &[u16]) -> Option<String> {
    let end = units.iter().position(|&u| u == 0).unwrap_or(units.len());
    let text = String::from_utf16_lossy(units.get(..end).unwrap_or(&[]));
    non_empty(text.trim_end_matches(is_c_space))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) mod tests;
