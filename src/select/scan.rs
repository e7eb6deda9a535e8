//! Finding kernels: `kernel=`/`ramdisk=` (and `kboot.module=`, which make `kernel=` a
//! multiboot kernel such as Xen) when the command line names them, else every
//! `vmlinuz-*`, `vmlinux-*` and `bzImage*` in the boot directory with the ramdisk that
//! carries the same version, newest first (`sort -V`).

use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::{on_fs, version, BootEntry, EntryModule, KernelKind, Source};
use crate::untrusted;

#[derive(Debug, thiserror::Error)]
pub(crate) enum ScanError {
    #[error(
        "kernel={path} not found on {fs}: check the path (it is relative to the boot filesystem)"
    )]
    KernelMissing { path: String, fs: ScannedFs },
    #[error("ramdisk={path} not found on {fs}: check the path, or leave ramdisk= out")]
    RamdiskMissing { path: String, fs: ScannedFs },
    #[error("kboot.module={path} not found on {fs}: check the path (the module's file comes first, then its arguments)")]
    ModuleMissing { path: String, fs: ScannedFs },
    #[error("kboot.module= is empty: give the module's file, then its arguments (kboot.module=\"/boot/vmlinuz-V root=...\")")]
    ModuleEmpty,
    /// `kernel=`, `ramdisk=` or `kboot.module=` names something there that cannot be
    /// read as a file.
    #[error("{param}={path} on {fs} cannot be read: {source}")]
    Unreadable {
        param: &'static str,
        path: String,
        fs: ScannedFs,
        #[source]
        source: io::Error,
    },
    #[error("cannot read {dir}: {source}")]
    ReadDir {
        dir: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(
        "no kernel found in {dir} (looked for vmlinuz-*, vmlinux-*, bzImage*){}: name one with kernel=PATH",
        left_out_text(left_out)
    )]
    NoKernels {
        dir: String,
        /// Files that look like kernels but were left out, and why.
        left_out: Vec<ScanWarning>,
    },
}

/// `; left out: …` for the files that looked like kernels, or nothing.
fn left_out_text(left_out: &[ScanWarning]) -> String {
    if left_out.is_empty() {
        return String::new();
    }
    let each: Vec<String> = left_out.iter().map(|w| crate::report::report(w)).collect();
    format!("; {}", each.join("; "))
}

/// A file in the boot directory that looks like a kernel but is left out.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ScanWarning {
    /// `name` is the file name with its bytes outside ASCII shown as `\xNN`.
    #[error("{dir}: \"{name}\" is left out: its name is not UTF-8; rename it to boot it")]
    NameNotUtf8 { dir: PathBuf, name: String },
    #[error("{path} is left out: {source}")]
    NotAKernelFile {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// The filesystem `kernel=` and `ramdisk=` are looked for on, as errors name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ScannedFs {
    /// The `boot=` filesystem.
    Boot,
    Root,
}

impl fmt::Display for ScannedFs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ScannedFs::Boot => "the boot filesystem",
            ScannedFs::Root => "the root filesystem",
        })
    }
}

/// What to look through, and what the command line asked for.
#[derive(Debug, Clone)]
pub(crate) struct ScanRequest<'a> {
    /// The mounted root filesystem.
    pub root: &'a Path,
    /// The mounted `boot=` filesystem, when there is one.
    pub boot: Option<&'a Path>,
    pub kernel: Option<&'a str>,
    pub ramdisk: Option<&'a str>,
    /// `kboot.module=` values, in order: each a file, then its arguments. With
    /// `kernel=` they make it a multiboot entry (Xen with its dom0 kernel and ramdisk).
    pub modules: &'a [String],
    /// The command line scanned and `kernel=` entries get.
    pub cmdline: &'a str,
    /// `kboot.append`: words added to the command line of BLS and grub.cfg entries
    /// (`cmdline` already carries them).
    pub append: Option<&'a str>,
}

#[cfg(test)]
impl<'a> ScanRequest<'a> {
    /// A request for the trees alone: no `kernel=`, `ramdisk=` or `kboot.append`.
    pub(crate) fn for_trees(root: &'a Path, boot: Option<&'a Path>, cmdline: &'a str) -> Self {
        ScanRequest {
            root,
            boot,
            kernel: None,
            ramdisk: None,
            modules: &[],
            cmdline,
            append: None,
        }
    }
}

const KERNEL_PREFIXES: [&str; 3] = ["vmlinuz-", "vmlinux-", "bzImage"];

/// The version a kernel file name carries (`vmlinuz-6.1.0-9-amd64` → `6.1.0-9-amd64`).
pub(crate) fn kernel_version(file_name: &str) -> Option<&str> {
    let rest = KERNEL_PREFIXES
        .iter()
        .find_map(|p| file_name.strip_prefix(p))?;
    let rest = rest.trim_start_matches('-');
    // vmlinux-V.gz (and .xz, .zst, .bz2, .lz4) carries version V: its ramdisk is
    // initrd.img-V.
    let rest = [".gz", ".xz", ".zst", ".bz2", ".lz4"]
        .iter()
        .find_map(|suffix| rest.strip_suffix(suffix))
        .unwrap_or(rest);
    Some(rest)
}

/// The file names a ramdisk for kernel `version` goes by, in order of preference.
pub(crate) fn ramdisk_names(version: &str) -> [String; 4] {
    [
        format!("initrd.img-{version}"),
        format!("initrd-{version}.img"),
        format!("initramfs-{version}.img"),
        format!("initrd-{version}"),
    ]
}

/// Whether `path`, as written on the filesystem at `fs_root`, is a regular file there
/// (symlinks followed without leaving that filesystem).
pub(crate) fn is_file_on(fs_root: &Path, path: &str) -> bool {
    untrusted::check_regular_file_in_root(fs_root, Path::new(path)).is_ok()
}

/// Leftovers that share a kernel's prefix but are not kernels.
fn is_backup(name: &str) -> bool {
    [
        ".old",
        ".bak",
        ".dpkg-tmp",
        ".dpkg-new",
        ".sig",
        ".hmac",
        "~",
    ]
    .iter()
    .any(|s| name.ends_with(s))
}

/// The boot filesystem and the directory on it where kernels live, as written on it.
fn boot_dir<'a>(req: &ScanRequest<'a>) -> (&'a Path, &'static str) {
    match req.boot {
        Some(boot) => (boot, "/"),
        None => (req.root, "/boot"),
    }
}

/// The entries the command line's `kernel=` names, or else the kernels in the boot
/// directory.
#[cfg(test)]
pub(crate) fn find_entries(req: &ScanRequest<'_>) -> Result<Vec<BootEntry>, ScanError> {
    find_entries_noting(req, &mut Vec::new())
}

/// `find_entries`, noting in `warnings` the files that look like kernels but are left
/// out.
pub(crate) fn find_entries_noting(
    req: &ScanRequest<'_>,
    warnings: &mut Vec<ScanWarning>,
) -> Result<Vec<BootEntry>, ScanError> {
    match req.kernel {
        Some(kernel) => Ok(vec![cmdline_entry(req, kernel)?]),
        None => scanned_entries(req, warnings),
    }
}

/// `kernel=` (and `ramdisk=`) as one entry; both must exist on the boot filesystem.
fn cmdline_entry(req: &ScanRequest<'_>, kernel: &str) -> Result<BootEntry, ScanError> {
    let (fs_root, _) = boot_dir(req);
    let fs = if req.boot.is_some() {
        ScannedFs::Boot
    } else {
        ScannedFs::Root
    };
    let kernel = absolute(kernel);
    check_named_file(fs_root, fs, "kernel", &kernel, |path| {
        ScanError::KernelMissing { path, fs }
    })?;
    let version = Path::new(&kernel)
        .file_name()
        .and_then(|n| kernel_version(&n.to_string_lossy()).map(str::to_string));
    let ramdisks = match req.ramdisk {
        Some(r) => {
            let r = absolute(r);
            check_named_file(fs_root, fs, "ramdisk", &r, |path| {
                ScanError::RamdiskMissing { path, fs }
            })?;
            vec![r]
        }
        None => Vec::new(),
    };
    let modules = cmdline_modules(req, fs_root, fs)?;
    // Xen carries no Linux version; its first module (the dom0 kernel) does.
    let version = match modules.first() {
        Some(first) => Path::new(&first.path)
            .file_name()
            .and_then(|n| kernel_version(&n.to_string_lossy()).map(str::to_string)),
        None => version,
    };
    Ok(BootEntry {
        title: format!("{kernel} (from the command line)"),
        id: None,
        version,
        fs_root: fs_root.to_path_buf(),
        kernel,
        kind: if modules.is_empty() {
            KernelKind::Linux
        } else {
            KernelKind::Multiboot
        },
        ramdisks,
        modules,
        cmdline: req.cmdline.to_string(),
        source: Source::Cmdline,
        missing: Vec::new(),
        cannot_boot: None,
    })
}

/// `kboot.module=` as modules: each value's first word is the file (on the same
/// filesystem as `kernel=`, which must hold it), the rest its arguments.
fn cmdline_modules(
    req: &ScanRequest<'_>,
    fs_root: &Path,
    fs: ScannedFs,
) -> Result<Vec<EntryModule>, ScanError> {
    let mut modules = Vec::with_capacity(req.modules.len());
    for value in req.modules {
        let value = value.trim();
        let (file, args) = value.split_once(char::is_whitespace).unwrap_or((value, ""));
        if file.is_empty() {
            return Err(ScanError::ModuleEmpty);
        }
        let path = absolute(file);
        check_named_file(fs_root, fs, "kboot.module", &path, |path| {
            ScanError::ModuleMissing { path, fs }
        })?;
        modules.push(EntryModule {
            path,
            args: args.trim().to_string(),
        });
    }
    Ok(modules)
}

/// That the file `param` (`kernel` or `ramdisk`) names at `path` is a regular file on
/// the filesystem at `fs_root`; `missing` is the error when nothing is there.
fn check_named_file(
    fs_root: &Path,
    fs: ScannedFs,
    param: &'static str,
    path: &str,
    missing: impl FnOnce(String) -> ScanError,
) -> Result<(), ScanError> {
    let path = path.to_string();
    match untrusted::check_regular_file_in_root(fs_root, Path::new(&path)) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Err(missing(path)),
        Err(source) => Err(ScanError::Unreadable {
            param,
            path,
            fs,
            source,
        }),
    }
}

/// Every kernel in the boot directory with its ramdisk, newest first.
fn scanned_entries(
    req: &ScanRequest<'_>,
    warnings: &mut Vec<ScanWarning>,
) -> Result<Vec<BootEntry>, ScanError> {
    let (fs_root, dir) = boot_dir(req);
    let on_disk = on_fs(fs_root, dir);
    // A `/boot` that is a symlink (even to `/`) is followed inside the filesystem only.
    let listing = untrusted::resolve_in_root(fs_root, Path::new(dir))
        .and_then(fs::read_dir)
        .map_err(|source| ScanError::ReadDir {
            dir: on_disk.clone(),
            source,
        })?;
    let mut names: Vec<String> = Vec::new();
    for name in listing.flatten().map(|e| e.file_name()) {
        match name.into_string() {
            Ok(name) => names.push(name),
            Err(name) => {
                use std::os::unix::ffi::OsStrExt;
                if kernel_version(&name.to_string_lossy()).is_some() {
                    warnings.push(ScanWarning::NameNotUtf8 {
                        dir: on_disk.clone(),
                        name: name.as_bytes().escape_ascii().to_string(),
                    });
                }
            }
        }
    }
    names.sort();
    let mut entries: Vec<BootEntry> = Vec::new();
    for name in names
        .iter()
        .filter(|n| kernel_version(n).is_some() && !is_backup(n))
    {
        match untrusted::check_regular_file_in_root(fs_root, Path::new(&join_dir(dir, name))) {
            Ok(()) => entries.push(scanned_entry(req, name, &names)),
            // A dangling symlink is left out quietly, as before.
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(source) => warnings.push(ScanWarning::NotAKernelFile {
                path: on_disk.join(name),
                source,
            }),
        }
    }
    if entries.is_empty() {
        return Err(ScanError::NoKernels {
            dir: dir.to_string(),
            left_out: std::mem::take(warnings),
        });
    }
    // Newest first; an unversioned `bzImage` after every versioned kernel.
    entries.sort_by(|a, b| match (&a.version, &b.version) {
        (Some(x), Some(y)) => version::compare(y, x),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => a.kernel.cmp(&b.kernel),
    });
    Ok(entries)
}

/// The kernel file `name` of the boot directory (listed in `names`) as an entry, with the ramdisk of its version when there is one.
fn scanned_entry(req: &ScanRequest<'_>, name: &str, names: &[String]) -> BootEntry {
    let (fs_root, dir) = boot_dir(req);
    let version = kernel_version(name)
        .filter(|v| !v.is_empty())
        .map(str::to_string);
    let ramdisk = version.as_deref().and_then(|v| {
        ramdisk_names(v)
            .into_iter()
            .find(|r| names.contains(r) && is_file_on(fs_root, &join_dir(dir, r)))
    });
    BootEntry {
        title: match &version {
            Some(v) => format!("Linux {v}"),
            None => name.to_string(),
        },
        id: None,
        version,
        fs_root: fs_root.to_path_buf(),
        kernel: join_dir(dir, name),
        kind: KernelKind::Linux,
        ramdisks: ramdisk.map(|r| join_dir(dir, &r)).into_iter().collect(),
        modules: Vec::new(),
        cmdline: req.cmdline.to_string(),
        source: Source::Scan,
        missing: Vec::new(),
        cannot_boot: None,
    }
}

pub(crate) fn absolute(path: &str) -> String {
    if path.starts_with('/') {
        path.to_string()
    } else {
        format!("/{path}")
    }
}

fn join_dir(dir: &str, name: &str) -> String {
    format!("{}/{name}", dir.trim_end_matches('/'))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
