//! The compressions a kernel may come wrapped in, and the one function that unpacks
//! them ([`decompress`]): for a compressed vmlinux file (`read_kernel`) and for the
//! payload inside a bzImage (`kboot kexec --info`). Pure: bytes in, bytes out, bounded.

use std::io::{self, Error, ErrorKind, Read};

/// Decompressed kernels larger than this are refused (Xen's builder caps at 1 GiB too):
/// a corrupt header must not make PID 1 allocate without bound.
const MAX_DECOMPRESSED_BYTES: u64 = 1 << 30;

/// The compressions a kernel file may be wrapped in, by their magic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Compression {
    Gzip,
    Xz,
    Zstd,
    Bzip2,
    Lz4Legacy,
}

impl Compression {
    pub(crate) fn detect(bytes: &[u8]) -> Option<Compression> {
        const MAGICS: [(&[u8], Compression); 5] = [
            (&[0x1f, 0x8b], Compression::Gzip),
            (&[0xfd, b'7', b'z', b'X', b'Z', 0x00], Compression::Xz),
            (&[0x28, 0xb5, 0x2f, 0xfd], Compression::Zstd),
            (b"BZh", Compression::Bzip2),
            (&LZ4_LEGACY_MAGIC, Compression::Lz4Legacy),
        ];
        MAGICS
            .iter()
            .find(|(magic, _)| bytes.starts_with(magic))
            .map(|(_, c)| *c)
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Compression::Gzip => "gzip",
            Compression::Xz => "xz",
            Compression::Zstd => "zstd",
            Compression::Bzip2 => "bzip2",
            Compression::Lz4Legacy => "lz4",
        }
    }
}

/// What follows the compressed stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framing {
    /// A whole file: every gzip member is unpacked (as `zcat` does); more than
    /// `MAX_DECOMPRESSED_BYTES` is an error.
    File,
    /// A bzImage's payload: one stream, then the decompressed size kbuild appends
    /// (which is no gzip member); unpacked up to `limit_bytes`, the rest cut off.
    Payload { limit_bytes: u64 },
}

/// Unpacks `bytes`, bounded as `framing` says.
pub(crate) fn decompress(
    compression: Compression,
    bytes: &[u8],
    framing: Framing,
) -> io::Result<Vec<u8>> {
    let too_big = || Error::new(ErrorKind::InvalidData, "decompresses to more than 1 GiB");
    let mut out = Vec::new();
    let bounded = |reader: &mut dyn Read, out: &mut Vec<u8>| -> io::Result<()> {
        match framing {
            Framing::File => {
                reader.take(MAX_DECOMPRESSED_BYTES + 1).read_to_end(out)?;
                if out.len() as u64 > MAX_DECOMPRESSED_BYTES {
                    return Err(too_big());
                }
            }
            Framing::Payload { limit_bytes } => {
                reader.take(limit_bytes).read_to_end(out)?;
            }
        }
        Ok(())
    };
    match (compression, framing) {
        (Compression::Gzip, Framing::File) => {
            bounded(&mut flate2::read::MultiGzDecoder::new(bytes), &mut out)?
        }
        (Compression::Gzip, Framing::Payload { .. }) => {
            bounded(&mut flate2::read::GzDecoder::new(bytes), &mut out)?
        }
        (Compression::Bzip2, _) => bounded(&mut bzip2_rs::DecoderReader::new(bytes), &mut out)?,
        (Compression::Zstd, _) => {
            let mut decoder = ruzstd::decoding::StreamingDecoder::new(bytes)
                .map_err(|e| Error::new(ErrorKind::InvalidData, e.to_string()))?;
            bounded(&mut decoder, &mut out)?
        }
        (Compression::Xz, _) => {
            lzma_rs::xz_decompress(&mut io::BufReader::new(bytes), &mut out)
                .map_err(|e| Error::new(ErrorKind::InvalidData, e.to_string()))?;
            if out.len() as u64 > MAX_DECOMPRESSED_BYTES {
                return Err(too_big());
            }
        }
        (Compression::Lz4Legacy, _) => {
            out = lz4_legacy(bytes)
                .ok_or_else(|| Error::new(ErrorKind::InvalidData, "bad LZ4 legacy stream"))?
        }
    }
    Ok(out)
}

pub(crate) const LZ4_LEGACY_MAGIC: [u8; 4] = [0x02, 0x21, 0x4c, 0x18];
/// Legacy LZ4 frames hold blocks of at most 8 MiB.
const LZ4_LEGACY_BLOCK_BYTES: usize = 8 << 20;
/// No vmlinux is this big; a bound keeps a hostile stream from exhausting memory.
const MAX_LZ4_LEGACY_BYTES: usize = 512 << 20;

/// Unpacks the kernel's LZ4 legacy format (lz4 -l, as kbuild's `cmd_lz4` writes it):
/// the magic, then blocks each led by a u32 compressed size; kbuild appends the
/// decompressed size as a final u32, which reads as a block too long for what is left.
fn lz4_legacy(payload: &[u8]) -> Option<Vec<u8>> {
    let mut rest = payload.strip_prefix(&LZ4_LEGACY_MAGIC)?;
    let mut out = Vec::new();
    while rest.len() >= 4 {
        let (size, after) = rest.split_at(4);
        if size == LZ4_LEGACY_MAGIC {
            rest = after;
            continue;
        }
        let size = u32::from_le_bytes(size.try_into().ok()?) as usize;
        if size > after.len() {
            break;
        }
        let start = out.len();
        if start + LZ4_LEGACY_BLOCK_BYTES > MAX_LZ4_LEGACY_BYTES {
            return None;
        }
        out.resize(start + LZ4_LEGACY_BLOCK_BYTES, 0);
        let written = lz4_flex::block::decompress_into(&after[..size], &mut out[start..]).ok()?;
        out.truncate(start + written);
        rest = &after[size..];
    }
    Some(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
