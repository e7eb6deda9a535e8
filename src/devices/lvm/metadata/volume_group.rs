//! The volume group as kboot needs it to map logical volumes: PVs, LVs and their
//! segments (lvm2 `lib/format_text/import_vsn1.c`), read from a [`ConfigTree`].

use std::str::FromStr;

use super::tree::{ConfigTree, Value};
use super::MetadataError;

/// A PV as the VG metadata lists it (`physical_volumes { pv0 { ... } }`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PvRef {
    /// The metadata's own name for it (`pv0`), which segments refer to.
    pub name: String,
    /// The PV UUID as LVM prints it (`xxxxxx-xxxx-...`).
    pub id: String,
    /// The device path when the metadata was written; only a hint.
    pub device_hint: Option<String>,
    pub dev_size_sectors: u64,
    pub pe_start_sectors: u64,
    pub pe_count: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SegmentKind {
    /// `striped` (a linear segment is striped with one stripe): each stripe is a PV
    /// name and the first extent on it.
    Striped {
        stripe_size_sectors: Option<u64>,
        stripes: Vec<(String, u64)>,
    },
    /// Anything else (thin, thin-pool, raid1, mirror, cache, snapshot, vdo, or a
    /// striped segment with flags kboot does not know): kboot does not map these.
    Other { type_name: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Segment {
    pub start_extent: u64,
    pub extent_count: u64,
    pub kind: SegmentKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LogicalVolume {
    pub name: String,
    pub id: String,
    pub status: Vec<String>,
    /// Sorted by `start_extent`.
    pub segments: Vec<Segment>,
}

impl LogicalVolume {
    /// Hidden LVs (no `VISIBLE` status) are parts of other LVs: raid images, thin
    /// pool data, mirror logs.
    pub(crate) fn visible(&self) -> bool {
        self.status.iter().any(|s| s == "VISIBLE")
    }

    #[cfg(test)]
    pub(crate) fn extent_count(&self) -> Option<u64> {
        self.segments
            .iter()
            .try_fold(0u64, |sum, s| sum.checked_add(s.extent_count))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct VolumeGroup {
    pub name: String,
    pub id: String,
    pub seqno: u64,
    pub extent_size_sectors: u64,
    pub status: Vec<String>,
    pub physical_volumes: Vec<PvRef>,
    pub logical_volumes: Vec<LogicalVolume>,
}

impl VolumeGroup {
    pub(crate) fn pv(&self, name: &str) -> Option<&PvRef> {
        self.physical_volumes.iter().find(|p| p.name == name)
    }

    pub(crate) fn lv(&self, name: &str) -> Option<&LogicalVolume> {
        self.logical_volumes.iter().find(|l| l.name == name)
    }
}

fn get_str<'t>(
    tree: &'t ConfigTree,
    path: &str,
    key: &'static str,
) -> Result<&'t str, MetadataError> {
    match tree.value(key) {
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(MetadataError::WrongType {
            path: path.to_string(),
            key,
            expected: "a string",
        }),
        None => Err(MetadataError::Missing {
            path: path.to_string(),
            key,
        }),
    }
}

fn get_u64(tree: &ConfigTree, path: &str, key: &'static str) -> Result<u64, MetadataError> {
    match tree.value(key) {
        Some(Value::Int(n)) => u64::try_from(*n).map_err(|_| MetadataError::WrongType {
            path: path.to_string(),
            key,
            expected: "a non-negative number",
        }),
        Some(_) => Err(MetadataError::WrongType {
            path: path.to_string(),
            key,
            expected: "a number",
        }),
        None => Err(MetadataError::Missing {
            path: path.to_string(),
            key,
        }),
    }
}

fn get_opt_u64(
    tree: &ConfigTree,
    path: &str,
    key: &'static str,
) -> Result<Option<u64>, MetadataError> {
    match tree.get(key) {
        None => Ok(None),
        Some(_) => get_u64(tree, path, key).map(Some),
    }
}

fn get_string_list(
    tree: &ConfigTree,
    path: &str,
    key: &'static str,
) -> Result<Vec<String>, MetadataError> {
    let wrong = || MetadataError::WrongType {
        path: path.to_string(),
        key,
        expected: "a list of strings",
    };
    match tree.value(key) {
        None => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| match v {
                Value::String(s) => Ok(s.clone()),
                _ => Err(wrong()),
            })
            .collect(),
        Some(_) => Err(wrong()),
    }
}

fn parse_pv(name: &str, tree: &ConfigTree, path: &str) -> Result<PvRef, MetadataError> {
    Ok(PvRef {
        name: name.to_string(),
        id: get_str(tree, path, "id")?.to_string(),
        device_hint: tree.value("device").and_then(|v| match v {
            Value::String(s) => Some(s.clone()),
            _ => None,
        }),
        dev_size_sectors: get_opt_u64(tree, path, "dev_size")?.unwrap_or(0),
        pe_start_sectors: get_u64(tree, path, "pe_start")?,
        pe_count: get_u64(tree, path, "pe_count")?,
    })
}

fn parse_segment(tree: &ConfigTree, path: &str) -> Result<Segment, MetadataError> {
    let start_extent = get_u64(tree, path, "start_extent")?;
    let extent_count = get_u64(tree, path, "extent_count")?;
    let type_name = get_str(tree, path, "type")?;
    // "striped" is the only type kboot maps; "linear" appears in very old metadata.
    // A type with "+FLAG" needs a feature kboot does not have, so it is not mapped.
    let kind = if type_name == "striped" || type_name == "linear" {
        let stripe_count = get_opt_u64(tree, path, "stripe_count")?.unwrap_or(1);
        let stripe_size_sectors = get_opt_u64(tree, path, "stripe_size")?;
        let invalid = |what: String| MetadataError::Invalid {
            path: path.to_string(),
            what,
        };
        let Some(Value::Array(items)) = tree.value("stripes") else {
            return Err(MetadataError::WrongType {
                path: path.to_string(),
                key: "stripes",
                expected: "a list",
            });
        };
        if items.len() % 2 != 0 {
            return Err(invalid(
                "stripes should be pairs of PV name and extent".into(),
            ));
        }
        let stripes = items
            .chunks(2)
            .map(|pair| match pair {
                [Value::String(pv), Value::Int(pe)] if *pe >= 0 => Ok((pv.clone(), *pe as u64)),
                _ => Err(invalid(format!("bad stripe entry {pair:?}"))),
            })
            .collect::<Result<Vec<_>, _>>()?;
        if stripes.len() as u64 != stripe_count || stripes.is_empty() {
            return Err(invalid(format!(
                "stripe_count = {stripe_count} but {} stripes listed",
                stripes.len()
            )));
        }
        SegmentKind::Striped {
            stripe_size_sectors,
            stripes,
        }
    } else {
        SegmentKind::Other {
            type_name: type_name.to_string(),
        }
    };
    Ok(Segment {
        start_extent,
        extent_count,
        kind,
    })
}

fn parse_lv(name: &str, tree: &ConfigTree, path: &str) -> Result<LogicalVolume, MetadataError> {
    let mut segments = tree
        .sections()
        .filter(|(k, _)| k.starts_with("segment"))
        .map(|(k, s)| parse_segment(s, &format!("{path}/{k}")))
        .collect::<Result<Vec<_>, _>>()?;
    segments.sort_by_key(|s| s.start_extent);
    Ok(LogicalVolume {
        name: name.to_string(),
        id: get_str(tree, path, "id")?.to_string(),
        status: get_string_list(tree, path, "status")?,
        segments,
    })
}

impl VolumeGroup {
    /// Reads the VG from a parsed metadata text: its first top-level section.
    pub(crate) fn from_tree(tree: &ConfigTree) -> Result<Self, MetadataError> {
        let (name, vg) = tree.sections().next().ok_or(MetadataError::NoVolumeGroup)?;
        let path = name;
        let mut physical_volumes = Vec::new();
        if let Some(pvs) = vg.section("physical_volumes") {
            for (pv_name, pv) in pvs.sections() {
                physical_volumes.push(parse_pv(pv_name, pv, &format!("{path}/{pv_name}"))?);
            }
        }
        let mut logical_volumes = Vec::new();
        if let Some(lvs) = vg.section("logical_volumes") {
            for (lv_name, lv) in lvs.sections() {
                logical_volumes.push(parse_lv(lv_name, lv, &format!("{path}/{lv_name}"))?);
            }
        }
        let extent_size_sectors = get_u64(vg, path, "extent_size")?;
        if extent_size_sectors == 0 {
            return Err(MetadataError::Invalid {
                path: path.to_string(),
                what: "extent_size is 0".into(),
            });
        }
        Ok(VolumeGroup {
            name: name.to_string(),
            id: get_str(vg, path, "id")?.to_string(),
            seqno: get_u64(vg, path, "seqno")?,
            extent_size_sectors,
            status: get_string_list(vg, path, "status")?,
            physical_volumes,
            logical_volumes,
        })
    }
}

impl FromStr for VolumeGroup {
    type Err = MetadataError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        VolumeGroup::from_tree(&text.parse()?)
    }
}

/// The VG name and seqno of a metadata text, without reading PVs and LVs: enough to
/// pick the newest copy.
pub(crate) fn name_and_seqno(text: &str) -> Result<(String, u64), MetadataError> {
    let tree: ConfigTree = text.parse()?;
    let (name, vg) = tree.sections().next().ok_or(MetadataError::NoVolumeGroup)?;
    Ok((name.to_string(), get_u64(vg, name, "seqno")?))
}
