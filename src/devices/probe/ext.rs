//! ext2, ext3 and ext4 (`struct ext4_super_block`), typed the way libblkid tells
//! them apart.

use super::{label_string, uuid_string, FsInfo, FsType};
use crate::bytes::{field, le16, le32};

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
pub(super) fn parse_ext(head: &[u8]) -> Option<Option<FsInfo>> {
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
