//! Temporary stand-in; the real prober lands from the helper-probe branch.
use std::io::{Read, Seek};

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum FsType {
    Ext2,
    Ext3,
    Ext4,
    Xfs,
    Btrfs,
    Vfat,
    Iso9660,
    Swap,
}
impl FsType {
    pub fn name(self) -> &'static str {
        "x"
    }
    pub fn mountable(self) -> bool {
        true
    }
}
impl std::str::FromStr for FsType {
    type Err = ProbeError;
    fn from_str(_s: &str) -> Result<Self, ProbeError> {
        Ok(FsType::Ext4)
    }
}
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FsInfo {
    pub fs_type: FsType,
    pub uuid: Option<String>,
    pub label: Option<String>,
    pub needs_recovery: bool,
}
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("x")]
    X,
}
pub fn probe<R: Read + Seek>(_dev: &mut R, _size_bytes: u64) -> Result<Option<FsInfo>, ProbeError> {
    Ok(None)
}
