//! Turning mounted filesystems into boot entries. Parsers here return `BootEntry`
//! values and know nothing of menus or kexec: `bls` reads Boot Loader Specification
//! entries, `grub` reads the grub.cfg that `grub-mkconfig` writes, `scan` looks for
//! kernels itself, and `collect` merges them into the list the menu shows.

pub(crate) mod bls;
pub(crate) mod collect;
pub(crate) mod grub;
pub(crate) mod scan;
pub(crate) mod version;

use std::path::{Component, Path, PathBuf};

use serde::Serialize;

pub(crate) use collect::{collect, Collected, SelectError};

/// Where an entry came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Source {
    /// `kernel=` (and `ramdisk=`) on the command line.
    Cmdline,
    /// A Boot Loader Specification type 1 entry (`loader/entries/*.conf`).
    Bls,
    /// A `menuentry` in grub.cfg.
    Grub,
    /// A kernel found by looking through the boot directory.
    Scan,
}

impl Source {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Source::Cmdline => "cmdline",
            Source::Bls => "bls",
            Source::Grub => "grub",
            Source::Scan => "scan",
        }
    }
}

/// A kernel that can be booted, with its ramdisks and command line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct BootEntry {
    pub title: String,
    /// The config's own name for the entry: the BLS file name without `.conf`, or a
    /// grub `--id`. `kboot.default=` and the configs' defaults can name it.
    pub id: Option<String>,
    pub version: Option<String>,
    /// Where the filesystem holding the files is mounted (or the tree given to
    /// `kboot entries`).
    pub fs_root: PathBuf,
    /// Paths on that filesystem, as the user names them (`/boot/vmlinuz-6.1.0-9-amd64`).
    pub kernel: String,
    /// In the order the kernel gets them: several are concatenated into one initramfs
    /// (the kernel unpacks concatenated cpio archives one after another).
    pub ramdisks: Vec<String>,
    pub cmdline: String,
    pub source: Source,
    /// Files the entry names that are not there (kernel or ramdisks): the entry is still
    /// listed, so the menu can show it and booting it fails with this list.
    pub missing: Vec<String>,
}

impl BootEntry {
    /// The kernel's path in kboot's own namespace, as written (for comparing entries).
    pub(crate) fn kernel_path(&self) -> PathBuf {
        on_fs(&self.fs_root, &self.kernel)
    }

    /// The ramdisks' paths in kboot's own namespace, in order, as written.
    pub(crate) fn ramdisk_paths(&self) -> Vec<PathBuf> {
        self.ramdisks
            .iter()
            .map(|r| on_fs(&self.fs_root, r))
            .collect()
    }

    /// The kernel file to read: `kernel_path` with its symlinks followed inside its
    /// filesystem, so none leads out of it (as written when that fails: such a kernel
    /// is already in `missing`).
    pub(crate) fn kernel_file(&self) -> PathBuf {
        file_on(&self.fs_root, &self.kernel)
    }

    /// The ramdisk files to read, as `kernel_file` finds them.
    pub(crate) fn ramdisk_files(&self) -> Vec<PathBuf> {
        self.ramdisks
            .iter()
            .map(|r| file_on(&self.fs_root, r))
            .collect()
    }

    /// The ramdisks as the boot line and `kboot entries` show them: joined by commas,
    /// or `none`.
    pub(crate) fn ramdisks_shown(&self) -> String {
        if self.ramdisks.is_empty() {
            "none".to_string()
        } else {
            self.ramdisks.join(",")
        }
    }

    #[cfg(test)]
    pub(crate) fn kernel_missing(&self) -> bool {
        self.missing.contains(&self.kernel)
    }
}

/// What a boot loader config says about the menu itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Config {
    pub default: Option<DefaultSpec>,
    /// Seconds before the default boots; negative means wait for the user (GRUB's -1).
    pub timeout_secs: Option<i64>,
}

/// How a config names its default entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DefaultSpec {
    /// GRUB's `set default=`: a path through submenus (`1>2`), each step a position,
    /// a title or an id.
    Grub(Vec<String>),
    /// `loader.conf`'s `default`: a glob over entry ids (file names without `.conf`).
    BlsGlob(String),
}

/// Joins a path as written on a filesystem to where that filesystem is mounted; `..`
/// stops at the filesystem's root (as it does for the system booted from it), so no
/// path written on a disk names a file outside it. Symlinks are not followed here:
/// reading goes through `crate::untrusted::resolve_in_root`.
pub(crate) fn on_fs(fs_root: &Path, path: &str) -> PathBuf {
    let mut joined = fs_root.to_path_buf();
    let mut depth = 0usize;
    for component in Path::new(path).components() {
        match component {
            Component::Normal(name) => {
                joined.push(name);
                depth += 1;
            }
            Component::ParentDir if depth > 0 => {
                joined.pop();
                depth -= 1;
            }
            Component::ParentDir
            | Component::RootDir
            | Component::CurDir
            | Component::Prefix(_) => {}
        }
    }
    joined
}

/// `path` on the filesystem at `fs_root` with its symlinks followed inside it; as
/// `on_fs` joins it when that fails (a loop), which only an entry already in `missing`
/// (never booted) meets.
fn file_on(fs_root: &Path, path: &str) -> PathBuf {
    crate::untrusted::resolve_in_root(fs_root, Path::new(path))
        .unwrap_or_else(|_| on_fs(fs_root, path))
}
