//! A config's menu entry as a `BootEntry`: its paths found on the filesystems (a
//! config's `root` is a device kboot cannot evaluate), what is missing, the command
//! line with `kboot.append`.

use std::io;
use std::path::{Path, PathBuf};

use super::super::grub::GrubEntry;
use super::super::scan::{self, ScanRequest};
use super::super::{on_fs, BootEntry, EntryModule};
use super::ConfigWarning;
use crate::untrusted;

pub(super) fn boot_entry(req: &ScanRequest<'_>, e: &GrubEntry, config_fs: &Path) -> BootEntry {
    let kernel = e.kernel.as_deref().map(strip_device).unwrap_or_default();
    let initrds: Vec<String> = e.initrds.iter().map(|r| strip_device(r)).collect();
    let modules: Vec<(String, String)> = e
        .modules
        .iter()
        .map(|m| (strip_device(&m.file), m.args.join(" ")))
        .collect();
    let located = Some(&kernel)
        .filter(|k| !k.is_empty())
        .and_then(|k| locate(req, config_fs, k))
        .or_else(|| initrds.first().and_then(|r| locate(req, config_fs, r)))
        .or_else(|| modules.first().and_then(|(m, _)| locate(req, config_fs, m)))
        // Missing everywhere: report it where the config is.
        .unwrap_or(Located {
            fs_root: config_fs.to_path_buf(),
            prefix: "",
        });
    let ramdisks: Vec<String> = initrds.iter().map(|r| located.adjust(r)).collect();
    let modules: Vec<EntryModule> = modules
        .into_iter()
        .map(|(path, args)| EntryModule {
            path: located.adjust(&path),
            args,
        })
        .collect();
    let kernel = if kernel.is_empty() {
        kernel
    } else {
        located.adjust(&kernel)
    };
    // An entry kboot cannot boot names no file it would read.
    let missing = if e.cannot_boot.is_some() {
        Vec::new()
    } else {
        std::iter::once(&kernel)
            .chain(&ramdisks)
            .chain(modules.iter().map(|m| &m.path))
            .filter(|p| !scan::is_file_on(&located.fs_root, p))
            .cloned()
            .collect()
    };
    let mut cmdline = e.cmdline();
    let append = req.append.filter(|_| e.cannot_boot.is_none());
    if let Some(append) = append.filter(|a| !a.trim().is_empty()) {
        if !cmdline.is_empty() {
            cmdline.push(' ');
        }
        cmdline.push_str(append.trim());
    }
    // A multiboot kernel (Xen) carries no Linux version; its first module (the dom0
    // kernel) does.
    let versioned = if e.kind.is_linux() {
        Some(kernel.as_str())
    } else {
        modules.first().map(|m| m.path.as_str())
    };
    let version = versioned
        .and_then(|p| Path::new(p).file_name())
        .and_then(|n| scan::kernel_version(&n.to_string_lossy()).map(str::to_string))
        .filter(|v| !v.is_empty());
    BootEntry {
        title: e.title.clone(),
        id: e.id.clone(),
        version,
        fs_root: located.fs_root,
        kernel,
        kind: e.kind,
        ramdisks,
        modules,
        cmdline,
        source: e.source,
        missing,
        cannot_boot: e.cannot_boot.clone(),
    }
}

/// Files the entries name that are there but cannot be read (a FIFO, a directory, a
/// symlink loop): `missing` only says the entry cannot boot, this says why.
pub(super) fn unreadable_files(entries: &[BootEntry]) -> Vec<ConfigWarning> {
    let mut unreadable = Vec::new();
    for entry in entries {
        for path in &entry.missing {
            match untrusted::check_regular_file_in_root(&entry.fs_root, Path::new(path)) {
                Err(source) if source.kind() != io::ErrorKind::NotFound => {
                    unreadable.push(ConfigWarning::Read {
                        path: on_fs(&entry.fs_root, path),
                        source,
                    })
                }
                _ => {}
            }
        }
    }
    unreadable
}

/// GRUB paths may start with the device: `(hd0,gpt2)/vmlinuz`, `($root)/vmlinuz`.
pub(super) fn strip_device(path: &str) -> String {
    let path = match path.strip_prefix('(').and_then(|p| p.split_once(')')) {
        Some((_, rest)) => rest,
        None => path,
    };
    scan::absolute(path)
}

/// Where a config's paths point. A path is relative to the filesystem GRUB's `root`
/// is on, which kboot cannot evaluate (`search --set=root`), so it looks: the
/// filesystem the config is on, then the other one, then `/boot` on root (a config
/// written for a separate /boot, read from a root whose /boot holds the files).
struct Located {
    fs_root: PathBuf,
    /// Prefix added to the config's paths (`/boot` in the last case).
    prefix: &'static str,
}

impl Located {
    fn adjust(&self, path: &str) -> String {
        format!("{}{path}", self.prefix)
    }
}

/// Where `path` (the kernel, or failing that the first ramdisk) is.
fn locate(req: &ScanRequest<'_>, config_fs: &Path, path: &str) -> Option<Located> {
    let mut candidates: Vec<(PathBuf, &'static str)> = vec![(config_fs.to_path_buf(), "")];
    for fs in req.boot.into_iter().chain([req.root]) {
        if fs != config_fs {
            candidates.push((fs.to_path_buf(), ""));
        }
    }
    candidates.push((req.root.to_path_buf(), "/boot"));
    candidates
        .into_iter()
        .find(|(fs, prefix)| scan::is_file_on(fs, &format!("{prefix}{path}")))
        .map(|(fs_root, prefix)| Located { fs_root, prefix })
}
