//! The on-disk LVM2 physical volume: the label in one of the first four sectors, the
//! `pv_header` after it (PV UUID, size, data and metadata areas), and each metadata
//! area's `mda_header` with the circular buffer holding the VG metadata text.
//!
//! Layouts are lvm2's `lib/label/label.h`, `lib/format_text/layout.h` and
//! `format-text.c`; see section 2 of `storage-formats.md`. Only the label sector, the
//! 512-byte mda headers and the metadata texts are read.

use crate::bytes::{le32, le64, read_vec_at, RegionReadError};
use std::io::{Read, Seek};

use thiserror::Error;

use super::metadata::{self, MetadataError};

pub(crate) const SECTOR_BYTES: u64 = 512;
/// LVM looks for its label in sectors 0-3.
pub(crate) const LABEL_SCAN_SECTORS: u64 = 4;
const LABEL_ID: &[u8; 8] = b"LABELONE";
const LABEL_TYPE: &[u8; 8] = b"LVM2 001";
/// Offset of `offset_xl` in the label header: the label CRC covers from here to the
/// end of the sector.
const LABEL_CRC_START: usize = 20;
const MDA_HEADER_BYTES: u64 = 512;
const MDA_MAGIC: &[u8; 16] = b" LVM2 x[5A%r0N*>";
const MDA_VERSION: u32 = 1;
const RAW_LOCN_IGNORED: u32 = 1;
/// lvm2's `INITIAL_CRC`.
pub(crate) const INITIAL_CRC: u32 = 0xf597_a6cf;

#[derive(Debug, Error)]
pub(crate) enum LabelError {
    #[error(transparent)]
    Read(#[from] RegionReadError),
    #[error(
        "LVM label at offset {offset_bytes}: checksum {found:#010x}, expected {expected:#010x}"
    )]
    LabelChecksum {
        offset_bytes: u64,
        expected: u32,
        found: u32,
    },
    #[error("LVM label at offset {offset_bytes}: unsupported label type {found:?}")]
    LabelType { offset_bytes: u64, found: String },
    #[error("LVM label at offset {offset_bytes}: {what}")]
    BadLabel { offset_bytes: u64, what: String },
    #[error("LVM metadata area at offset {offset_bytes}: checksum {found:#010x}, expected {expected:#010x}")]
    MdaChecksum {
        offset_bytes: u64,
        expected: u32,
        found: u32,
    },
    #[error("LVM metadata area at offset {offset_bytes}: bad magic")]
    MdaMagic { offset_bytes: u64 },
    #[error("LVM metadata area at offset {offset_bytes}: {what}")]
    BadMda { offset_bytes: u64, what: String },
    #[error("LVM metadata text at offset {offset_bytes} ({size_bytes} bytes): checksum {found:#010x}, expected {expected:#010x}")]
    TextChecksum {
        offset_bytes: u64,
        size_bytes: u64,
        expected: u32,
        found: u32,
    },
    #[error("LVM metadata text at offset {offset_bytes}: {source}")]
    Text {
        offset_bytes: u64,
        #[source]
        source: MetadataError,
    },
}

/// lvm2's `calc_crc`: reflected CRC-32 (polynomial 0xedb88320) from `initial`, with no
/// final inversion.
pub(crate) fn calc_crc(initial: u32, bytes: &[u8]) -> u32 {
    const TABLE: [u32; 256] = {
        let mut table = [0u32; 256];
        let mut i = 0;
        while i < 256 {
            let mut crc = i as u32;
            let mut bit = 0;
            while bit < 8 {
                crc = if crc & 1 != 0 {
                    (crc >> 1) ^ 0xedb8_8320
                } else {
                    crc >> 1
                };
                bit += 1;
            }
            table[i] = crc;
            i += 1;
        }
        table
    };
    bytes.iter().fold(initial, |crc, &b| {
        TABLE[((crc ^ u32::from(b)) & 0xff) as usize] ^ (crc >> 8)
    })
}

/// A `{offset, size}` pair from the pv_header lists, in bytes from the PV start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DiskArea {
    pub offset_bytes: u64,
    /// 0 for a data area means "to the end of the device".
    pub size_bytes: u64,
}

/// One good copy of the VG metadata text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MetadataCopy {
    /// Where the metadata area starts on the PV.
    pub area_offset_bytes: u64,
    pub vg_name: String,
    pub seqno: u64,
    pub text: String,
}

#[derive(Debug)]
pub(crate) struct PhysicalVolume {
    /// As lvm prints it: `xxxxxx-xxxx-xxxx-xxxx-xxxx-xxxx-xxxxxx`.
    pub uuid: String,
    /// The sector holding the label (0-3). The next five fields are what the label
    /// says of the PV's layout: the boot path needs only the metadata, the tests check
    /// the parse against what pvcreate wrote.
    #[cfg(test)]
    pub label_sector: u64,
    /// The size recorded in the pv_header.
    #[cfg(test)]
    pub device_size_bytes: u64,
    /// Where extents start: the first data area's offset.
    #[cfg(test)]
    pub pe_start_bytes: Option<u64>,
    #[cfg(test)]
    pub data_areas: Vec<DiskArea>,
    #[cfg(test)]
    pub metadata_areas: Vec<DiskArea>,
    /// Good metadata copies (a PV in no VG, or with `--metadatacopies 0`, has none).
    pub metadata: Vec<MetadataCopy>,
    /// Metadata areas that could not be used, when another one could.
    pub damaged_metadata: Vec<LabelError>,
}

#[cfg(test)]
impl PhysicalVolume {
    /// The copy with the highest seqno.
    pub(crate) fn newest_metadata(&self) -> Option<&MetadataCopy> {
        self.metadata.iter().max_by_key(|m| m.seqno)
    }
}

/// Formats a 32-character PV/VG/LV id the way lvm prints it (6-4-4-4-4-4-6).
pub(crate) fn format_lvm_uuid(raw: &[u8]) -> String {
    let mut out = String::with_capacity(38);
    let mut at = 0;
    for (i, len) in [6usize, 4, 4, 4, 4, 4, 6].into_iter().enumerate() {
        if i > 0 {
            out.push('-');
        }
        for &b in raw.iter().skip(at).take(len) {
            out.push(char::from(b));
        }
        at += len;
    }
    out
}

/// The parsed label sector, before any metadata area is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PvHeader {
    pub uuid: String,
    pub label_sector: u64,
    pub device_size_bytes: u64,
    pub data_areas: Vec<DiskArea>,
    pub metadata_areas: Vec<DiskArea>,
}

/// Finds and checks the label in the first four sectors (`head`, which may be shorter
/// on tiny devices). `Ok(None)` when there is no label.
pub(crate) fn parse_label(head: &[u8]) -> Result<Option<PvHeader>, LabelError> {
    for sector in 0..LABEL_SCAN_SECTORS {
        let start = (sector * SECTOR_BYTES) as usize;
        let Some(buf) = head.get(start..start + SECTOR_BYTES as usize) else {
            break;
        };
        if &buf[0..8] != LABEL_ID {
            continue;
        }
        // A label copied to another sector (sector_xl disagrees) is not this one.
        if le64(buf, 8) != sector {
            continue;
        }
        let offset_bytes = sector * SECTOR_BYTES;
        let expected = le32(buf, 16);
        let found = calc_crc(INITIAL_CRC, &buf[LABEL_CRC_START..]);
        if expected != found {
            return Err(LabelError::LabelChecksum {
                offset_bytes,
                expected,
                found,
            });
        }
        if &buf[24..32] != LABEL_TYPE {
            return Err(LabelError::LabelType {
                offset_bytes,
                found: String::from_utf8_lossy(&buf[24..32]).into_owned(),
            });
        }
        return parse_pv_header(buf, sector).map(Some);
    }
    Ok(None)
}

fn parse_pv_header(sector_buf: &[u8], sector: u64) -> Result<PvHeader, LabelError> {
    let offset_bytes = sector * SECTOR_BYTES;
    let bad = |what: String| LabelError::BadLabel { offset_bytes, what };
    let offset_xl = le32(sector_buf, 20) as usize;
    // uuid[32] + device_size, then the lists.
    if offset_xl < 32 || offset_xl + 40 > sector_buf.len() {
        return Err(bad(format!(
            "pv_header offset {offset_xl} is outside the sector"
        )));
    }
    let raw_uuid = &sector_buf[offset_xl..offset_xl + 32];
    if !raw_uuid.iter().all(|b| b.is_ascii_alphanumeric()) {
        return Err(bad("PV UUID is not 32 letters and digits".into()));
    }
    let device_size_bytes = le64(sector_buf, offset_xl + 32);
    let mut at = offset_xl + 40;
    let mut read_list = |name: &str| -> Result<Vec<DiskArea>, LabelError> {
        let mut areas = Vec::new();
        loop {
            if at + 16 > sector_buf.len() {
                return Err(bad(format!("{name} list runs past the label sector")));
            }
            let area = DiskArea {
                offset_bytes: le64(sector_buf, at),
                size_bytes: le64(sector_buf, at + 8),
            };
            at += 16;
            if area.offset_bytes == 0 {
                return Ok(areas);
            }
            areas.push(area);
        }
    };
    let data_areas = read_list("data area")?;
    let metadata_areas = read_list("metadata area")?;
    Ok(PvHeader {
        uuid: format_lvm_uuid(raw_uuid),
        label_sector: sector,
        device_size_bytes,
        data_areas,
        metadata_areas,
    })
}

/// Where slot 0 of an mda header says the committed text is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RawLocation {
    /// Relative to the metadata area start.
    pub offset_bytes: u64,
    pub size_bytes: u64,
    pub checksum: u32,
    pub ignored: bool,
}

/// Checks a 512-byte mda header found at `area.offset_bytes` and returns its slot 0,
/// or `None` when the area holds no metadata yet.
pub(crate) fn parse_mda_header(
    buf: &[u8],
    area: DiskArea,
) -> Result<Option<RawLocation>, LabelError> {
    let offset_bytes = area.offset_bytes;
    let bad = |what: String| LabelError::BadMda { offset_bytes, what };
    if buf.len() < MDA_HEADER_BYTES as usize {
        return Err(bad("header is shorter than 512 bytes".into()));
    }
    let buf = &buf[..MDA_HEADER_BYTES as usize];
    let expected = le32(buf, 0);
    let found = calc_crc(INITIAL_CRC, &buf[4..]);
    if expected != found {
        return Err(LabelError::MdaChecksum {
            offset_bytes,
            expected,
            found,
        });
    }
    if &buf[4..20] != MDA_MAGIC {
        return Err(LabelError::MdaMagic { offset_bytes });
    }
    let version = le32(buf, 20);
    if version != MDA_VERSION {
        return Err(bad(format!("version {version}, expected {MDA_VERSION}")));
    }
    let start = le64(buf, 24);
    if start != area.offset_bytes {
        return Err(bad(format!("header says it starts at {start}")));
    }
    let size = le64(buf, 32);
    if size != area.size_bytes {
        return Err(bad(format!(
            "header says its size is {size}, the label says {}",
            area.size_bytes
        )));
    }
    let location = RawLocation {
        offset_bytes: le64(buf, 40),
        size_bytes: le64(buf, 48),
        checksum: le32(buf, 56),
        ignored: le32(buf, 60) & RAW_LOCN_IGNORED != 0,
    };
    if location.offset_bytes == 0 || location.size_bytes == 0 {
        return Ok(None);
    }
    if location.offset_bytes < MDA_HEADER_BYTES
        || location.offset_bytes >= size
        || location.size_bytes > size - MDA_HEADER_BYTES
    {
        return Err(bad(format!(
            "text at {}+{} does not fit the {size}-byte area",
            location.offset_bytes, location.size_bytes
        )));
    }
    Ok(Some(location))
}

/// The two byte ranges (relative to the area start) the text occupies: it runs to the
/// end of the area, then wraps around to just after the mda header.
pub(crate) fn text_ranges(location: RawLocation, area_size_bytes: u64) -> [(u64, u64); 2] {
    let first = location
        .size_bytes
        .min(area_size_bytes - location.offset_bytes);
    [
        (location.offset_bytes, first),
        (MDA_HEADER_BYTES, location.size_bytes - first),
    ]
}

fn read_metadata<R: Read + Seek>(
    dev: &mut R,
    area: DiskArea,
) -> Result<Option<MetadataCopy>, LabelError> {
    let header = read_vec_at(dev, area.offset_bytes, MDA_HEADER_BYTES)?;
    let Some(location) = parse_mda_header(&header, area)? else {
        return Ok(None);
    };
    if location.ignored {
        return Ok(None);
    }
    let text_offset_bytes = area.offset_bytes + location.offset_bytes;
    let mut text = Vec::new();
    for (relative, len) in text_ranges(location, area.size_bytes) {
        if len > 0 {
            text.extend(read_vec_at(dev, area.offset_bytes + relative, len)?);
        }
    }
    let found = calc_crc(INITIAL_CRC, &text);
    if found != location.checksum {
        return Err(LabelError::TextChecksum {
            offset_bytes: text_offset_bytes,
            size_bytes: location.size_bytes,
            expected: location.checksum,
            found,
        });
    }
    // lvm2 stores the text with its terminating NUL.
    while text.last() == Some(&0) {
        text.pop();
    }
    let text_err = |source| LabelError::Text {
        offset_bytes: text_offset_bytes,
        source,
    };
    let text = String::from_utf8(text).map_err(|_| {
        text_err(MetadataError::Syntax {
            line: 0,
            what: "text is not UTF-8".into(),
        })
    })?;
    let (vg_name, seqno) = metadata::name_and_seqno(&text).map_err(text_err)?;
    Ok(Some(MetadataCopy {
        area_offset_bytes: area.offset_bytes,
        vg_name,
        seqno,
        text,
    }))
}

/// Reads a PV: its label, and the metadata text from each metadata area. `Ok(None)`
/// when the device has no LVM label. A damaged metadata area is tolerated when another
/// one is good; when every area is damaged the first error is returned.
pub(crate) fn read_pv<R: Read + Seek>(
    dev: &mut R,
    size_bytes: u64,
) -> Result<Option<PhysicalVolume>, LabelError> {
    let head_len = (LABEL_SCAN_SECTORS * SECTOR_BYTES).min(size_bytes - size_bytes % SECTOR_BYTES);
    let head = read_vec_at(dev, 0, head_len)?;
    let Some(header) = parse_label(&head)? else {
        return Ok(None);
    };
    let mut metadata = Vec::new();
    let mut damaged_metadata = Vec::new();
    for &area in &header.metadata_areas {
        let fits = area
            .offset_bytes
            .checked_add(area.size_bytes)
            .is_some_and(|end| end <= size_bytes)
            && area.size_bytes > MDA_HEADER_BYTES;
        let result = if fits {
            read_metadata(dev, area)
        } else {
            Err(LabelError::BadMda {
                offset_bytes: area.offset_bytes,
                what: format!(
                    "{} bytes do not fit the {size_bytes}-byte device",
                    area.size_bytes
                ),
            })
        };
        match result {
            Ok(Some(copy)) => metadata.push(copy),
            Ok(None) => {}
            Err(e) => damaged_metadata.push(e),
        }
    }
    if metadata.is_empty() && !damaged_metadata.is_empty() {
        return Err(damaged_metadata.remove(0));
    }
    Ok(Some(PhysicalVolume {
        uuid: header.uuid,
        #[cfg(test)]
        label_sector: header.label_sector,
        #[cfg(test)]
        device_size_bytes: header.device_size_bytes,
        #[cfg(test)]
        pe_start_bytes: header.data_areas.first().map(|a| a.offset_bytes),
        #[cfg(test)]
        data_areas: header.data_areas,
        #[cfg(test)]
        metadata_areas: header.metadata_areas,
        metadata,
        damaged_metadata,
    }))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) mod tests;
