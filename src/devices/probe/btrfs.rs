//! btrfs (`btrfs_super_block`, the primary copy at 64 KiB).

use std::io::{Read, Seek};

use super::{label_string, uuid_string, Device, FsInfo, FsType, ProbeError};
use crate::bytes::field;

const BTRFS_SB_OFFSET_BYTES: u64 = 64 * 1024;

pub(super) fn probe_btrfs<R: Read + Seek>(
    device: &mut Device<'_, R>,
) -> Result<Option<FsInfo>, ProbeError> {
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
    Some(FsInfo::new(
        FsType::Btrfs,
        uuid_string(field(sb, 0x20, 16)),
        label_string(field(sb, 0x12B, 256)),
    ))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
