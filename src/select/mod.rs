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
    /// `kernel=` (and `ramdisk=`, `kboot.module=`) on the command line.
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

/// What an entry's kernel is, as u-root tells a `LinuxImage` from a `MultibootImage`:
/// it decides whether the entry carries ramdisks or multiboot modules.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum KernelKind {
    #[default]
    Linux,
    /// grub.cfg's `multiboot`, or `kernel=` with `kboot.module=` (the loader reads the
    /// image's headers to pick the protocol).
    Multiboot,
    /// grub.cfg's `multiboot2`.
    Multiboot2,
}

impl KernelKind {
    pub(crate) fn is_linux(&self) -> bool {
        *self == KernelKind::Linux
    }

    /// As `kboot entries` and the menu name it.
    pub(crate) fn name(self) -> &'static str {
        match self {
            KernelKind::Linux => "linux",
            KernelKind::Multiboot => "multiboot",
            KernelKind::Multiboot2 => "multiboot2",
        }
    }
}

/// A multiboot module of an entry (Xen's dom0 kernel, its ramdisk): a path on the
/// entry's filesystem and the arguments written after it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct EntryModule {
    pub path: String,
    /// As the config writes them (GRUB passes exactly these; Debian's first word,
    /// `placeholder`, is what Xen strips under GRUB 2).
    pub args: String,
}

impl EntryModule {
    /// The module's command line for a loader that is not GRUB 2: the path first (Xen
    /// strips that word), then the arguments, so the kernel sees what GRUB gives it.
    pub(crate) fn cmdline(&self) -> String {
        if self.args.is_empty() {
            self.path.clone()
        } else {
            format!("{} {}", self.path, self.args)
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
    /// Linux unless the entry boots a multiboot kernel (Xen).
    #[serde(skip_serializing_if = "KernelKind::is_linux")]
    pub kind: KernelKind,
    /// In the order the kernel gets them: several are concatenated into one initramfs
    /// (the kernel unpacks concatenated cpio archives one after another).
    pub ramdisks: Vec<String>,
    /// A multiboot kernel's modules, in order (Xen: the dom0 kernel, then its ramdisk).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub modules: Vec<EntryModule>,
    /// The kernel's command line (a multiboot kernel's own: Xen's).
    pub cmdline: String,
    pub source: Source,
    /// Files the entry names that are not there (kernel, ramdisks or modules): the
    /// entry is still listed, so the menu can show it and booting it fails with this
    /// list.
    pub missing: Vec<String>,
    /// Why kboot cannot boot this entry at all (`chainloader (another boot loader)`):
    /// it is listed, marked, and never the default on its own.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cannot_boot: Option<String>,
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

    /// The modules' paths in kboot's own namespace, in order, as written.
    pub(crate) fn module_paths(&self) -> Vec<PathBuf> {
        self.modules
            .iter()
            .map(|m| on_fs(&self.fs_root, &m.path))
            .collect()
    }

    /// The module files to read, as `kernel_file` finds them, each with its command
    /// line (`EntryModule::cmdline`).
    pub(crate) fn module_files(&self) -> Vec<(PathBuf, String)> {
        self.modules
            .iter()
            .map(|m| (file_on(&self.fs_root, &m.path), m.cmdline()))
            .collect()
    }

    /// The modules as the boot line and `kboot entries` show them: each path with its
    /// arguments, joined by commas.
    pub(crate) fn modules_shown(&self) -> String {
        let each: Vec<String> = self.modules.iter().map(EntryModule::cmdline).collect();
        each.join(", ")
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

/// The configs' (or `kboot.default=`'s) default is an entry kboot cannot boot.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the default entry \"{title}\" cannot be booted by kboot: {reason}; {}", match .instead {
    Some(t) => format!("the default is \"{t}\" instead"),
    None => "no entry can be booted".to_string(),
})]
pub(crate) struct UnbootableDefault {
    pub title: String,
    pub reason: String,
    /// The first entry kboot can boot, which becomes the default.
    pub instead: Option<String>,
}

/// The entry to boot when nobody chooses: `index`, unless kboot cannot boot it; then
/// the first one it can (as careful boot loaders fall back), with the reason to say.
/// When none can be booted `index` stays: the menu shows why.
pub(crate) fn bootable_default(
    entries: &[BootEntry],
    index: usize,
) -> (usize, Option<UnbootableDefault>) {
    let Some(chosen) = entries.get(index) else {
        return (index, None);
    };
    let Some(reason) = &chosen.cannot_boot else {
        return (index, None);
    };
    let first = entries.iter().position(|e| e.cannot_boot.is_none());
    let problem = UnbootableDefault {
        title: chosen.title.clone(),
        reason: reason.clone(),
        instead: first.map(|i| entries[i].title.clone()),
    };
    (first.unwrap_or(index), Some(problem))
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
