//! Linux swap areas: the signature at the end of the first page, then the v1 header
//! with UUID and label.

use std::io::{Read, Seek};

use super::{label_string, uuid_string, Device, FsInfo, FsType, ProbeError};
use crate::bytes::field;

/// Page sizes a swap area may have been made for; the signature ends its first page.
const SWAP_PAGE_SIZES_BYTES: [u64; 5] = [4096, 8192, 16384, 32768, 65536];
const SWAP_SIGNATURE_BYTES: usize = 10;

pub(super) fn probe_swap<R: Read + Seek>(
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
    FsInfo::new(FsType::Swap, uuid, label)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
