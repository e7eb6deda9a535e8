//! From volume groups to device-mapper tables: which LVs to activate, under which DM
//! names and uuids, and the `linear`/`striped` table lines that map them, exactly as
//! lvm2 would (`lib/activate/dev_manager.c`, `libdm/libdm-common.c` for names).
//!
//! Everything here is pure: [`plan_activation`] returns an [`ActivationPlan`] and the
//! DM ioctl edge (`devices::dm`) carries it out.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use thiserror::Error;

use super::metadata::volume_group::Segment;
use super::metadata::{LogicalVolume, SegmentKind, VolumeGroup};

#[derive(Debug, Error, PartialEq, Eq)]
pub(crate) enum TableError {
    #[error("{vg}/{lv}: sector arithmetic overflows at extent {extent}")]
    Overflow { vg: String, lv: String, extent: u64 },
    #[error("{vg}/{lv}: {what}")]
    Invalid {
        vg: String,
        lv: String,
        what: String,
    },
    #[error("table line {line:?}: {what}")]
    Parse { line: String, what: String },
}

/// A block device number as DM tables write it (`MAJ:MIN`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct DevNumber {
    pub major: u32,
    pub minor: u32,
}

impl fmt::Display for DevNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.major, self.minor)
    }
}

/// Why a text is not a `MAJ:MIN` device number.
#[derive(Debug, Error, PartialEq, Eq)]
pub(crate) enum DevNumberError {
    #[error("{text:?} is not MAJ:MIN")]
    NotMajMin { text: String },
    #[error("bad major in {text:?}")]
    BadMajor { text: String },
    #[error("bad minor in {text:?}")]
    BadMinor { text: String },
}

impl FromStr for DevNumber {
    type Err = DevNumberError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let text = || s.to_owned();
        let (major, minor) = s
            .split_once(':')
            .ok_or_else(|| DevNumberError::NotMajMin { text: text() })?;
        Ok(DevNumber {
            major: major
                .parse()
                .map_err(|_| DevNumberError::BadMajor { text: text() })?,
            minor: minor
                .parse()
                .map_err(|_| DevNumberError::BadMinor { text: text() })?,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target {
    Linear {
        device: DevNumber,
        offset_sectors: u64,
    },
    Striped {
        chunk_sectors: u64,
        /// Each stripe's device and where the stripe starts on it.
        stripes: Vec<(DevNumber, u64)>,
    },
    /// A non-persistent (`N`) snapshot of `origin` whose changed chunks live on
    /// `cow`: reads see the origin, writes land on `cow` only. kboot puts one over a
    /// filesystem whose journal must be replayed, with `cow` in RAM.
    Snapshot {
        origin: DevNumber,
        cow: DevNumber,
        chunk_sectors: u64,
    },
}

impl Target {
    /// The DM target type name.
    pub(crate) fn type_name(&self) -> &'static str {
        match self {
            Target::Linear { .. } => "linear",
            Target::Striped { .. } => "striped",
            Target::Snapshot { .. } => "snapshot",
        }
    }

    /// The target's parameter string (the part of a table line after the type).
    pub(crate) fn params(&self) -> String {
        match self {
            Target::Linear {
                device,
                offset_sectors,
            } => format!("{device} {offset_sectors}"),
            Target::Striped {
                chunk_sectors,
                stripes,
            } => {
                let mut s = format!("{} {chunk_sectors}", stripes.len());
                for (dev, offset) in stripes {
                    s.push_str(&format!(" {dev} {offset}"));
                }
                s
            }
            Target::Snapshot {
                origin,
                cow,
                chunk_sectors,
            } => format!("{origin} {cow} N {chunk_sectors}"),
        }
    }
}

/// One line of a DM table, in 512-byte sectors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TableLine {
    pub start_sector: u64,
    pub length_sectors: u64,
    pub target: Target,
}

impl fmt::Display for TableLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {} {}",
            self.start_sector,
            self.length_sectors,
            self.target.type_name(),
            self.target.params()
        )
    }
}

impl FromStr for TableLine {
    type Err = TableError;

    fn from_str(line: &str) -> Result<Self, Self::Err> {
        let err = |what: String| TableError::Parse {
            line: line.to_string(),
            what,
        };
        let words: Vec<&str> = line.split_whitespace().collect();
        let number = |i: usize| -> Result<u64, TableError> {
            words
                .get(i)
                .ok_or_else(|| err(format!("missing field {}", i + 1)))?
                .parse()
                .map_err(|_| err(format!("field {} is not a number", i + 1)))
        };
        let device = |i: usize| -> Result<DevNumber, TableError> {
            words
                .get(i)
                .ok_or_else(|| err(format!("missing field {}", i + 1)))?
                .parse()
                .map_err(|e: DevNumberError| err(e.to_string()))
        };
        let start_sector = number(0)?;
        let length_sectors = number(1)?;
        let (target, used) = match words.get(2) {
            Some(&"linear") => (
                Target::Linear {
                    device: device(3)?,
                    offset_sectors: number(4)?,
                },
                5,
            ),
            Some(&"striped") => {
                let count =
                    usize::try_from(number(3)?).map_err(|_| err("too many stripes".into()))?;
                if count == 0 || count > 4096 {
                    return Err(err(format!("{count} stripes")));
                }
                let chunk_sectors = number(4)?;
                let stripes = (0..count)
                    .map(|i| Ok((device(5 + 2 * i)?, number(6 + 2 * i)?)))
                    .collect::<Result<Vec<_>, TableError>>()?;
                (
                    Target::Striped {
                        chunk_sectors,
                        stripes,
                    },
                    5 + 2 * count,
                )
            }
            Some(&"snapshot") => {
                if words.get(5) != Some(&"N") {
                    return Err(err("only non-persistent (N) snapshots are supported".into()));
                }
                (
                    Target::Snapshot {
                        origin: device(3)?,
                        cow: device(4)?,
                        chunk_sectors: number(6)?,
                    },
                    7,
                )
            }
            other => return Err(err(format!("unsupported target {other:?}"))),
        };
        if words.len() != used {
            return Err(err("extra fields".into()));
        }
        Ok(TableLine {
            start_sector,
            length_sectors,
            target,
        })
    }
}

/// A whole table: one line per LV segment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct DmTable {
    pub lines: Vec<TableLine>,
}

impl DmTable {
    #[cfg(test)]
    pub(crate) fn size_sectors(&self) -> u64 {
        self.lines
            .last()
            .map_or(0, |l| l.start_sector.saturating_add(l.length_sectors))
    }
}

impl fmt::Display for DmTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for line in &self.lines {
            writeln!(f, "{line}")?;
        }
        Ok(())
    }
}

impl FromStr for DmTable {
    type Err = TableError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let lines = text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(str::parse)
            .collect::<Result<_, _>>()?;
        Ok(DmTable { lines })
    }
}

/// The DM name lvm gives an LV: `VG-LV`, with each '-' inside either name doubled.
pub(crate) fn dm_name(vg: &str, lv: &str) -> String {
    format!("{}-{}", vg.replace('-', "--"), lv.replace('-', "--"))
}

/// The DM uuid lvm gives an LV: `LVM-` + VG id + LV id, without dashes.
pub(crate) fn dm_uuid(vg_id: &str, lv_id: &str) -> String {
    format!("LVM-{}{}", vg_id.replace('-', ""), lv_id.replace('-', ""))
}

/// Splits a DM name back into VG and LV: the first single '-' separates them, and
/// "--" stands for '-'. `None` when the name has no single dash.
pub(crate) fn split_dm_name(name: &str) -> Option<(String, String)> {
    let mut vg = String::new();
    let mut chars = name.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '-' {
            vg.push(c);
        } else if chars.peek() == Some(&'-') {
            chars.next();
            vg.push('-');
        } else {
            let rest: String = chars.collect();
            let lv = undouble(&rest)?;
            if vg.is_empty() || lv.is_empty() {
                return None;
            }
            return Some((vg, lv));
        }
    }
    None
}

fn undouble(s: &str) -> Option<String> {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '-' {
            // A single dash in the LV part is not something lvm would write.
            if chars.next() != Some('-') {
                return None;
            }
        }
        out.push(c);
    }
    Some(out)
}

/// The (VG, LV) a device path names, if it names one the way lvm's links do:
/// `/dev/mapper/VG-LV` (dashes doubled) or `/dev/VG/LV`.
pub(crate) fn lv_from_path(path: &str) -> Option<(String, String)> {
    let rest = path.strip_prefix("/dev/")?;
    if let Some(name) = rest.strip_prefix("mapper/") {
        return split_dm_name(name);
    }
    let (vg, lv) = rest.split_once('/')?;
    // Directories udev and the kernel make that are not volume groups.
    const NOT_VGS: [&str; 7] = ["disk", "md", "block", "char", "bus", "input", "dri"];
    if vg.is_empty() || lv.is_empty() || lv.contains('/') || NOT_VGS.contains(&vg) {
        return None;
    }
    Some((vg.to_string(), lv.to_string()))
}

/// Which LVs to activate: everything, or the union of named VGs and LVs
/// (`rd.lvm.vg=`, `rd.lvm.lv=`, and the LV a `root=`/`boot=` path names).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Wanted {
    pub all: bool,
    pub vgs: Vec<String>,
    pub lvs: Vec<(String, String)>,
}

impl Wanted {
    #[cfg(test)]
    pub(crate) fn everything() -> Self {
        Wanted {
            all: true,
            ..Wanted::default()
        }
    }

    /// Adds `VG/LV` (the `rd.lvm.lv=` form); `false` if it is not of that form.
    pub(crate) fn add_lv_spec(&mut self, spec: &str) -> bool {
        let spec = spec.strip_prefix("/dev/").unwrap_or(spec);
        match spec.split_once('/') {
            Some((vg, lv)) if !vg.is_empty() && !lv.is_empty() && !lv.contains('/') => {
                self.lvs.push((vg.to_string(), lv.to_string()));
                true
            }
            _ => false,
        }
    }

    /// Adds the LV a `root=`/`boot=` path names; `false` if it names none.
    pub(crate) fn add_path(&mut self, path: &str) -> bool {
        match lv_from_path(path) {
            Some(vg_lv) => {
                self.lvs.push(vg_lv);
                true
            }
            None => false,
        }
    }

    /// Whether the LV was asked for by name (as opposed to by "everything" or VG).
    fn named(&self, vg: &str, lv: &str) -> bool {
        self.lvs.iter().any(|(v, l)| v == vg && l == lv)
    }

    fn wants(&self, vg: &str, lv: &str) -> bool {
        self.all || self.vgs.iter().any(|v| v == vg) || self.named(vg, lv)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LvActivation {
    pub vg: String,
    pub lv: String,
    pub dm_name: String,
    pub dm_uuid: String,
    pub table: DmTable,
    /// `/dev/mapper/NAME` (the block node) and `/dev/VG/LV` (a symlink to it).
    pub links: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ActivationPlan {
    pub activate: Vec<LvActivation>,
    /// `VG/LV` and why it is not activated.
    pub skipped: Vec<(String, String)>,
}

/// Builds the table for one LV. `present` maps PV uuids to the device that holds
/// them. Errors say why the LV cannot be mapped (unsupported segment type, missing PV,
/// inconsistent metadata).
pub(crate) fn lv_table(
    vg: &VolumeGroup,
    lv: &LogicalVolume,
    present: &HashMap<String, DevNumber>,
) -> Result<DmTable, TableError> {
    let mapping = LvMapping { vg, lv, present };
    let mut lines = Vec::new();
    let mut next_extent = 0u64;
    for seg in &lv.segments {
        lines.push(mapping.segment_line(seg, next_extent)?);
        next_extent = seg
            .start_extent
            .checked_add(seg.extent_count)
            .ok_or_else(|| mapping.overflow(seg))?;
    }
    if lines.is_empty() {
        return Err(mapping.invalid("LV has no segments".into()));
    }
    Ok(DmTable { lines })
}

/// One LV being mapped onto the PVs present.
struct LvMapping<'a> {
    vg: &'a VolumeGroup,
    lv: &'a LogicalVolume,
    present: &'a HashMap<String, DevNumber>,
}

impl LvMapping<'_> {
    fn invalid(&self, what: String) -> TableError {
        TableError::Invalid {
            vg: self.vg.name.clone(),
            lv: self.lv.name.clone(),
            what,
        }
    }

    fn overflow(&self, seg: &Segment) -> TableError {
        TableError::Overflow {
            vg: self.vg.name.clone(),
            lv: self.lv.name.clone(),
            extent: seg.start_extent,
        }
    }

    /// The table line for one segment, which must start at `next_extent` (right
    /// after the previous one): `linear` for one stripe, else `striped`.
    fn segment_line(&self, seg: &Segment, next_extent: u64) -> Result<TableLine, TableError> {
        let (stripe_size_sectors, stripes) = match &seg.kind {
            SegmentKind::Striped {
                stripe_size_sectors,
                stripes,
            } => (stripe_size_sectors, stripes),
            SegmentKind::Other { type_name } => {
                let base = type_name.split('+').next().unwrap_or(type_name);
                return Err(self.invalid(format!(
                    "{base} LVs are not supported (segment type {type_name:?})"
                )));
            }
        };
        if seg.start_extent != next_extent {
            return Err(self.invalid(format!(
                "segment at extent {} leaves a gap or overlaps (expected {next_extent})",
                seg.start_extent
            )));
        }
        if seg.extent_count == 0 {
            return Err(self.invalid(format!("empty segment at extent {}", seg.start_extent)));
        }
        let devices = self.stripe_devices(seg, stripes)?;
        let extent_size_sectors = self.vg.extent_size_sectors;
        let start_sector = seg
            .start_extent
            .checked_mul(extent_size_sectors)
            .ok_or_else(|| self.overflow(seg))?;
        let length_sectors = seg
            .extent_count
            .checked_mul(extent_size_sectors)
            .ok_or_else(|| self.overflow(seg))?;
        let target = if devices.len() == 1 {
            let (device, offset_sectors) = devices[0];
            Target::Linear {
                device,
                offset_sectors,
            }
        } else {
            let chunk_sectors = stripe_size_sectors
                .filter(|&s| s > 0)
                .ok_or_else(|| self.invalid("striped segment without stripe_size".into()))?;
            Target::Striped {
                chunk_sectors,
                stripes: devices,
            }
        };
        Ok(TableLine {
            start_sector,
            length_sectors,
            target,
        })
    }

    /// Each stripe's device and the sector its area starts at: the segment's extents
    /// split evenly over the stripes, each area inside its PV.
    fn stripe_devices(
        &self,
        seg: &Segment,
        stripes: &[(String, u64)],
    ) -> Result<Vec<(DevNumber, u64)>, TableError> {
        let stripe_count = stripes.len() as u64;
        if !seg.extent_count.is_multiple_of(stripe_count) {
            return Err(self.invalid(format!(
                "{} extents do not divide into {stripe_count} stripes",
                seg.extent_count
            )));
        }
        let area_extents = seg.extent_count / stripe_count;
        let mut devices = Vec::with_capacity(stripes.len());
        for (pv_name, pe) in stripes {
            let pv = self
                .vg
                .pv(pv_name)
                .ok_or_else(|| self.invalid(format!("segment names unknown PV {pv_name}")))?;
            let device = self
                .present
                .get(&pv.id)
                .copied()
                .ok_or_else(|| self.invalid(format!("PV {} ({pv_name}) missing", pv.id)))?;
            let end = pe
                .checked_add(area_extents)
                .ok_or_else(|| self.overflow(seg))?;
            if end > pv.pe_count {
                return Err(self.invalid(format!(
                    "extents {pe}..{end} are past the end of {pv_name} ({} extents)",
                    pv.pe_count
                )));
            }
            let offset = pe
                .checked_mul(self.vg.extent_size_sectors)
                .and_then(|o| o.checked_add(pv.pe_start_sectors))
                .ok_or_else(|| self.overflow(seg))?;
            devices.push((device, offset));
        }
        Ok(devices)
    }
}

/// Decides which LVs to activate and computes their tables. An LV that touches a
/// missing PV, or has a segment type kboot cannot map, is skipped with the reason.
/// Hidden LVs (parts of other LVs) are skipped silently unless named.
pub(crate) fn plan_activation(
    vgs: &[VolumeGroup],
    present: &HashMap<String, DevNumber>,
    wanted: &Wanted,
) -> ActivationPlan {
    let mut plan = ActivationPlan::default();
    for vg in vgs {
        for lv in &vg.logical_volumes {
            if !wanted.wants(&vg.name, &lv.name) {
                continue;
            }
            let full = format!("{}/{}", vg.name, lv.name);
            if !lv.visible() {
                if wanted.named(&vg.name, &lv.name) {
                    plan.skipped
                        .push((full, "hidden LV (a part of another LV)".to_string()));
                }
                continue;
            }
            match lv_table(vg, lv, present) {
                Ok(table) => {
                    let name = dm_name(&vg.name, &lv.name);
                    plan.activate.push(LvActivation {
                        links: vec![
                            format!("/dev/mapper/{name}"),
                            format!("/dev/{}/{}", vg.name, lv.name),
                        ],
                        dm_uuid: dm_uuid(&vg.id, &lv.id),
                        dm_name: name,
                        vg: vg.name.clone(),
                        lv: lv.name.clone(),
                        table,
                    });
                }
                Err(e) => {
                    let reason = match e {
                        TableError::Invalid { what, .. } => what,
                        other => other.to_string(),
                    };
                    plan.skipped.push((full, reason));
                }
            }
        }
    }
    for (vg, lv) in &wanted.lvs {
        if !vgs.iter().any(|g| &g.name == vg && g.lv(lv).is_some()) {
            plan.skipped.push((
                format!("{vg}/{lv}"),
                "no such LV in the VGs found".to_string(),
            ));
        }
    }
    for vg in &wanted.vgs {
        if !vgs.iter().any(|g| &g.name == vg) {
            plan.skipped
                .push((vg.clone(), "no such VG among the PVs found".to_string()));
        }
    }
    plan
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
