//! The list the menu shows: `kernel=` alone when the command line names one, else the
//! Boot Loader Specification entries, grub.cfg's entries and the kernels the scan
//! finds, in that order, with duplicates removed, and which one is the default.
//!
//! This is the layer that reads files; `bls` and `grub` parse what it reads.

use std::collections::{HashMap, HashSet};
use std::io;
use std::path::{Path, PathBuf};

use super::bls::{self, BlsError, NamedEntry};
use super::grub::{self, GrubEnv, GrubError, Menu, MenuItem, Vars};
use super::scan::{self, ScanError, ScanRequest, ScanWarning};
use super::{on_fs, BootEntry, Config, DefaultSpec, KernelKind, Source};
use crate::untrusted;
use entry::{boot_entry, unreadable_files};

mod entry;

#[derive(Debug, thiserror::Error)]
pub(crate) enum SelectError {
    #[error(transparent)]
    Scan(#[from] ScanError),
}

/// Something wrong in one config, not bad enough to stop the others from giving
/// entries.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ConfigWarning {
    #[error(transparent)]
    Bls(#[from] BlsError),
    #[error(transparent)]
    Scan(#[from] ScanWarning),
    #[error("{path}: {source}; its entries are left out")]
    Grub {
        path: PathBuf,
        #[source]
        source: GrubError,
    },
    /// A limit cut the file short; the entries before the cut are kept.
    #[error("{path}: {source}")]
    GrubCut {
        path: PathBuf,
        #[source]
        source: GrubError,
    },
    #[error("{path}: {count} BLS entries where `blscfg` stands; the menu keeps the first {limit}")]
    TooManyBls {
        path: PathBuf,
        count: usize,
        limit: usize,
    },
    #[error(transparent)]
    Default(#[from] super::UnbootableDefault),
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// The merged list.
#[derive(Debug)]
pub(crate) struct Collected {
    pub entries: Vec<BootEntry>,
    /// What the configs name as default (or 0: the newest / first entry).
    pub default_index: usize,
    /// From the same config as the default; `None` when it says nothing.
    pub timeout_secs: Option<i64>,
    /// For the boot log: configs that could not be read.
    pub warnings: Vec<ConfigWarning>,
}

/// grub.cfg locations, with the grubenv beside each: on root, then at the top of a
/// separate boot filesystem.
const GRUB_DIRS_ON_ROOT: [&str; 2] = ["/boot/grub", "/boot/grub2"];
const GRUB_DIRS_ON_BOOT: [&str; 2] = ["/grub", "/grub2"];

/// A grub.cfg that was found, evaluated, and the filesystem it is on.
struct FoundGrub {
    path: PathBuf,
    menu: Menu,
    fs_root: PathBuf,
}

pub(crate) fn collect(req: &ScanRequest<'_>) -> Result<Collected, SelectError> {
    if req.kernel.is_some() {
        return Ok(Collected {
            entries: scan::find_entries_noting(req, &mut Vec::new())?,
            default_index: 0,
            timeout_secs: None,
            warnings: Vec::new(),
        });
    }
    let mut warnings = Vec::new();
    let grub = find_grub(req, &mut warnings);
    let (bls_entries, loader_conf) = find_bls(req, &mut warnings);

    let bls_fs = req.boot.unwrap_or(req.root);
    let listed = match &grub {
        // GRUB shows the BLS entries where `blscfg` stands, and its default (often
        // `${saved_entry}`, a BLS id) and timeout govern them; loader.conf is
        // systemd-boot's and GRUB does not read it.
        Some(found) if found.menu.has_blscfg() => {
            listed_by_blscfg(found, &bls_entries, bls_fs, &mut warnings)
        }
        _ => listed_bls_then_grub(req, grub.as_ref(), &bls_entries, loader_conf, &mut warnings),
    };
    let mut entries: Vec<BootEntry> = listed
        .entries
        .iter()
        .map(|(e, fs)| boot_entry(req, e, fs))
        .collect();
    warnings.extend(unreadable_files(&entries));
    let mut scan_warnings = Vec::new();
    match scan::find_entries_noting(req, &mut scan_warnings) {
        Ok(scanned) => {
            entries.extend(scanned);
            warnings.extend(scan_warnings.into_iter().map(ConfigWarning::from));
        }
        Err(e) if entries.is_empty() => return Err(e.into()),
        // The configs gave entries; a /boot the scan cannot read is no reason to stop.
        Err(_) => {}
    }
    let (entries, default_index) = dedup(entries, listed.default_at.unwrap_or(0));
    let (default_index, unbootable) = super::bootable_default(&entries, default_index);
    warnings.extend(unbootable.map(ConfigWarning::from));
    Ok(Collected {
        entries,
        default_index,
        timeout_secs: listed.config.timeout_secs,
        warnings,
    })
}

/// Config entries in menu order, each with the filesystem its paths are relative to,
/// and where the default points.
#[derive(Default)]
struct Listed {
    entries: Vec<(grub::GrubEntry, PathBuf)>,
    default_at: Option<usize>,
    config: Config,
}

/// A grub.cfg that runs `blscfg`: its menu with the BLS entries in place.
fn listed_by_blscfg(
    found: &FoundGrub,
    bls_entries: &[NamedEntry],
    bls_fs: &Path,
    warnings: &mut Vec<ConfigWarning>,
) -> Listed {
    let (items, count) = splice_bls(&found.menu.items, bls_entries);
    if count > grub::MAX_ENTRIES {
        warnings.push(ConfigWarning::TooManyBls {
            path: found.path.clone(),
            count,
            limit: grub::MAX_ENTRIES,
        });
    }
    let flat = grub::flatten(&items);
    let entries = flat
        .iter()
        .map(|(_, e)| {
            let fs = if e.source == Source::Bls {
                bls_fs
            } else {
                &found.fs_root
            };
            ((*e).clone(), fs.to_path_buf())
        })
        .collect();
    Listed {
        entries,
        default_at: grub_default(&found.menu.config, &items, &flat),
        config: found.menu.config.clone(),
    }
}

/// No `blscfg`: the BLS entries (as systemd-boot or a grubenv-reading GRUB shows
/// them, with loader.conf's default), then grub.cfg's, whose default and timeout
/// count when the BLS entries said nothing.
fn listed_bls_then_grub(
    req: &ScanRequest<'_>,
    grub: Option<&FoundGrub>,
    bls_entries: &[NamedEntry],
    loader_conf: Option<bls::LoaderConf>,
    warnings: &mut Vec<ConfigWarning>,
) -> Listed {
    let mut listed = Listed::default();
    let bls_fs = req.boot.unwrap_or(req.root);
    let grubenv = read_grubenv(req, warnings).map(|env| env.boot_vars());
    for named in bls_entries {
        listed.entries.push((
            bls_as_grub_entry(named, grubenv.as_ref()),
            bls_fs.to_path_buf(),
        ));
    }
    if let Some(conf) = loader_conf.filter(|_| !bls_entries.is_empty()) {
        if let Some(glob) = &conf.default {
            listed.default_at = bls_entries
                .iter()
                .position(|n| crate::fnmatch::fnmatch(glob, &n.id));
        }
        listed.config = Config {
            default: conf.default.map(DefaultSpec::BlsGlob),
            timeout_secs: conf.timeout_secs,
        };
    }
    if let Some(found) = grub {
        let flat = grub::flatten(&found.menu.items);
        if !flat.is_empty() && (listed.entries.is_empty() || listed.config == Config::default()) {
            listed.default_at = grub_default(&found.menu.config, &found.menu.items, &flat)
                .map(|i| i + listed.entries.len());
            listed.config = found.menu.config.clone();
        }
        for (_, e) in flat {
            listed.entries.push((e.clone(), found.fs_root.clone()));
        }
    }
    listed
}

/// The flattened position of the menu's default; GRUB's own default is the first
/// entry.
fn grub_default(
    config: &Config,
    items: &[MenuItem],
    flat: &[(Vec<usize>, &grub::GrubEntry)],
) -> Option<usize> {
    let path = match &config.default {
        Some(DefaultSpec::Grub(steps)) => grub::resolve_default(items, steps)?,
        _ => return Some(0).filter(|_| !flat.is_empty()),
    };
    flat.iter().position(|(p, _)| *p == path)
}

/// The menu with every `blscfg` replaced by the BLS entries, as GRUB shows them, and
/// how many items that would make. Past `grub::MAX_ENTRIES` the BLS entries are left
/// out: a file of `blscfg`s must not multiply the entries without bound.
fn splice_bls(items: &[MenuItem], bls_entries: &[NamedEntry]) -> (Vec<MenuItem>, usize) {
    let mut out = Vec::new();
    let mut count: usize = 0;
    for item in items {
        match item {
            MenuItem::Bls { vars } => {
                let room = grub::MAX_ENTRIES.saturating_sub(out.len());
                out.extend(
                    bls_entries
                        .iter()
                        .take(room)
                        .map(|n| MenuItem::Entry(bls_as_grub_entry(n, Some(vars)))),
                );
                count = count.saturating_add(bls_entries.len());
            }
            other => {
                out.push(other.clone());
                count = count.saturating_add(1);
            }
        }
    }
    (out, count)
}

/// A BLS entry in the shape of a menu entry. With GRUB variables (a grubenv, or those
/// at `blscfg`), `$var`s in `options` and `initrd` expand as GRUB's `blscfg` expands
/// them; without, no GRUB reads these entries and they are kept as written (as
/// systemd-boot passes them).
fn bls_as_grub_entry(named: &NamedEntry, vars: Option<&Vars>) -> grub::GrubEntry {
    let e = &named.entry;
    let expand = |text: &str| match vars {
        Some(vars) => bls::expand_grubenv(text, |name| vars.get(name).cloned()),
        None => text.to_string(),
    };
    let cmdline = expand(&e.cmdline());
    grub::GrubEntry {
        title: e
            .title
            .clone()
            .or_else(|| e.version.clone())
            .unwrap_or_else(|| named.id.clone()),
        id: Some(named.id.clone()),
        kernel: e.linux.clone(),
        args: cmdline.split_whitespace().map(str::to_string).collect(),
        initrds: e
            .initrds
            .iter()
            .flat_map(|i| {
                expand(i)
                    .split_whitespace()
                    .map(str::to_string)
                    .collect::<Vec<_>>()
            })
            .collect(),
        kind: KernelKind::Linux,
        modules: Vec::new(),
        source: Source::Bls,
        cannot_boot: e.linux.is_none().then(|| "no linux line".to_string()),
    }
}

/// One entry per (kernel file, ramdisk files, module files, command line) across sources: the first
/// source wins. Within one config, same-looking entries stay, as the boot loader shows
/// them (Debian's top entry and the first one in "Advanced options" are the same
/// kernel). The default follows its entry, or the entry that replaced it.
///
/// Linear: a hash map from what makes entries the same to the first kept entry of
/// each source, so the match is the earliest kept entry of another source.
fn dedup(entries: Vec<BootEntry>, default_index: usize) -> (Vec<BootEntry>, usize) {
    type Sameness = (PathBuf, Vec<PathBuf>, Vec<PathBuf>, String);
    let mut first_by_source: HashMap<Sameness, Vec<(Source, usize)>> = HashMap::new();
    let mut kept: Vec<BootEntry> = Vec::new();
    let mut new_default = 0;
    for (i, e) in entries.into_iter().enumerate() {
        let firsts = first_by_source
            .entry((
                e.kernel_path(),
                e.ramdisk_paths(),
                e.module_paths(),
                e.cmdline.clone(),
            ))
            .or_default();
        // At most one element per source: a short list.
        let same = firsts
            .iter()
            .filter(|(source, _)| *source != e.source)
            .map(|(_, at)| *at)
            .min();
        let at = match same {
            Some(at) => at,
            None => {
                if !firsts.iter().any(|(source, _)| *source == e.source) {
                    firsts.push((e.source, kept.len()));
                }
                kept.push(e);
                kept.len() - 1
            }
        };
        if i == default_index {
            new_default = at;
        }
    }
    (kept, new_default)
}

/// The first grub.cfg that exists, evaluated with the grubenv beside it. One that
/// cannot be read or parsed becomes a warning.
fn find_grub(req: &ScanRequest<'_>, warnings: &mut Vec<ConfigWarning>) -> Option<FoundGrub> {
    for (fs, dir) in grub_dirs(req) {
        let on_fs_path = format!("{dir}/grub.cfg");
        let path = on_fs(fs, &on_fs_path);
        let text = match untrusted::read_in_root(fs, Path::new(&on_fs_path), untrusted::GRUB_CFG) {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(source) => {
                warnings.push(ConfigWarning::Read { path, source });
                continue;
            }
        };
        let vars = read_env_file(fs, &format!("{dir}/grubenv"), warnings)
            .map(|e| e.boot_vars())
            .unwrap_or_default();
        match grub::read_menu(&text, vars) {
            Ok(menu) => {
                warnings.extend(menu.warnings.iter().map(|source| ConfigWarning::GrubCut {
                    path: path.clone(),
                    source: source.clone(),
                }));
                return Some(FoundGrub {
                    path,
                    menu,
                    fs_root: fs.to_path_buf(),
                });
            }
            Err(source) => warnings.push(ConfigWarning::Grub { path, source }),
        }
    }
    None
}

fn grub_dirs<'a>(req: &ScanRequest<'a>) -> Vec<(&'a Path, &'static str)> {
    let mut dirs: Vec<(&Path, &str)> = Vec::new();
    if let Some(boot) = req.boot {
        dirs.extend(GRUB_DIRS_ON_BOOT.iter().map(|d| (boot, *d)));
    }
    dirs.extend(GRUB_DIRS_ON_ROOT.iter().map(|d| (req.root, *d)));
    dirs
}

/// The grubenv that goes with BLS entries when no grub.cfg runs `blscfg` (a GRUB may
/// still read them, and `$kernelopts` lives there).
fn read_grubenv(req: &ScanRequest<'_>, warnings: &mut Vec<ConfigWarning>) -> Option<GrubEnv> {
    grub_dirs(req)
        .into_iter()
        .find_map(|(fs, dir)| read_env_file(fs, &format!("{dir}/grubenv"), warnings))
}

/// The grubenv at `path_on_fs` on the filesystem at `fs`, if it is there.
fn read_env_file(
    fs: &Path,
    path_on_fs: &str,
    warnings: &mut Vec<ConfigWarning>,
) -> Option<GrubEnv> {
    let path = on_fs(fs, path_on_fs);
    match untrusted::read_in_root(fs, Path::new(path_on_fs), untrusted::GRUBENV) {
        Ok(bytes) => match String::from_utf8_lossy(&bytes).parse() {
            Ok(env) => Some(env),
            Err(source) => {
                warnings.push(ConfigWarning::Grub { path, source });
                None
            }
        },
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(source) => {
            warnings.push(ConfigWarning::Read { path, source });
            None
        }
    }
}

/// BLS entries from the boot filesystem's `/loader/entries` and root's
/// `/boot/loader/entries` (ids already seen are not read twice), in menu order, and
/// `loader.conf`.
fn find_bls(
    req: &ScanRequest<'_>,
    warnings: &mut Vec<ConfigWarning>,
) -> (Vec<NamedEntry>, Option<bls::LoaderConf>) {
    let mut places: Vec<(&Path, &str)> = Vec::new();
    if let Some(boot) = req.boot {
        places.push((boot, "/loader"));
    }
    places.push((req.root, "/boot/loader"));
    let mut entries: Vec<NamedEntry> = Vec::new();
    let mut ids: HashSet<String> = HashSet::new();
    let mut loader_conf = None;
    for (fs, place) in places {
        let (found, errors) = bls::read_dir_entries(fs, &format!("{place}/entries"));
        warnings.extend(errors.into_iter().map(ConfigWarning::from));
        for e in found {
            if ids.insert(e.id.clone()) {
                entries.push(e);
            }
        }
        if loader_conf.is_none() {
            match bls::read_loader_conf(fs, &format!("{place}/loader.conf")) {
                Ok(conf) => loader_conf = conf,
                Err(e) => warnings.push(e.into()),
            }
        }
    }
    entries.sort_by(bls::menu_order);
    (entries, loader_conf)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
