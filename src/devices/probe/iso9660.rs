//! ISO 9660 (ECMA-119 volume descriptors), with the Joliet label when there is one.

use std::io::{Read, Seek};

use super::{is_c_space, label_string, non_empty, Device, FsInfo, FsType, ProbeError};
use crate::bytes::{be16, field};

const ISO_SECTOR_BYTES: usize = 2048;
/// The volume descriptor set starts at sector 16, after the system area.
const ISO_FIRST_DESCRIPTOR_SECTOR: u64 = 16;
/// Real images have a handful (primary, boot record, Joliet, terminator); the cap
/// bounds the scan on a corrupt image with no terminator.
const ISO_MAX_DESCRIPTORS: u64 = 32;
const ISO_TYPE_PRIMARY: u8 = 1;
const ISO_TYPE_SUPPLEMENTARY: u8 = 2;
const ISO_TYPE_TERMINATOR: u8 = 255;
const ISO_VOLUME_ID_AT: usize = 40;
const ISO_VOLUME_ID_BYTES: usize = 32;
const ISO_ESCAPE_SEQUENCES_AT: usize = 88;
const ISO_CREATED_AT: usize = 813;
const ISO_MODIFIED_AT: usize = 830;

pub(super) fn probe_iso9660<R: Read + Seek>(
    device: &mut Device<'_, R>,
) -> Result<Option<FsInfo>, ProbeError> {
    let mut primary: Option<Vec<u8>> = None;
    let mut joliet: Option<Vec<u8>> = None;
    for index in 0..ISO_MAX_DESCRIPTORS {
        let offset_bytes = (ISO_FIRST_DESCRIPTOR_SECTOR + index) * ISO_SECTOR_BYTES as u64;
        let Some(descriptor) = device.read_at(offset_bytes, ISO_SECTOR_BYTES)? else {
            break;
        };
        if field(&descriptor, 1, 5) != b"CD001" {
            break;
        }
        match field(&descriptor, 0, 1) {
            [ISO_TYPE_TERMINATOR] => break,
            [ISO_TYPE_PRIMARY] if primary.is_none() => primary = Some(descriptor),
            [ISO_TYPE_SUPPLEMENTARY] if joliet.is_none() && is_joliet(&descriptor) => {
                joliet = Some(descriptor)
            }
            _ => {}
        }
    }
    Ok(primary.map(|primary| parse_iso9660(&primary, joliet.as_deref())))
}

/// A supplementary descriptor is Joliet when its escape sequences select UCS-2
/// level 1, 2 or 3.
fn is_joliet(descriptor: &[u8]) -> bool {
    matches!(
        field(descriptor, ISO_ESCAPE_SEQUENCES_AT, 3),
        b"%/@" | b"%/C" | b"%/E"
    )
}

fn parse_iso9660(primary: &[u8], joliet: Option<&[u8]>) -> FsInfo {
    let ascii_label = field(primary, ISO_VOLUME_ID_AT, ISO_VOLUME_ID_BYTES);
    let label = match joliet {
        None => label_string(ascii_label),
        Some(joliet) => {
            let utf16_label = field(joliet, ISO_VOLUME_ID_AT, ISO_VOLUME_ID_BYTES);
            let units = merge_joliet_label(utf16_label, ascii_label)
                .unwrap_or_else(|| utf16be_units(utf16_label));
            utf16_label_string(&units)
        }
    };
    let uuid = iso_date_uuid(field(primary, ISO_MODIFIED_AT, 17))
        .or_else(|| iso_date_uuid(field(primary, ISO_CREATED_AT, 17)));
    FsInfo::new(FsType::Iso9660, uuid, label)
}

/// The volume date (16 ASCII digits and a time zone byte) as blkid's pseudo-UUID
/// `YYYY-MM-DD-HH-MM-SS-CC`; `None` when unset (all '0' and zone 0).
fn iso_date_uuid(date: &[u8]) -> Option<String> {
    let digits = field(date, 0, 16);
    let zone = field(date, 16, 1);
    if digits.len() != 16 || (digits.iter().all(|&b| b == b'0') && zone == [0]) {
        return None;
    }
    let mut out = String::with_capacity(22);
    for (i, &b) in digits.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10 | 12 | 14) {
            out.push('-');
        }
        out.push(char::from(b));
    }
    Some(out)
}

fn utf16be_units(bytes: &[u8]) -> Vec<u16> {
    bytes.chunks_exact(2).map(|pair| be16(pair, 0)).collect()
}

/// Joliet holds at most 16 UTF-16 characters, the primary descriptor 32 of a
/// restricted ASCII set with '_' for anything it cannot hold. Like blkid, when the
/// Joliet label is a prefix of the ASCII one (case-insensitively, '_' matching
/// anything) rebuild the full label: Joliet's characters first, then the ASCII tail.
/// `None` when they disagree.
fn merge_joliet_label(utf16_label: &[u8], ascii_label: &[u8]) -> Option<Vec<u16>> {
    let units = utf16be_units(utf16_label);
    let mut merged = Vec::with_capacity(ascii_label.len());
    let mut unit_index = 0;
    let mut ascii_index = 0;
    while let (Some(&first_unit), Some(&ascii)) =
        (units.get(unit_index), ascii_label.get(ascii_index))
    {
        let mut unit = first_unit;
        // A surrogate pair stands for one character, which ASCII wrote as one '_'.
        if (0xD800..=0xDBFF).contains(&unit) {
            if let Some(&low) = units.get(unit_index + 1) {
                if (0xDC00..=0xDFFF).contains(&low) {
                    merged.push(unit);
                    unit_index += 1;
                    unit = low;
                }
            }
        }
        let ascii_unit = u16::from(ascii);
        if ascii == b'_' {
            merged.push(unit);
        } else if unit == u16::from(b'_') {
            merged.push(ascii_unit);
        } else if unit < 0x80 && u16::from(ascii.to_ascii_uppercase()) == ascii_upper(unit) {
            // ISO 9660 labels are upper case; Joliet keeps the case the user typed.
            merged.push(if ascii.is_ascii_uppercase() {
                unit
            } else {
                ascii_unit
            });
        } else {
            return None;
        }
        unit_index += 1;
        ascii_index += 1;
    }
    merged.extend(ascii_label.iter().skip(ascii_index).map(|&b| u16::from(b)));
    Some(merged)
}

fn ascii_upper(unit: u16) -> u16 {
    u8::try_from(unit).map_or(unit, |b| u16::from(b.to_ascii_uppercase()))
}

/// UTF-16 units up to the first NUL, decoded, trailing white space trimmed.
fn utf16_label_string(units: &[u16]) -> Option<String> {
    let end = units.iter().position(|&u| u == 0).unwrap_or(units.len());
    let text = String::from_utf16_lossy(units.get(..end).unwrap_or(&[]));
    non_empty(text.trim_end_matches(is_c_space))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
