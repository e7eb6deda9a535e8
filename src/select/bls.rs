//! Boot Loader Specification type 1 entries (`loader/entries/*.conf`) and
//! `loader/loader.conf`, as the UAPI group's specification describes them
//! (<https://uapi-group.org/specifications/specs/boot_loader_specification/>) and as
//! Fedora's `kernel-install` writes them.
//!
//! The parsers are pure; `read_dir_entries` and `read_loader_conf` are the thin layer
//! that reads the files.

use std::cmp::Ordering;
use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use super::version;
use crate::untrusted;

#[derive(Debug, thiserror::Error)]
pub(crate) enum BlsError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{path}: no `linux` line (type 1 entries for other payloads, `efi` or `uki`, cannot be kexec'd)")]
    NoLinux { path: PathBuf },
}

/// One `*.conf` file. Keys the specification repeats (`initrd`, `options`) keep every
/// line; keys kboot does not use (`grub_users`, `grub_arg`, `grub_class`, `efi`...) are
/// kept in `other`, so writing the entry back gives the same keys.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct BlsEntry {
    pub title: Option<String>,
    pub version: Option<String>,
    pub machine_id: Option<String>,
    pub sort_key: Option<String>,
    pub linux: Option<String>,
    pub initrds: Vec<String>,
    /// One element per `options` line; the command line is them joined with spaces.
    pub options: Vec<String>,
    pub devicetree: Option<String>,
    pub architecture: Option<String>,
    pub other: Vec<(String, String)>,
}

impl BlsEntry {
    /// The kernel command line: every `options` line, joined with spaces.
    pub(crate) fn cmdline(&self) -> String {
        self.options.join(" ")
    }

    /// Entries for another architecture are not for this machine. The specification's
    /// names: `ia32`, `x64`, `arm`, `aa64`...; without the key an entry is for any.
    pub(crate) fn is_for_this_machine(&self) -> bool {
        match &self.architecture {
            None => true,
            Some(arch) => arch.eq_ignore_ascii_case(THIS_ARCHITECTURE),
        }
    }
}

/// This machine's name in the specification's `architecture` key.
const THIS_ARCHITECTURE: &str = "x64";

impl FromStr for BlsEntry {
    type Err = std::convert::Infallible;

    /// Never fails: unknown keys are kept, lines without a value are ignored, as boot
    /// loaders do.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let mut entry = BlsEntry::default();
        for (key, value) in key_values(text) {
            let value = value.to_string();
            match key {
                "title" => entry.title = Some(value),
                "version" => entry.version = Some(value),
                "machine-id" => entry.machine_id = Some(value),
                "sort-key" => entry.sort_key = Some(value),
                "linux" => entry.linux = Some(value),
                "initrd" => entry.initrds.push(value),
                "options" => entry.options.push(value),
                "devicetree" => entry.devicetree = Some(value),
                "architecture" => entry.architecture = Some(value),
                other => entry.other.push((other.to_string(), value)),
            }
        }
        Ok(entry)
    }
}

impl fmt::Display for BlsEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let single = [
            ("title", &self.title),
            ("version", &self.version),
            ("machine-id", &self.machine_id),
            ("sort-key", &self.sort_key),
            ("linux", &self.linux),
        ];
        for (key, value) in single {
            if let Some(v) = value {
                writeln!(f, "{key} {v}")?;
            }
        }
        for v in &self.initrds {
            writeln!(f, "initrd {v}")?;
        }
        for v in &self.options {
            writeln!(f, "options {v}")?;
        }
        for (key, value) in [
            ("devicetree", &self.devicetree),
            ("architecture", &self.architecture),
        ] {
            if let Some(v) = value {
                writeln!(f, "{key} {v}")?;
            }
        }
        for (key, v) in &self.other {
            writeln!(f, "{key} {v}")?;
        }
        Ok(())
    }
}

/// `loader.conf`: the keys that say which entry boots and when.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct LoaderConf {
    /// A glob over entry ids (`fedora-*`); `@saved` and the like need EFI variables
    /// kboot cannot read, and match nothing.
    pub default: Option<String>,
    /// `timeout N`; `menu-force` (wait) becomes -1, `menu-hidden` 0.
    pub timeout_secs: Option<i64>,
    pub other: Vec<(String, String)>,
}

impl FromStr for LoaderConf {
    type Err = std::convert::Infallible;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let mut conf = LoaderConf::default();
        for (key, value) in key_values(text) {
            match key {
                "default" => conf.default = Some(value.to_string()),
                "timeout" => {
                    conf.timeout_secs = match value {
                        "menu-force" => Some(-1),
                        "menu-hidden" | "menu-disabled" => Some(0),
                        n => n.parse().ok(),
                    }
                }
                other => conf.other.push((other.to_string(), value.to_string())),
            }
        }
        Ok(conf)
    }
}

impl fmt::Display for LoaderConf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(d) = &self.default {
            writeln!(f, "default {d}")?;
        }
        if let Some(t) = self.timeout_secs {
            writeln!(f, "timeout {t}")?;
        }
        for (key, v) in &self.other {
            writeln!(f, "{key} {v}")?;
        }
        Ok(())
    }
}

/// `key value` lines: the key is the first word, the value the rest of the line with
/// surrounding whitespace removed; `#` starts a comment line.
fn key_values(text: &str) -> impl Iterator<Item = (&str, &str)> {
    text.lines().filter_map(|line| {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            return None;
        }
        let (key, value) = line.split_once(|c: char| c.is_ascii_whitespace())?;
        let value = value.trim();
        (!value.is_empty()).then_some((key, value))
    })
}

/// An entry with the id the specification gives it: its file name without `.conf`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NamedEntry {
    pub id: String,
    pub entry: BlsEntry,
}

/// The menu order, as systemd-boot and `bootctl` sort (`boot_entry_compare`):
///
/// 1. entries with `sort-key` come before entries without;
/// 2. two entries that both have `sort-key` are ordered by `sort-key` (increasing),
///    then `machine-id` (increasing, an entry without one first), then `version`
///    (decreasing, an entry without one last);
/// 3. at the end (no `sort-key`, or all those fields equal) by file name without
///    `.conf`, in decreasing version order.
///
/// The specification's text takes the `machine-id` and `version` steps "only when
/// both entries have the field"; that is no order at all (with `a` and `c` versioned
/// and `b` not, `a < b < c < a` can happen, and the sort panics), so a missing field
/// sorts as systemd does, consistently on one side.
///
/// "Version order" is kboot's `sort -V` comparison (`version::compare`), which agrees
/// with the specification's own version comparison on the versions distributions
/// write (`6.5.6-300.fc39.x86_64`); the two differ only on exotic strings (`~`, `^`).
pub(crate) fn menu_order(a: &NamedEntry, b: &NamedEntry) -> Ordering {
    let (x, y) = (&a.entry, &b.entry);
    let by_keys = match (&x.sort_key, &y.sort_key) {
        (Some(kx), Some(ky)) => kx
            .cmp(ky)
            .then_with(|| x.machine_id.cmp(&y.machine_id))
            .then_with(|| match (&x.version, &y.version) {
                (Some(v), Some(w)) => version::compare(w, v),
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (None, None) => Ordering::Equal,
            }),
        (Some(_), None) => return Ordering::Less,
        (None, Some(_)) => return Ordering::Greater,
        (None, None) => Ordering::Equal,
    };
    by_keys.then_with(|| version::compare(&b.id, &a.id))
}

/// Replaces `$name` and `${name}` with grubenv values, as GRUB's `blscfg` does when it
/// turns an entry into a menu entry (older Fedora wrote `options $kernelopts`, and
/// `tuned` still adds `$tuned_params`/`$tuned_initrd`). An unknown name expands to
/// nothing, as in GRUB.
pub(crate) fn expand_grubenv(text: &str, lookup: impl Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let (name, consumed) = if let Some(braced) = after.strip_prefix('{') {
            match braced.find('}') {
                Some(end) => (&braced[..end], end + 2),
                None => ("", 0),
            }
        } else {
            let end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            (&after[..end], end)
        };
        if name.is_empty() {
            out.push('$');
            rest = after;
            continue;
        }
        out.push_str(&lookup(name).unwrap_or_default());
        rest = &after[consumed..];
    }
    out.push_str(rest);
    // Expansions that came out empty leave doubled spaces behind.
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Reads every `*.conf` in `dir_on_fs`, a directory on the filesystem at `fs_root` (a
/// missing directory has none). Files that cannot be read come back as errors beside
/// the entries, so one bad file hides only itself. Symlinks are followed without
/// leaving the filesystem.
pub(crate) fn read_dir_entries(
    fs_root: &Path,
    dir_on_fs: &str,
) -> (Vec<NamedEntry>, Vec<BlsError>) {
    let mut entries = Vec::new();
    let mut errors = Vec::new();
    let dir = &super::on_fs(fs_root, dir_on_fs);
    let listing =
        match untrusted::resolve_in_root(fs_root, Path::new(dir_on_fs)).and_then(fs::read_dir) {
            Ok(l) => l,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return (entries, errors),
            Err(source) => {
                errors.push(BlsError::Read {
                    path: dir.to_path_buf(),
                    source,
                });
                return (entries, errors);
            }
        };
    let mut names: Vec<String> = listing
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".conf") && !n.starts_with('.'))
        .collect();
    names.sort();
    for name in names {
        let path = dir.join(&name);
        let on_fs_path = Path::new(dir_on_fs).join(&name);
        let text = match untrusted::resolve_in_root(fs_root, &on_fs_path)
            .and_then(|p| untrusted::read_to_string(&p, untrusted::BLS_ENTRY))
        {
            Ok(t) => t,
            Err(source) => {
                errors.push(BlsError::Read { path, source });
                continue;
            }
        };
        let entry: BlsEntry = match text.parse() {
            Ok(e) => e,
            Err(never) => match never {},
        };
        if !entry.is_for_this_machine() {
            continue;
        }
        if entry.linux.is_none() {
            errors.push(BlsError::NoLinux { path });
            continue;
        }
        let id = name.trim_end_matches(".conf").to_string();
        entries.push(NamedEntry { id, entry });
    }
    (entries, errors)
}

/// Reads `loader.conf` (at `path_on_fs` on the filesystem at `fs_root`) if it is there.
pub(crate) fn read_loader_conf(
    fs_root: &Path,
    path_on_fs: &str,
) -> Result<Option<LoaderConf>, BlsError> {
    let path = super::on_fs(fs_root, path_on_fs);
    match untrusted::resolve_in_root(fs_root, Path::new(path_on_fs))
        .and_then(|p| untrusted::read_to_string(&p, untrusted::LOADER_CONF))
    {
        Ok(text) => Ok(text.parse().ok()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(BlsError::Read { path, source }),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
