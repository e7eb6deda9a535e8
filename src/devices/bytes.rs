//! Reading fixed-layout on-disk structures: bounded reads of a device region and
//! little/big-endian fields that cannot panic. Shared by every superblock and label
//! parser (filesystems, partition tables, md, LVM).

use std::io::{self, Read, Seek, SeekFrom};

/// `len_bytes` bytes at `offset_bytes` of a device of `size_bytes`, or `None` when the
/// region runs past its end (a device too small for a structure simply lacks it).
pub(crate) fn read_region<R: Read + Seek>(
    dev: &mut R,
    size_bytes: u64,
    offset_bytes: u64,
    len_bytes: usize,
) -> io::Result<Option<Vec<u8>>> {
    let fits = u64::try_from(len_bytes)
        .ok()
        .and_then(|len| offset_bytes.checked_add(len))
        .is_some_and(|end| end <= size_bytes);
    if !fits {
        return Ok(None);
    }
    let mut buf = vec![0u8; len_bytes];
    dev.seek(SeekFrom::Start(offset_bytes))?;
    dev.read_exact(&mut buf)?;
    Ok(Some(buf))
}

/// `len` bytes at `at`, or an empty slice when out of range; callers treat a short
/// field as absent or invalid.
pub(crate) fn field(buf: &[u8], at: usize, len: usize) -> &[u8] {
    at.checked_add(len)
        .and_then(|end| buf.get(at..end))
        .unwrap_or(&[])
}

/// Little-endian u16 at `at`; 0 when out of range.
pub(crate) fn le16(buf: &[u8], at: usize) -> u16 {
    field(buf, at, 2)
        .try_into()
        .map(u16::from_le_bytes)
        .unwrap_or(0)
}

/// Little-endian u32 at `at`; 0 when out of range.
pub(crate) fn le32(buf: &[u8], at: usize) -> u32 {
    field(buf, at, 4)
        .try_into()
        .map(u32::from_le_bytes)
        .unwrap_or(0)
}

/// Little-endian u64 at `at`; 0 when out of range.
pub(crate) fn le64(buf: &[u8], at: usize) -> u64 {
    field(buf, at, 8)
        .try_into()
        .map(u64::from_le_bytes)
        .unwrap_or(0)
}

/// Big-endian u32 at `at`; 0 when out of range.
pub(crate) fn be32(buf: &[u8], at: usize) -> u32 {
    field(buf, at, 4)
        .try_into()
        .map(u32::from_be_bytes)
        .unwrap_or(0)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
