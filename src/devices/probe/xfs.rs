//! XFS (`xfs_sb`, big-endian).

use super::{label_string, uuid_string, FsInfo, FsType};
use crate::bytes::{be32, field};

pub(super) fn parse_xfs(head: &[u8]) -> Option<FsInfo> {
    if field(head, 0, 4) != b"XFSB" {
        return None;
    }
    // A sane block size keeps stray "XFSB" bytes (say, in a file at offset 0 of an
    // unpartitioned image) from being taken for a filesystem.
    let block_size_bytes = be32(head, 4);
    if !(512..=65536).contains(&block_size_bytes) || !block_size_bytes.is_power_of_two() {
        return None;
    }
    Some(FsInfo::new(
        FsType::Xfs,
        uuid_string(field(head, 0x20, 16)),
        label_string(field(head, 0x6C, 12)),
    ))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
