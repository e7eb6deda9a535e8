//! Turning mounted filesystems into boot entries. Parsers here return `BootEntry`
//! values and know nothing of menus or kexec.

pub mod scan;
pub mod version;

use std::path::{Path, PathBuf};

use serde::Serialize;

/// Where an entry came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Source {
    /// `kernel=` (and `ramdisk=`) on the command line.
    Cmdline,
    /// A kernel found by looking through the boot directory.
    Scan,
}

/// A kernel that can be booted, with its ramdisk and command line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BootEntry {
    pub title: String,
    pub version: Option<String>,
    /// Where the filesystem holding the files is mounted (or the tree given to
    /// `kboot entries`).
    pub fs_root: PathBuf,
    /// Paths on that filesystem, as the user names them (`/boot/vmlinuz-6.1.0-9-amd64`).
    pub kernel: String,
    pub ramdisk: Option<String>,
    pub cmdline: String,
    pub source: Source,
}

impl BootEntry {
    /// The kernel's path in kboot's own namespace.
    pub fn kernel_path(&self) -> PathBuf {
        on_fs(&self.fs_root, &self.kernel)
    }

    pub fn ramdisk_path(&self) -> Option<PathBuf> {
        self.ramdisk.as_deref().map(|r| on_fs(&self.fs_root, r))
    }
}

/// Joins a path as written on a filesystem to where that filesystem is mounted.
pub fn on_fs(fs_root: &Path, path: &str) -> PathBuf {
    fs_root.join(path.trim_start_matches('/'))
}
