//! The one place that knows compressed formats: recognising them by their magic and
//! unpacking them with a bound on the output. Kernels (a `vmlinux.gz`, the payload
//! inside a bzImage), ramdisks and kernel modules (`.ko.gz`, `.ko.xz`, `.ko.zst`) all
//! come through here, so a format kboot reads for one it reads for all.
//!
//! Magics: gzip RFC 1952, xz (`xz-file-format.txt`), zstd RFC 8878, bzip2 `BZh`, the
//! kernel's LZ4 legacy framing (`lz4 -l`, kbuild's `cmd_lz4`); LZMA-alone and LZO are
//! recognised (kbuild can make them) but not unpacked.

use std::fmt;
use std::io::{self, Read};

/// A compressed format, recognised by its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Compression {
    Gzip,
    Xz,
    Zstd,
    Bzip2,
    /// The kernel's LZ4 "legacy" framing (`lz4 -l`): what kbuild writes for
    /// `CONFIG_KERNEL_LZ4`.
    Lz4Legacy,
    /// LZMA-alone (`.lzma`): recognised only.
    Lzma,
    /// lzop: recognised only.
    Lzo,
}

/// Why a stream could not be unpacked.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DecompressError {
    #[error("{compression} data unpacks to more than {limit_bytes} bytes")]
    TooBig {
        compression: Compression,
        limit_bytes: u64,
    },
    #[error("corrupt {compression} data: {source}")]
    Corrupt {
        compression: Compression,
        #[source]
        source: io::Error,
    },
    #[error(
        "{compression} is not a compression kboot can unpack (gzip, xz, zstd, bzip2 and lz4 are)"
    )]
    Unsupported { compression: Compression },
}

impl Compression {
    /// The compression `bytes` start with, if any.
    pub(crate) fn detect(bytes: &[u8]) -> Option<Compression> {
        const MAGICS: [(&[u8], Compression); 7] = [
            (&[0x1f, 0x8b], Compression::Gzip),
            (&[0xfd, b'7', b'z', b'X', b'Z', 0x00], Compression::Xz),
            (&[0x28, 0xb5, 0x2f, 0xfd], Compression::Zstd),
            (b"BZh", Compression::Bzip2),
            (&[0x02, 0x21, 0x4c, 0x18], Compression::Lz4Legacy),
            (&[0x5d, 0x00, 0x00], Compression::Lzma),
            (&[0x89, b'L', b'Z', b'O'], Compression::Lzo),
        ];
        MAGICS
            .iter()
            .find(|(magic, _)| bytes.starts_with(magic))
            .map(|&(_, compression)| compression)
    }

    /// The name the kernel's build and the command-line tools use.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Compression::Gzip => "gzip",
            Compression::Xz => "xz",
            Compression::Zstd => "zstd",
            Compression::Bzip2 => "bzip2",
            Compression::Lz4Legacy => "lz4",
            Compression::Lzma => "lzma",
            Compression::Lzo => "lzo",
        }
    }
}

impl serde::Serialize for Compression {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

impl fmt::Display for Compression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Unpacks `bytes`, refusing output longer than `limit_bytes` (a corrupt or hostile
/// stream must not make PID 1 allocate without bound).
pub(crate) fn decompress(
    compression: Compression,
    bytes: &[u8],
    limit_bytes: u64,
) -> Result<Vec<u8>, DecompressError> {
    let corrupt = |source: io::Error| DecompressError::Corrupt {
        compression,
        source,
    };
    let invalid = |what: String| corrupt(io::Error::new(io::ErrorKind::InvalidData, what));
    let mut out = Vec::new();
    match compression {
        Compression::Gzip => gunzip_members(bytes, limit_bytes, &mut out).map_err(corrupt)?,
        Compression::Bzip2 => {
            read_bounded(bzip2_rs::DecoderReader::new(bytes), limit_bytes, &mut out)
                .map_err(corrupt)?
        }
        Compression::Zstd => {
            let decoder = ruzstd::decoding::StreamingDecoder::new(bytes)
                .map_err(|e| invalid(e.to_string()))?;
            read_bounded(decoder, limit_bytes, &mut out).map_err(corrupt)?
        }
        Compression::Xz => {
            // lzma-rs writes into any `Write`; a bounded one stops a bomb early.
            let mut sink = BoundedWriter {
                out: &mut out,
                limit_bytes,
            };
            lzma_rs::xz_decompress(&mut io::BufReader::new(bytes), &mut sink)
                .map_err(|e| invalid(e.to_string()))?
        }
        Compression::Lz4Legacy => out = lz4_legacy(bytes, limit_bytes).map_err(invalid)?,
        Compression::Lzma | Compression::Lzo => {
            return Err(DecompressError::Unsupported { compression })
        }
    }
    if out.len() as u64 > limit_bytes {
        return Err(DecompressError::TooBig {
            compression,
            limit_bytes,
        });
    }
    Ok(out)
}

/// `bytes` unpacked when they start with a compression magic, else as they are.
pub(crate) fn decompress_if_compressed(
    bytes: Vec<u8>,
    limit_bytes: u64,
) -> Result<Vec<u8>, DecompressError> {
    match Compression::detect(&bytes) {
        Some(compression) => decompress(compression, &bytes, limit_bytes),
        None => Ok(bytes),
    }
}

/// Unpacks gzip members one after another while the bytes after one start with the
/// gzip magic again (as `zcat` does); anything else after a member, such as the size
/// word kbuild appends to a bzImage's payload, ends the stream.
fn gunzip_members(bytes: &[u8], limit_bytes: u64, out: &mut Vec<u8>) -> io::Result<()> {
    let mut rest = bytes;
    loop {
        let mut member = flate2::bufread::GzDecoder::new(rest);
        let room = limit_bytes.saturating_add(1) - out.len() as u64;
        (&mut member).take(room).read_to_end(out)?;
        rest = member.into_inner();
        if out.len() as u64 > limit_bytes || !rest.starts_with(&[0x1f, 0x8b]) {
            return Ok(());
        }
    }
}

/// Reads `reader` to its end into `out`, but at most one byte past `limit_bytes` (so
/// the caller sees that the limit was passed without reading further).
fn read_bounded(reader: impl Read, limit_bytes: u64, out: &mut Vec<u8>) -> io::Result<()> {
    reader
        .take(limit_bytes.saturating_add(1))
        .read_to_end(out)
        .map(drop)
}

/// A `Write` into a vector that fails once more than `limit_bytes` are in it.
struct BoundedWriter<'a> {
    out: &'a mut Vec<u8>,
    limit_bytes: u64,
}

impl io::Write for BoundedWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.out.len() as u64 > self.limit_bytes {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("output passes {} bytes", self.limit_bytes),
            ));
        }
        self.out.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

const LZ4_LEGACY_MAGIC: [u8; 4] = [0x02, 0x21, 0x4c, 0x18];
/// Legacy LZ4 frames hold blocks of at most 8 MiB.
const LZ4_LEGACY_BLOCK_BYTES: usize = 8 << 20;
/// The most one byte of an LZ4 block can unpack to: a match length goes on in bytes of
/// 255 each (the format's ratio bound, lz4's `LZ4_decompress_safe` docs).
const LZ4_MAX_RATIO: usize = 255;
/// Room over the ratio bound, so a block is never cut by rounding.
const LZ4_BOUND_SLACK_BYTES: usize = 64;

/// Unpacks the LZ4 legacy framing: the magic, then blocks each led by a u32 compressed
/// size (the magic may repeat between concatenated streams); kbuild appends the
/// decompressed size as a final u32, which reads as a block longer than what is left.
fn lz4_legacy(bytes: &[u8], limit_bytes: u64) -> Result<Vec<u8>, String> {
    let mut rest = bytes
        .strip_prefix(&LZ4_LEGACY_MAGIC)
        .ok_or("no LZ4 legacy magic")?;
    let mut out = Vec::new();
    while let Some((size, after)) = rest.split_first_chunk::<4>() {
        if *size == LZ4_LEGACY_MAGIC {
            rest = after;
            continue;
        }
        let size = u32::from_le_bytes(*size) as usize;
        let Some(block) = after.get(..size) else {
            break;
        };
        let start = out.len();
        if start as u64 > limit_bytes {
            return Err(format!("output passes {limit_bytes} bytes"));
        }
        // Room for what this block can hold, not a whole 8 MiB block: zero-filling
        // 8 MiB for each of 100,000 one-byte blocks costs half a minute.
        let room = size
            .saturating_mul(LZ4_MAX_RATIO)
            .saturating_add(LZ4_BOUND_SLACK_BYTES)
            .min(LZ4_LEGACY_BLOCK_BYTES);
        out.resize(start + room, 0);
        let at = bytes.len() - rest.len();
        let written = lz4_flex::block::decompress_into(block, &mut out[start..])
            .map_err(|e| format!("block at byte {at}: {e}"))?;
        out.truncate(start + written);
        rest = &after[size..];
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
