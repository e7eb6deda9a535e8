//! How the command line names a device (`root=`, `boot=`): the forms the kernel
//! accepts plus those initramfs tools add (`UUID=`, `LABEL=`), and the
//! `/dev/disk/by-*` links that udev would make (there is no udev here).

use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DeviceSpec {
    /// `/dev/vda1`, `/dev/md/root`, `/dev/mapper/vg-lv`.
    Path(String),
    /// Filesystem UUID, compared without regard to case.
    Uuid(String),
    Label(String),
    /// Partition UUID, optionally with `/PARTNROFF=n` (the partition n after it).
    PartUuid {
        uuid: String,
        offset: i32,
    },
    PartLabel(String),
    /// `MAJ:MIN`, or the kernel's legacy hex form (`0801`).
    Number {
        major: u32,
        minor: u32,
    },
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum SpecError {
    #[error("empty device name")]
    Empty,
    #[error("empty value after {0}=")]
    EmptyValue(&'static str),
    #[error("bad PARTNROFF in {0:?}")]
    PartNrOff(String),
    #[error(
        "{0:?} is not a device: use /dev/NAME, UUID=, LABEL=, PARTUUID=, PARTLABEL= or MAJ:MIN"
    )]
    Unrecognised(String),
}

fn nonempty(kind: &'static str, value: &str) -> Result<String, SpecError> {
    if value.is_empty() {
        Err(SpecError::EmptyValue(kind))
    } else {
        Ok(value.to_string())
    }
}

fn parse_partuuid(value: &str) -> Result<DeviceSpec, SpecError> {
    let (uuid, offset) = match value.split_once('/') {
        Some((uuid, off)) => {
            let n = off
                .strip_prefix("PARTNROFF=")
                .and_then(|n| n.parse::<i32>().ok())
                .ok_or_else(|| SpecError::PartNrOff(value.to_string()))?;
            (uuid, n)
        }
        None => (value, 0),
    };
    Ok(DeviceSpec::PartUuid {
        uuid: nonempty("PARTUUID", uuid)?,
        offset,
    })
}

impl FromStr for DeviceSpec {
    type Err = SpecError;

    fn from_str(s: &str) -> Result<Self, SpecError> {
        if s.is_empty() {
            return Err(SpecError::Empty);
        }
        if let Some(v) = s.strip_prefix("UUID=") {
            return Ok(DeviceSpec::Uuid(nonempty("UUID", v)?));
        }
        if let Some(v) = s.strip_prefix("LABEL=") {
            return Ok(DeviceSpec::Label(nonempty("LABEL", v)?));
        }
        if let Some(v) = s.strip_prefix("PARTUUID=") {
            return parse_partuuid(v);
        }
        if let Some(v) = s.strip_prefix("PARTLABEL=") {
            return Ok(DeviceSpec::PartLabel(nonempty("PARTLABEL", v)?));
        }
        for (prefix, make) in [
            (
                "/dev/disk/by-uuid/",
                DeviceSpec::Uuid as fn(String) -> DeviceSpec,
            ),
            ("/dev/disk/by-label/", DeviceSpec::Label),
            ("/dev/disk/by-partlabel/", DeviceSpec::PartLabel),
        ] {
            if let Some(v) = s.strip_prefix(prefix) {
                return Ok(make(nonempty("by-link", v)?));
            }
        }
        if let Some(v) = s.strip_prefix("/dev/disk/by-partuuid/") {
            return parse_partuuid(v);
        }
        if s.starts_with("/dev/") && s.len() > "/dev/".len() {
            return Ok(DeviceSpec::Path(s.to_string()));
        }
        if let Some((maj, min)) = s.split_once(':') {
            if let (Ok(major), Ok(minor)) = (maj.parse(), min.parse()) {
                return Ok(DeviceSpec::Number { major, minor });
            }
        }
        // The kernel's old encoding: hex of (major << 8 | minor), e.g. 0801 = 8:1.
        if (3..=4).contains(&s.len()) && s.chars().all(|c| c.is_ascii_hexdigit()) {
            if let Ok(n) = u32::from_str_radix(s, 16) {
                return Ok(DeviceSpec::Number {
                    major: n >> 8,
                    minor: n & 0xff,
                });
            }
        }
        Err(SpecError::Unrecognised(s.to_string()))
    }
}

impl fmt::Display for DeviceSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeviceSpec::Path(p) => write!(f, "{p}"),
            DeviceSpec::Uuid(u) => write!(f, "UUID={u}"),
            DeviceSpec::Label(l) => write!(f, "LABEL={l}"),
            DeviceSpec::PartUuid { uuid, offset: 0 } => write!(f, "PARTUUID={uuid}"),
            DeviceSpec::PartUuid { uuid, offset } => {
                write!(f, "PARTUUID={uuid}/PARTNROFF={offset}")
            }
            DeviceSpec::PartLabel(l) => write!(f, "PARTLABEL={l}"),
            DeviceSpec::Number { major, minor } => write!(f, "{major}:{minor}"),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
