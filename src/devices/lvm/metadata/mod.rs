//! LVM2's text metadata: the volume group description every PV's metadata area holds.
//!
//! The format (lvm2 `lib/config/config.c`, `lib/format_text/import_vsn1.c`) is a tree:
//! `name { ... }` sections and `key = value` settings, where a value is a string
//! (`"..."`, with `\"` and `\\` escapes), an integer, or an array `[ v, v, ... ]` that
//! may span lines; `#` starts a comment. See section 2 of `storage-formats.md`.
//!
//! `lexer` and `parser` read the text generically into a
//! [`ConfigTree`](tree::ConfigTree) (`tree`, whose `Display` writes it back), and
//! `volume_group` reads the parts kboot needs to map logical volumes (PVs, LVs and
//! their segments) into a [`VolumeGroup`].

use thiserror::Error;

mod lexer;
mod parser;
pub(crate) mod tree;
pub(crate) mod volume_group;

pub(crate) use volume_group::{name_and_seqno, LogicalVolume, SegmentKind, VolumeGroup};

#[derive(Debug, Error, PartialEq, Eq)]
pub(crate) enum MetadataError {
    #[error("metadata text line {line}: {what}")]
    Syntax { line: usize, what: String },
    #[error("metadata text line {line}: sections and arrays nest deeper than {limit} levels (LVM writes about 6); the metadata is corrupt or crafted")]
    TooDeep { line: usize, limit: usize },
    #[error("metadata has no volume group section")]
    NoVolumeGroup,
    #[error("metadata {path}: missing {key}")]
    Missing { path: String, key: &'static str },
    #[error("metadata {path}: {key} should be {expected}")]
    WrongType {
        path: String,
        key: &'static str,
        expected: &'static str,
    },
    #[error("metadata {path}: {what}")]
    Invalid { path: String, what: String },
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) mod tests;
