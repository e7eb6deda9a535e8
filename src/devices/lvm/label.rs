//! The on-disk LVM2 physical volume: the label in one of the first four sectors, the
//! `pv_header` after it (PV UUID, size, data and metadata areas), and each metadata
//! area's `mda_header` with the circular buffer holding the VG metadata text.
//!
//! Layouts are lvm2's `lib/label/label.h`, `lib/format_text/layout.h` and
//! `format-text.c`; see section 2 of `storage-formats.md`. Only the label sector, the
//! 512-byte mda headers and the metadata texts are read.

use crate::devices::bytes::{le32, le64};
use std::io::{self, Read, Seek, SeekFrom};

use thiserror::Error;

use super::metadata::{self, MetadataError};

pub const SECTOR_BYTES: u64 = 512;
/// LVM looks for its label in sectors 0-3.
pub const LABEL_SCAN_SECTORS: u64 = 4;
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
pub const INITIAL_CRC: u32 = 0xf597_a6cf;

#[derive(Debug, Error)]
pub enum LabelError {
    #[error("cannot read {len_bytes} bytes at offset {offset_bytes}")]
    Read {
        offset_bytes: u64,
        len_bytes: u64,
        #[source]
        source: io::Error,
    },
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
pub fn calc_crc(initial: u32, bytes: &[u8]) -> u32 {
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
pub struct DiskArea {
    pub offset_bytes: u64,
    /// 0 for a data area means "to the end of the device".
    pub size_bytes: u64,
}

/// One good copy of the VG metadata text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetadataCopy {
    /// Where the metadata area starts on the PV.
    pub area_offset_bytes: u64,
    pub vg_name: String,
    pub seqno: u64,
    pub text: String,
}

#[derive(Debug)]
pub struct PhysicalVolume {
    /// As lvm prints it: `xxxxxx-xxxx-xxxx-xxxx-xxxx-xxxx-xxxxxx`.
    pub uuid: String,
    /// The sector holding the label (0-3).
    pub label_sector: u64,
    /// The size recorded in the pv_header.
    pub device_size_bytes: u64,
    /// Where extents start: the first data area's offset.
    pub pe_start_bytes: Option<u64>,
    pub data_areas: Vec<DiskArea>,
    pub metadata_areas: Vec<DiskArea>,
    /// Good metadata copies (a PV in no VG, or with `--metadatacopies 0`, has none).
    pub metadata: Vec<MetadataCopy>,
    /// Metadata areas that could not be used, when another one could.
    pub damaged_metadata: Vec<LabelError>,
}

impl PhysicalVolume {
    /// The copy with the highest seqno.
    pub fn newest_metadata(&self) -> Option<&MetadataCopy> {
        self.metadata.iter().max_by_key(|m| m.seqno)
    }
}

/// Formats a 32-character PV/VG/LV id the way lvm prints it (6-4-4-4-4-4-6).
pub fn format_lvm_uuid(raw: &[u8]) -> String {
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

fn read_at<R: Read + Seek>(
    dev: &mut R,
    offset_bytes: u64,
    len_bytes: u64,
) -> Result<Vec<u8>, LabelError> {
    let err = |source| LabelError::Read {
        offset_bytes,
        len_bytes,
        source,
    };
    let len = usize::try_from(len_bytes).map_err(|_| {
        err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "length too large",
        ))
    })?;
    dev.seek(SeekFrom::Start(offset_bytes)).map_err(err)?;
    let mut buf = vec![0u8; len];
    dev.read_exact(&mut buf).map_err(err)?;
    Ok(buf)
}

/// The parsed label sector, before any metadata area is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PvHeader {
    pub uuid: String,
    pub label_sector: u64,
    pub device_size_bytes: u64,
    pub data_areas: Vec<DiskArea>,
    pub metadata_areas: Vec<DiskArea>,
}

/// Finds and checks the label in the first four sectors (`head`, which may be shorter
/// on tiny devices). `Ok(None)` when there is no label.
pub fn parse_label(head: &[u8]) -> Result<Option<PvHeader>, LabelError> {
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
pub struct RawLocation {
    /// Relative to the metadata area start.
    pub offset_bytes: u64,
    pub size_bytes: u64,
    pub checksum: u32,
    pub ignored: bool,
}

/// Checks a 512-byte mda header found at `area.offset_bytes` and returns its slot 0,
/// or `None` when the area holds no metadata yet.
pub fn parse_mda_header(buf: &[u8], area: DiskArea) -> Result<Option<RawLocation>, LabelError> {
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
pub fn text_ranges(location: RawLocation, area_size_bytes: u64) -> [(u64, u64); 2] {
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
    let header = read_at(dev, area.offset_bytes, MDA_HEADER_BYTES)?;
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
            text.extend(read_at(dev, area.offset_bytes + relative, len)?);
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
pub fn read_pv<R: Read + Seek>(
    dev: &mut R,
    size_bytes: u64,
) -> Result<Option<PhysicalVolume>, LabelError> {
    let head_len = (LABEL_SCAN_SECTORS * SECTOR_BYTES).min(size_bytes - size_bytes % SECTOR_BYTES);
    let head = read_at(dev, 0, head_len)?;
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
        label_sector: header.label_sector,
        device_size_bytes: header.device_size_bytes,
        pe_start_bytes: header.data_areas.first().map(|a| a.offset_bytes),
        data_areas: header.data_areas,
        metadata_areas: header.metadata_areas,
        metadata,
        damaged_metadata,
    }))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) mod tests {
    use super::*;
    use crate::devices::blockdev::Window;
    use crate::devices::test_samples::{env_u64, env_value, sample, SampledDisk, DISK_BYTES};
    use std::io::Cursor;

    /// The label sector lvm2 2.03.16's `pvcreate` wrote on a 16 MiB loop device
    /// (bytes 512..672; the rest of the sector is zero).
    const REAL_LABEL_HEAD: &str = "4c4142454c4f4e450100000000000000\
        4acbc502200000004c564d3220303031\
        72367573336d6c526178383165386348\
        6d654230674f67727a493236705a3134\
        00000001000000000000100000000000\
        00000000000000000000000000000000\
        00000000000000000010000000000000\
        00f00f00000000000000000000000000\
        00000000000000000200000001000000\
        00000000000000000000000000000000";

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn crc_is_zlib_crc32_without_the_inversions() {
        // Same polynomial and reflection as zlib: seeded with !0 and inverted at the
        // end, calc_crc gives the standard CRC-32 check value.
        let data = b"123456789";
        let mut zlib = flate2::Crc::new();
        zlib.update(data);
        assert_eq!(zlib.sum(), 0xcbf4_3926);
        assert_eq!(!calc_crc(0xffff_ffff, data), zlib.sum());
    }

    pub(crate) fn label_sector(
        uuid: &[u8; 32],
        size: u64,
        data: &[(u64, u64)],
        mdas: &[(u64, u64)],
    ) -> Vec<u8> {
        let mut s = vec![0u8; 512];
        s[0..8].copy_from_slice(LABEL_ID);
        s[8..16].copy_from_slice(&1u64.to_le_bytes());
        s[20..24].copy_from_slice(&32u32.to_le_bytes());
        s[24..32].copy_from_slice(LABEL_TYPE);
        s[32..64].copy_from_slice(uuid);
        s[64..72].copy_from_slice(&size.to_le_bytes());
        let mut at = 72;
        for list in [data, mdas] {
            for &(o, l) in list.iter().chain(&[(0, 0)]) {
                s[at..at + 8].copy_from_slice(&o.to_le_bytes());
                s[at + 8..at + 16].copy_from_slice(&l.to_le_bytes());
                at += 16;
            }
        }
        let crc = calc_crc(INITIAL_CRC, &s[20..]);
        s[16..20].copy_from_slice(&crc.to_le_bytes());
        s
    }

    fn write_mda(img: &mut [u8], area: (u64, u64), text_at: u64, text: &[u8]) {
        let (start, size) = area;
        let mut h = vec![0u8; 512];
        h[4..20].copy_from_slice(MDA_MAGIC);
        h[20..24].copy_from_slice(&1u32.to_le_bytes());
        h[24..32].copy_from_slice(&start.to_le_bytes());
        h[32..40].copy_from_slice(&size.to_le_bytes());
        h[40..48].copy_from_slice(&text_at.to_le_bytes());
        h[48..56].copy_from_slice(&(text.len() as u64).to_le_bytes());
        h[56..60].copy_from_slice(&calc_crc(INITIAL_CRC, text).to_le_bytes());
        let crc = calc_crc(INITIAL_CRC, &h[4..]);
        h[0..4].copy_from_slice(&crc.to_le_bytes());
        img[start as usize..start as usize + 512].copy_from_slice(&h);
        // Lay the text into the circular buffer.
        let mut pos = text_at;
        for &b in text {
            if pos == size {
                pos = 512;
            }
            img[(start + pos) as usize] = b;
            pos += 1;
        }
    }

    const UUID: &[u8; 32] = b"r6us3mlRax81e8cHmeB0gOgrzI26pZ14";

    fn text(seqno: u64) -> Vec<u8> {
        let mut t = super::super::metadata::tests::SAMPLE
            .replace("seqno = 4", &format!("seqno = {seqno}"))
            .into_bytes();
        t.push(0);
        t
    }

    /// A 64 KiB PV with two metadata areas: at 4 KiB and at 32 KiB, 16 KiB each.
    fn two_mda_image() -> Vec<u8> {
        let mut img = vec![0u8; 64 << 10];
        let label = label_sector(
            UUID,
            64 << 10,
            &[(48 << 10, 0)],
            &[(4096, 16 << 10), (32 << 10, 16 << 10)],
        );
        img[512..1024].copy_from_slice(&label);
        write_mda(&mut img, (4096, 16 << 10), 512, &text(5));
        write_mda(&mut img, (32 << 10, 16 << 10), 1024, &text(5));
        img
    }

    #[test]
    fn reads_the_label_lvm2_wrote() {
        let mut sector = hex(REAL_LABEL_HEAD);
        sector.resize(512, 0);
        assert_eq!(calc_crc(INITIAL_CRC, &sector[20..]), 0x02c5_cb4a);
        let mut head = vec![0u8; 512];
        head.extend(&sector);
        match parse_label(&head) {
            Ok(Some(h)) => {
                assert_eq!(h.uuid, "r6us3m-lRax-81e8-cHme-B0gO-grzI-26pZ14");
                assert_eq!(h.device_size_bytes, 16 << 20);
                assert_eq!(
                    h.data_areas,
                    vec![DiskArea {
                        offset_bytes: 1 << 20,
                        size_bytes: 0
                    }]
                );
                assert_eq!(
                    h.metadata_areas,
                    vec![DiskArea {
                        offset_bytes: 4096,
                        size_bytes: 0xff000
                    }]
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn reads_both_metadata_copies() {
        let img = two_mda_image();
        let pv = read_pv(&mut Cursor::new(&img), img.len() as u64)
            .unwrap()
            .unwrap();
        assert_eq!(pv.uuid, "r6us3m-lRax-81e8-cHme-B0gO-grzI-26pZ14");
        assert_eq!(pv.label_sector, 1);
        assert_eq!(pv.pe_start_bytes, Some(48 << 10));
        assert_eq!(pv.metadata.len(), 2);
        assert_eq!(pv.newest_metadata().unwrap().seqno, 5);
        assert_eq!(pv.newest_metadata().unwrap().vg_name, "sys-vg");
        assert!(pv.damaged_metadata.is_empty());
    }

    #[test]
    fn no_label_is_none() {
        let img = vec![0u8; 8192];
        assert!(read_pv(&mut Cursor::new(&img), 8192).unwrap().is_none());
    }

    #[test]
    fn bad_label_crc_is_an_error_naming_the_offset() {
        let mut img = two_mda_image();
        img[512 + 100] ^= 1;
        let err = read_pv(&mut Cursor::new(&img), img.len() as u64).unwrap_err();
        assert!(
            matches!(
                err,
                LabelError::LabelChecksum {
                    offset_bytes: 512,
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("offset 512"));
    }

    #[test]
    fn bad_first_mda_checksum_falls_back_to_the_second_copy() {
        let mut img = two_mda_image();
        img[4096 + 300] ^= 1;
        let pv = read_pv(&mut Cursor::new(&img), img.len() as u64)
            .unwrap()
            .unwrap();
        assert_eq!(pv.metadata.len(), 1);
        assert_eq!(pv.metadata[0].area_offset_bytes, 32 << 10);
        assert!(matches!(
            pv.damaged_metadata[..],
            [LabelError::MdaChecksum {
                offset_bytes: 4096,
                ..
            }]
        ));
        // Both damaged: the first error is returned.
        img[(32 << 10) + 300] ^= 1;
        let err = read_pv(&mut Cursor::new(&img), img.len() as u64).unwrap_err();
        assert!(matches!(
            err,
            LabelError::MdaChecksum {
                offset_bytes: 4096,
                ..
            }
        ));
    }

    #[test]
    fn bad_magic_and_bad_text_checksum_are_typed() {
        let mut img = two_mda_image();
        img[4096 + 5] = b'X';
        let crc = calc_crc(INITIAL_CRC, &img[4096 + 4..4096 + 512]);
        img[4096..4100].copy_from_slice(&crc.to_le_bytes());
        img[(32 << 10) + 1024 + 10] ^= 1;
        let err = read_pv(&mut Cursor::new(&img), img.len() as u64).unwrap_err();
        assert!(
            matches!(err, LabelError::MdaMagic { offset_bytes: 4096 }),
            "{err}"
        );
        let mut img = two_mda_image();
        img[4096 + 512 + 10] ^= 1;
        let pv = read_pv(&mut Cursor::new(&img), img.len() as u64)
            .unwrap()
            .unwrap();
        assert!(matches!(
            pv.damaged_metadata[..],
            [LabelError::TextChecksum {
                offset_bytes: 4608,
                ..
            }]
        ));
    }

    #[test]
    fn text_wrapping_around_the_circular_buffer_is_joined() {
        let mut img = vec![0u8; 64 << 10];
        let label = label_sector(UUID, 64 << 10, &[(48 << 10, 0)], &[(4096, 16 << 10)]);
        img[512..1024].copy_from_slice(&label);
        let t = text(9);
        // Start 1000 bytes before the end of the area so the rest wraps to offset 512.
        let text_at = (16 << 10) - 1000;
        write_mda(&mut img, (4096, 16 << 10), text_at, &t);
        let location = RawLocation {
            offset_bytes: text_at,
            size_bytes: t.len() as u64,
            checksum: 0,
            ignored: false,
        };
        assert_eq!(
            text_ranges(location, 16 << 10),
            [(text_at, 1000), (512, t.len() as u64 - 1000)]
        );
        let pv = read_pv(&mut Cursor::new(&img), img.len() as u64)
            .unwrap()
            .unwrap();
        assert_eq!(pv.metadata[0].seqno, 9);
        assert_eq!(pv.metadata[0].text.as_bytes(), &t[..t.len() - 1]);
    }

    #[test]
    fn truncated_text_and_truncated_device_are_errors() {
        // Text cut short (with a checksum that matches the short text).
        let mut img = vec![0u8; 64 << 10];
        let label = label_sector(UUID, 64 << 10, &[(48 << 10, 0)], &[(4096, 16 << 10)]);
        img[512..1024].copy_from_slice(&label);
        let t = text(3);
        write_mda(&mut img, (4096, 16 << 10), 512, &t[..t.len() / 2]);
        let err = read_pv(&mut Cursor::new(&img), img.len() as u64).unwrap_err();
        assert!(
            matches!(
                err,
                LabelError::Text {
                    offset_bytes: 4608,
                    ..
                }
            ),
            "{err}"
        );
        // The device ends inside the metadata area.
        let img = two_mda_image();
        let short = &img[..16 << 10];
        let err = read_pv(&mut Cursor::new(short), short.len() as u64).unwrap_err();
        assert!(
            matches!(
                err,
                LabelError::BadMda {
                    offset_bytes: 4096,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn ignored_and_empty_metadata_areas_give_no_copies() {
        let mut img = two_mda_image();
        for start in [4096usize, 32 << 10] {
            img[start + 60] = 1; // flags: IGNORED
            let crc = calc_crc(INITIAL_CRC, &img[start + 4..start + 512]);
            img[start..start + 4].copy_from_slice(&crc.to_le_bytes());
        }
        let pv = read_pv(&mut Cursor::new(&img), img.len() as u64)
            .unwrap()
            .unwrap();
        assert!(pv.metadata.is_empty() && pv.damaged_metadata.is_empty());
    }

    /// The PV at `offset_bytes` of a sampled disk (`tests/data/md-lvm/`), read as a
    /// device of `size_bytes`: the PV lvm2 wrote, seen through kboot's reader.
    pub(crate) fn sample_pv(
        set: &str,
        disk: u32,
        offset_bytes: u64,
        size_bytes: u64,
    ) -> PhysicalVolume {
        let disk = SampledDisk::new(set, disk);
        let mut window = Window::new(disk, offset_bytes, size_bytes);
        read_pv(&mut window, size_bytes).unwrap().unwrap()
    }

    /// The PV inside the md array of a GPT set: it starts at the array's data offset
    /// inside the partition, and is as large as the array.
    pub(crate) fn sample_pv_on_md(set: &str, disk: u32) -> PhysicalVolume {
        let offset_bytes = env_u64(set, &format!("DISK{disk}_MEMBER_OFFSET_BYTES"))
            + env_u64(set, &format!("MD_MEMBER{disk}_DATA_OFFSET_SECTORS")) * SECTOR_BYTES;
        sample_pv(set, disk, offset_bytes, env_u64(set, "MD_SIZE_BYTES"))
    }

    /// What `pvs` printed for PV `n` of a set, against what kboot read.
    fn assert_pv_matches_env(pv: &PhysicalVolume, set: &str, n: u32) {
        let key = |field: &str| format!("PV{n}_{field}");
        assert_eq!(pv.uuid, env_value(set, &key("UUID")));
        assert_eq!(pv.label_sector, 1, "pvcreate writes the label in sector 1");
        let pe_start_bytes = env_u64(set, &key("PE_START_SECTORS")) * SECTOR_BYTES;
        assert_eq!(pv.pe_start_bytes, Some(pe_start_bytes));
        assert_eq!(
            pv.data_areas,
            [DiskArea {
                offset_bytes: pe_start_bytes,
                size_bytes: 0
            }]
        );
        // One metadata area, right after the label's 4 KiB, up to pe_start.
        let mda_bytes = env_u64(set, &key("MDA_SIZE_SECTORS")) * SECTOR_BYTES;
        assert_eq!(
            pv.metadata_areas,
            [DiskArea {
                offset_bytes: 4096,
                size_bytes: mda_bytes
            }]
        );
        assert_eq!(4096 + mda_bytes, pe_start_bytes);
        assert!(pv.damaged_metadata.is_empty(), "{:?}", pv.damaged_metadata);
        assert_eq!(pv.metadata.len(), 1);
        assert_eq!(
            pv.newest_metadata().unwrap().seqno,
            env_u64(set, "VG_SEQNO")
        );
    }

    #[test]
    fn reads_the_bare_pv_lvm2_wrote_on_a_whole_disk() {
        // r1090 disk3 is /dev/vdc, a PV of its own (PV2 in r1090.env).
        let pv = sample_pv("r1090", 3, 0, DISK_BYTES);
        assert_pv_matches_env(&pv, "r1090", 2);
        // `pvs` printed dev_size 196608S for /dev/vdc.
        assert_eq!(pv.device_size_bytes, 196_608 * SECTOR_BYTES);
        let copy = pv.newest_metadata().unwrap();
        assert_eq!(copy.vg_name, "data");
        assert_eq!(copy.area_offset_bytes, 4096);
    }

    #[test]
    fn reads_the_pv_on_a_0_90_array_from_either_member() {
        // md0's data starts at sector 0 of each whole-disk member, so both members
        // carry md0's PV label at sector 1.
        for disk in [1, 2] {
            let pv = sample_pv("r1090", disk, 0, env_u64("r1090", "MD_SIZE_BYTES"));
            assert_pv_matches_env(&pv, "r1090", 1);
            // `pvs` printed dev_size 196480S for /dev/md0.
            assert_eq!(pv.device_size_bytes, 196_480 * SECTOR_BYTES);
            assert_eq!(pv.newest_metadata().unwrap().vg_name, "data");
        }
    }

    #[test]
    fn reads_the_pvs_inside_1_2_arrays_from_every_member() {
        for (set, disks, vg) in [("r1lvm", 2, "sys-vg"), ("stale", 3, "vgs")] {
            for disk in 1..=disks {
                let pv = sample_pv_on_md(set, disk);
                assert_pv_matches_env(&pv, set, 1);
                assert_eq!(pv.device_size_bytes, env_u64(set, "MD_SIZE_BYTES"));
                assert_eq!(
                    pv.newest_metadata().unwrap().vg_name,
                    vg,
                    "{set} disk{disk}"
                );
            }
        }
    }

    #[test]
    fn members_of_1_2_arrays_carry_no_label_of_their_own() {
        // The PV label is in the array's data area, 1 MiB into the partition, not in
        // the partition's first sectors (where the md superblock is).
        for (set, disks) in [("r1lvm", 2), ("r5", 3), ("stale", 3)] {
            for disk in 1..=disks {
                let head = sample(&format!("{set}-disk{disk}-head.bin.gz"));
                let member = env_u64(set, &format!("DISK{disk}_MEMBER_OFFSET_BYTES")) as usize;
                let sectors = &head[member..member + 4 * SECTOR_BYTES as usize];
                assert!(parse_label(sectors).unwrap().is_none(), "{set} disk{disk}");
            }
        }
    }
}
