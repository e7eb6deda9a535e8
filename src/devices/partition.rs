//! Temporary stand-in; the real reader lands from the helper-probe branch.
use std::io::{Read, Seek};
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum TableKind {
    Gpt,
    Mbr,
}
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Partition {
    pub number: u32,
    pub start_bytes: u64,
    pub size_bytes: u64,
    pub partuuid: String,
    pub partlabel: Option<String>,
}
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PartitionTable {
    pub kind: TableKind,
    pub disk_id: String,
    pub partitions: Vec<Partition>,
}
#[derive(Debug, thiserror::Error)]
pub enum PartitionError {
    #[error("x")]
    X,
}
pub fn read_table<R: Read + Seek>(
    _dev: &mut R,
    _size_bytes: u64,
) -> Result<Option<PartitionTable>, PartitionError> {
    Ok(None)
}
