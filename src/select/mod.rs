//! Turning filesystems into boot entries.
