//! Fixed-layout binary structures, for every parser and builder in the crate: bounded
//! reads of a device region (with the one [`RegionReadError`] every device parser
//! wraps), little/big-endian fields that cannot panic (superblocks, partition tables,
//! md, LVM, the bzImage setup header, ELF notes) and the writers of the zero page and
//! the purgatory's parameters.

use std::io::{self, Read, Seek, SeekFrom};

use thiserror::Error;

/// Reading `len_bytes` bytes at `offset_bytes` of a device failed.
#[derive(Debug, Error)]
#[error("cannot read {len_bytes} bytes at offset {offset_bytes}: {source}")]
pub(crate) struct RegionReadError {
    pub offset_bytes: u64,
    pub len_bytes: u64,
    #[source]
    pub source: io::Error,
}

/// A device (or image) with its size, so every read can first check it fits.
pub(crate) struct SizedDevice<'a, R> {
    pub dev: &'a mut R,
    pub size_bytes: u64,
}

impl<R: Read + Seek> SizedDevice<'_, R> {
    /// `len_bytes` bytes at `offset_bytes`, or `None` when the region runs past the
    /// end of the device.
    pub(crate) fn read_at(
        &mut self,
        offset_bytes: u64,
        len_bytes: usize,
    ) -> Result<Option<Vec<u8>>, RegionReadError> {
        read_region(self.dev, self.size_bytes, offset_bytes, len_bytes)
    }
}

/// `len_bytes` bytes at `offset_bytes` of a device of `size_bytes`, or `None` when the
/// region runs past its end (a device too small for a structure simply lacks it).
pub(crate) fn read_region<R: Read + Seek>(
    dev: &mut R,
    size_bytes: u64,
    offset_bytes: u64,
    len_bytes: usize,
) -> Result<Option<Vec<u8>>, RegionReadError> {
    let fits = u64::try_from(len_bytes)
        .ok()
        .and_then(|len| offset_bytes.checked_add(len))
        .is_some_and(|end| end <= size_bytes);
    if !fits {
        return Ok(None);
    }
    let mut buf = vec![0u8; len_bytes];
    read_exact_at(dev, offset_bytes, &mut buf)?;
    Ok(Some(buf))
}

/// Fills `buf` from `offset_bytes`; running past the end of the device is an error.
pub(crate) fn read_exact_at<R: Read + Seek>(
    dev: &mut R,
    offset_bytes: u64,
    buf: &mut [u8],
) -> Result<(), RegionReadError> {
    dev.seek(SeekFrom::Start(offset_bytes))
        .and_then(|_| dev.read_exact(buf))
        .map_err(|source| RegionReadError {
            offset_bytes,
            // A slice length always fits a u64.
            len_bytes: buf.len() as u64,
            source,
        })
}

/// `len_bytes` bytes at `offset_bytes`, with the length as found on disk (a u64);
/// running past the end of the device is an error.
pub(crate) fn read_vec_at<R: Read + Seek>(
    dev: &mut R,
    offset_bytes: u64,
    len_bytes: u64,
) -> Result<Vec<u8>, RegionReadError> {
    let len = usize::try_from(len_bytes).map_err(|_| RegionReadError {
        offset_bytes,
        len_bytes,
        source: io::Error::new(io::ErrorKind::InvalidInput, "length too large"),
    })?;
    let mut buf = vec![0u8; len];
    read_exact_at(dev, offset_bytes, &mut buf)?;
    Ok(buf)
}

/// `len` bytes at `at`, or an empty slice when out of range; callers treat a short
/// field as absent or invalid.
pub(crate) fn field(buf: &[u8], at: usize, len: usize) -> &[u8] {
    at.checked_add(len)
        .and_then(|end| buf.get(at..end))
        .unwrap_or(&[])
}

/// The `N` bytes at `at`, or `None` when out of range.
fn array<const N: usize>(buf: &[u8], at: usize) -> Option<[u8; N]> {
    field(buf, at, N).try_into().ok()
}

/// Little-endian u16 at `at`; 0 when out of range.
pub(crate) fn le16(buf: &[u8], at: usize) -> u16 {
    array(buf, at).map_or(0, u16::from_le_bytes)
}

/// Little-endian u32 at `at`; 0 when out of range.
pub(crate) fn le32(buf: &[u8], at: usize) -> u32 {
    array(buf, at).map_or(0, u32::from_le_bytes)
}

/// Little-endian u64 at `at`; 0 when out of range.
pub(crate) fn le64(buf: &[u8], at: usize) -> u64 {
    array(buf, at).map_or(0, u64::from_le_bytes)
}

/// Big-endian u16 at `at`; 0 when out of range.
pub(crate) fn be16(buf: &[u8], at: usize) -> u16 {
    array(buf, at).map_or(0, u16::from_be_bytes)
}

/// Big-endian u32 at `at`; 0 when out of range.
pub(crate) fn be32(buf: &[u8], at: usize) -> u32 {
    array(buf, at).map_or(0, u32::from_be_bytes)
}

/// Native-endian u32 at `at` (kernel ioctl structures); 0 when out of range.
pub(crate) fn ne32(buf: &[u8], at: usize) -> u32 {
    array(buf, at).map_or(0, u32::from_ne_bytes)
}

/// Native-endian u64 at `at` (kernel ioctl structures); 0 when out of range.
pub(crate) fn ne64(buf: &[u8], at: usize) -> u64 {
    array(buf, at).map_or(0, u64::from_ne_bytes)
}

/// Writes `bytes` at `at`; a write out of range is left out, as a read out of range
/// reads 0 (every caller writes a fixed layout into a buffer sized for it).
fn put(buf: &mut [u8], at: usize, bytes: &[u8]) {
    if let Some(slot) = at
        .checked_add(bytes.len())
        .and_then(|end| buf.get_mut(at..end))
    {
        slot.copy_from_slice(bytes);
    }
}

/// Writes a little-endian u16 at `at`.
pub(crate) fn put_le16(buf: &mut [u8], at: usize, value: u16) {
    put(buf, at, &value.to_le_bytes());
}

/// Writes a little-endian u32 at `at`.
pub(crate) fn put_le32(buf: &mut [u8], at: usize, value: u32) {
    put(buf, at, &value.to_le_bytes());
}

/// Writes a little-endian u64 at `at`.
pub(crate) fn put_le64(buf: &mut [u8], at: usize, value: u64) {
    put(buf, at, &value.to_le_bytes());
}

/// Writes a native-endian u32 at `at` (kernel ioctl structures).
pub(crate) fn put_ne32(buf: &mut [u8], at: usize, value: u32) {
    put(buf, at, &value.to_ne_bytes());
}

/// Writes a native-endian u64 at `at` (kernel ioctl structures).
pub(crate) fn put_ne64(buf: &mut [u8], at: usize, value: u64) {
    put(buf, at, &value.to_ne_bytes());
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
