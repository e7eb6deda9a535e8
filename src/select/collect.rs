//! The list the menu shows: `kernel=` alone when the command line names one, else the
//! Boot Loader Specification entries, grub.cfg's entries and the kernels the scan
//! finds, in that order, with duplicates removed, and which one is the default.
//!
//! This is the layer that reads files; `bls` and `grub` parse what it reads.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::bls::{self, BlsError, NamedEntry};
use super::grub::{self, GrubEnv, GrubError, Menu, MenuItem, Vars};
use super::scan::{self, ScanError, ScanRequest};
use super::{on_fs, BootEntry, Config, DefaultSpec, Source};

#[derive(Debug, thiserror::Error)]
pub enum SelectError {
    #[error(transparent)]
    Scan(#[from] ScanError),
}

/// Something wrong in one config, not bad enough to stop the others from giving
/// entries.
#[derive(Debug, thiserror::Error)]
pub enum ConfigWarning {
    #[error(transparent)]
    Bls(#[from] BlsError),
    #[error("{path}: {source}; its entries are left out")]
    Grub {
        path: PathBuf,
        #[source]
        source: GrubError,
    },
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// The merged list.
#[derive(Debug)]
pub struct Collected {
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
    menu: Menu,
    fs_root: PathBuf,
}

pub fn collect(req: &ScanRequest<'_>) -> Result<Collected, SelectError> {
    if req.kernel.is_some() {
        return Ok(Collected {
            entries: scan::find_entries(req)?,
            default_index: 0,
            timeout_secs: None,
            warnings: Vec::new(),
        });
    }
    let mut warnings = Vec::new();
    let grub = find_grub(req, &mut warnings);
    let (bls_entries, loader_conf) = find_bls(req, &mut warnings);

    // Config entries in menu order, with where the default points.
    let mut listed: Vec<(grub::GrubEntry, PathBuf)> = Vec::new();
    let mut default_at: Option<usize> = None;
    let mut config = Config::default();
    let bls_fs = req.boot.unwrap_or(req.root).to_path_buf();
    match &grub {
        // GRUB shows the BLS entries where `blscfg` stands, and its default (often
        // `${saved_entry}`, a BLS id) and timeout govern them; loader.conf is
        // systemd-boot's and GRUB does not read it.
        Some(found) if found.menu.has_blscfg() => {
            let items = splice_bls(&found.menu.items, &bls_entries);
            let flat = grub::flatten(&items);
            default_at = grub_default(&found.menu.config, &items, &flat);
            for (_, e) in &flat {
                let fs = if e.source == Source::Bls {
                    bls_fs.clone()
                } else {
                    found.fs_root.clone()
                };
                listed.push(((*e).clone(), fs));
            }
            config = found.menu.config.clone();
        }
        _ => {
            let grubenv = read_grubenv(req, &mut warnings).map(|env| env.boot_vars());
            for named in &bls_entries {
                listed.push((bls_as_grub_entry(named, grubenv.as_ref()), bls_fs.clone()));
            }
            if let Some(conf) = loader_conf.filter(|_| !bls_entries.is_empty()) {
                if let Some(glob) = &conf.default {
                    default_at = bls_entries
                        .iter()
                        .position(|n| bls::glob_matches(glob, &n.id));
                }
                config = Config {
                    default: conf.default.map(DefaultSpec::BlsGlob),
                    timeout_secs: conf.timeout_secs,
                };
            }
            if let Some(found) = &grub {
                let flat = grub::flatten(&found.menu.items);
                if !flat.is_empty() && (listed.is_empty() || config == Config::default()) {
                    default_at = grub_default(&found.menu.config, &found.menu.items, &flat)
                        .map(|i| i + listed.len());
                    config = found.menu.config.clone();
                }
                for (_, e) in flat {
                    listed.push((e.clone(), found.fs_root.clone()));
                }
            }
        }
    }

    let mut entries: Vec<BootEntry> = listed
        .iter()
        .map(|(e, fs)| boot_entry(req, e, fs))
        .collect();
    match scan::find_entries(req) {
        Ok(scanned) => entries.extend(scanned),
        Err(e) if entries.is_empty() => return Err(e.into()),
        // The configs gave entries; a /boot the scan cannot read is no reason to stop.
        Err(_) => {}
    }
    let (entries, default_index) = dedup(entries, default_at.unwrap_or(0));
    Ok(Collected {
        entries,
        default_index,
        timeout_secs: config.timeout_secs,
        warnings,
    })
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

/// The menu with every `blscfg` replaced by the BLS entries, as GRUB shows them.
fn splice_bls(items: &[MenuItem], bls_entries: &[NamedEntry]) -> Vec<MenuItem> {
    let mut out = Vec::new();
    for item in items {
        match item {
            MenuItem::Bls { vars } => out.extend(
                bls_entries
                    .iter()
                    .map(|n| MenuItem::Entry(bls_as_grub_entry(n, Some(vars)))),
            ),
            other => out.push(other.clone()),
        }
    }
    out
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
        source: Source::Bls,
    }
}

fn boot_entry(req: &ScanRequest<'_>, e: &grub::GrubEntry, config_fs: &Path) -> BootEntry {
    let kernel = e.kernel.as_deref().map(strip_device).unwrap_or_default();
    let initrds: Vec<String> = e.initrds.iter().map(|r| strip_device(r)).collect();
    let located = locate(req, config_fs, &kernel)
        .or_else(|| initrds.first().and_then(|r| locate(req, config_fs, r)))
        // Missing everywhere: report it where the config is.
        .unwrap_or(Located {
            fs_root: config_fs.to_path_buf(),
            prefix: "",
        });
    let ramdisks: Vec<String> = initrds.iter().map(|r| located.adjust(r)).collect();
    let kernel = located.adjust(&kernel);
    let missing = std::iter::once(&kernel)
        .chain(&ramdisks)
        .filter(|p| !scan::is_file(&on_fs(&located.fs_root, p)))
        .cloned()
        .collect();
    let mut cmdline = e.cmdline();
    if let Some(append) = req.append.filter(|a| !a.trim().is_empty()) {
        if !cmdline.is_empty() {
            cmdline.push(' ');
        }
        cmdline.push_str(append.trim());
    }
    let version = Path::new(&kernel)
        .file_name()
        .and_then(|n| scan::kernel_version(&n.to_string_lossy()).map(str::to_string))
        .filter(|v| !v.is_empty());
    BootEntry {
        title: e.title.clone(),
        id: e.id.clone(),
        version,
        fs_root: located.fs_root,
        kernel,
        ramdisks,
        cmdline,
        source: e.source,
        missing,
    }
}

/// GRUB paths may start with the device: `(hd0,gpt2)/vmlinuz`, `($root)/vmlinuz`.
fn strip_device(path: &str) -> String {
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
        .find(|(fs, prefix)| scan::is_file(&on_fs(fs, &format!("{prefix}{path}"))))
        .map(|(fs_root, prefix)| Located { fs_root, prefix })
}

/// One entry per (kernel file, ramdisk files, command line) across sources: the first
/// source wins. Within one config, same-looking entries stay, as the boot loader shows
/// them (Debian's top entry and the first one in "Advanced options" are the same
/// kernel). The default follows its entry, or the entry that replaced it.
fn dedup(entries: Vec<BootEntry>, default_index: usize) -> (Vec<BootEntry>, usize) {
    let mut kept: Vec<BootEntry> = Vec::new();
    let mut new_default = 0;
    for (i, e) in entries.into_iter().enumerate() {
        let same = kept.iter().position(|k| {
            k.source != e.source
                && k.kernel_path() == e.kernel_path()
                && k.ramdisk_paths() == e.ramdisk_paths()
                && k.cmdline == e.cmdline
        });
        let at = match same {
            Some(at) => at,
            None => {
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
        let path = on_fs(fs, &format!("{dir}/grub.cfg"));
        let text = match fs::read(&path) {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(source) => {
                warnings.push(ConfigWarning::Read { path, source });
                continue;
            }
        };
        let env_path = on_fs(fs, &format!("{dir}/grubenv"));
        let vars = read_env_file(&env_path, warnings)
            .map(|e| e.boot_vars())
            .unwrap_or_default();
        match grub::read_menu(&text, vars) {
            Ok(menu) => {
                return Some(FoundGrub {
                    menu,
                    fs_root: fs.to_path_buf(),
                })
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
        .find_map(|(fs, dir)| read_env_file(&on_fs(fs, &format!("{dir}/grubenv")), warnings))
}

fn read_env_file(path: &Path, warnings: &mut Vec<ConfigWarning>) -> Option<GrubEnv> {
    match fs::read(path) {
        Ok(bytes) => match String::from_utf8_lossy(&bytes).parse() {
            Ok(env) => Some(env),
            Err(source) => {
                warnings.push(ConfigWarning::Grub {
                    path: path.to_path_buf(),
                    source,
                });
                None
            }
        },
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(source) => {
            warnings.push(ConfigWarning::Read {
                path: path.to_path_buf(),
                source,
            });
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
    let mut places: Vec<PathBuf> = Vec::new();
    if let Some(boot) = req.boot {
        places.push(on_fs(boot, "/loader"));
    }
    places.push(on_fs(req.root, "/boot/loader"));
    let mut entries: Vec<NamedEntry> = Vec::new();
    let mut loader_conf = None;
    for place in &places {
        let (found, errors) = bls::read_dir_entries(&place.join("entries"));
        warnings.extend(errors.into_iter().map(ConfigWarning::from));
        for e in found {
            if !entries.iter().any(|k| k.id == e.id) {
                entries.push(e);
            }
        }
        if loader_conf.is_none() {
            match bls::read_loader_conf(&place.join("loader.conf")) {
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
mod tests {
    use super::*;

    const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data");
    const ROOT_UUID: &str = "4b424f4f-0005-4000-8000-000000000001";
    const FEDORA_MID: &str = "2d6a0e5f3c1e4d0b9e8f7a6b5c4d3e2f";
    const DEBIAN_KERNELS: [&str; 2] = ["6.1.0-13-amd64", "6.1.0-9-amd64"];

    /// A tree of files: `(path in the tree, contents)`.
    fn tree(files: &[(String, Vec<u8>)]) -> tempfile::TempDir {
        let tmp = tempfile::tempdir().unwrap();
        for (path, contents) in files {
            let p = tmp.path().join(path);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(&p, contents).unwrap();
        }
        tmp
    }

    fn data(path: &str) -> Vec<u8> {
        fs::read(format!("{DATA}/{path}")).unwrap()
    }

    /// Debian's kernels and ramdisks under `dir` ("boot/" on root, "" on a boot fs).
    fn debian_kernels(dir: &str) -> Vec<(String, Vec<u8>)> {
        DEBIAN_KERNELS
            .iter()
            .flat_map(|v| {
                [
                    (format!("{dir}vmlinuz-{v}"), b"k".to_vec()),
                    (format!("{dir}initrd.img-{v}"), b"i".to_vec()),
                ]
            })
            .collect()
    }

    /// Every file of the Fedora /boot partition, under `dir`.
    fn fedora_boot(dir: &str) -> Vec<(String, Vec<u8>)> {
        walkdir::WalkDir::new(format!("{DATA}/bls/fedora39"))
            .into_iter()
            .map(Result::unwrap)
            .filter(|e| e.file_type().is_file())
            .map(|e| {
                let rel = e
                    .path()
                    .strip_prefix(format!("{DATA}/bls/fedora39"))
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                (format!("{dir}{rel}"), fs::read(e.path()).unwrap())
            })
            .collect()
    }

    fn request<'a>(root: &'a Path, boot: Option<&'a Path>) -> ScanRequest<'a> {
        ScanRequest {
            root,
            boot,
            kernel: None,
            ramdisk: None,
            cmdline: "root=LABEL=kboot console=ttyS0",
            append: None,
        }
    }

    /// What the menu shows of an entry.
    #[derive(Debug, PartialEq, Eq)]
    struct Shown {
        title: String,
        kernel: String,
        ramdisks: Vec<String>,
        cmdline: String,
        source: Source,
    }

    fn shown(c: &Collected) -> Vec<Shown> {
        c.entries
            .iter()
            .map(|e| Shown {
                title: e.title.clone(),
                kernel: e.kernel.clone(),
                ramdisks: e.ramdisks.clone(),
                cmdline: e.cmdline.clone(),
                source: e.source,
            })
            .collect()
    }

    fn entry(title: &str, kernel: &str, ramdisks: &[&str], cmdline: &str, source: Source) -> Shown {
        Shown {
            title: title.into(),
            kernel: kernel.into(),
            ramdisks: ramdisks.iter().map(|r| r.to_string()).collect(),
            cmdline: cmdline.into(),
            source,
        }
    }

    /// The five entries Debian's grub-mkconfig writes for two kernels, then the two
    /// scanned kernels (their command line is kboot's, so they are not duplicates).
    /// `linux` and `default` are GRUB_CMDLINE_LINUX and GRUB_CMDLINE_LINUX_DEFAULT (with
    /// a leading space); 10_linux leaves the latter out of recovery entries.
    fn debian_expected(os: &str, dir: &str, linux: &str, default: &str) -> Vec<Shown> {
        let cmd = |more: &str| {
            if more.is_empty() {
                format!("root=UUID={ROOT_UUID} ro{linux}{default}")
            } else {
                format!("root=UUID={ROOT_UUID} ro{more}{linux}")
            }
        };
        let grub = |title: String, v: &str, more: &str| {
            entry(
                &title,
                &format!("{dir}/vmlinuz-{v}"),
                &[&format!("{dir}/initrd.img-{v}")],
                &cmd(more),
                Source::Grub,
            )
        };
        let mut expected = vec![grub(os.to_string(), DEBIAN_KERNELS[0], "")];
        for v in DEBIAN_KERNELS {
            expected.push(grub(format!("{os}, with Linux {v}"), v, ""));
            expected.push(grub(
                format!("{os}, with Linux {v} (recovery mode)"),
                v,
                " single",
            ));
        }
        for v in DEBIAN_KERNELS {
            expected.push(entry(
                &format!("Linux {v}"),
                &format!("{dir}/vmlinuz-{v}"),
                &[&format!("{dir}/initrd.img-{v}")],
                "root=LABEL=kboot console=ttyS0",
                Source::Scan,
            ));
        }
        expected
    }

    #[test]
    fn debian_boot_on_root() {
        let mut files = debian_kernels("boot/");
        files.push((
            "boot/grub/grub.cfg".into(),
            data("grub/debian-boot-on-root.cfg"),
        ));
        let root = tree(&files);
        let got = collect(&request(root.path(), None)).unwrap();
        assert_eq!(shown(&got), debian_expected("GNU/Linux", "/boot", "", ""));
        assert_eq!(got.default_index, 0);
        assert_eq!(got.timeout_secs, Some(5));
        assert!(got.warnings.is_empty(), "{:?}", got.warnings);
        assert!(got.entries.iter().all(|e| e.missing.is_empty()));
        assert_eq!(got.entries[0].fs_root, root.path());
        assert_eq!(
            got.entries[0].id.as_deref(),
            Some(format!("gnulinux-simple-{ROOT_UUID}").as_str())
        );
    }

    #[test]
    fn debian_separate_boot_paths_are_on_the_boot_filesystem() {
        let root = tree(&[("etc/hostname".into(), b"h".to_vec())]);
        let mut files = debian_kernels("");
        files.push((
            "grub/grub.cfg".into(),
            data("grub/debian-separate-boot.cfg"),
        ));
        let boot = tree(&files);
        let got = collect(&request(root.path(), Some(boot.path()))).unwrap();
        assert_eq!(shown(&got), debian_expected("GNU/Linux", "", "", ""));
        assert!(got.entries.iter().all(|e| e.fs_root == boot.path()));
        assert!(got.entries.iter().all(|e| e.missing.is_empty()));
    }

    #[test]
    fn debian_saved_default_from_grubenv() {
        let mut files = debian_kernels("boot/");
        files.push((
            "boot/grub/grub.cfg".into(),
            data("grub/debian-saved-default.cfg"),
        ));
        files.push(("boot/grub/grubenv".into(), data("grub/debian-grubenv")));
        let root = tree(&files);
        let got = collect(&request(root.path(), None)).unwrap();
        let expected = debian_expected(
            "Debian GNU/Linux",
            "/boot",
            " console=ttyS0 console=tty0",
            " quiet",
        );
        assert_eq!(shown(&got)[..5], expected[..5]);
        // saved_entry names "Advanced options>…6.1.0-9-amd64"; next_entry=1 is ignored.
        assert_eq!(got.default_index, 3);
        assert_eq!(
            got.entries[3].title,
            "Debian GNU/Linux, with Linux 6.1.0-9-amd64"
        );
        assert_eq!(got.timeout_secs, Some(3));
    }

    fn fedora_expected(dir: &str) -> Vec<Shown> {
        let opts =
            "root=UUID=4b424f4f-0005-4000-8000-0000000000f1 ro rootflags=subvol=root rhgb quiet";
        let bls = |v: &str, more: &str| {
            entry(
                &format!("Fedora Linux ({v}) 39 (Thirty Nine)"),
                &format!("{dir}/vmlinuz-{v}"),
                &[&format!("{dir}/initramfs-{v}.img")],
                &format!("{opts}{more} console=ttyS0"),
                Source::Bls,
            )
        };
        let scan = |v: &str| {
            entry(
                &format!("Linux {v}"),
                &format!("{dir}/vmlinuz-{v}"),
                &[&format!("{dir}/initramfs-{v}.img")],
                "root=LABEL=kboot console=ttyS0",
                Source::Scan,
            )
        };
        vec![
            bls("6.5.6-300.fc39.x86_64", ""),
            // `$tuned_params` from grubenv; `$tuned_initrd` is empty there.
            bls("6.5.5-200.fc39.x86_64", " skew_tick=1 nohz=on"),
            bls(&format!("0-rescue-{FEDORA_MID}"), ""),
            scan("6.5.6-300.fc39.x86_64"),
            scan("6.5.5-200.fc39.x86_64"),
        ]
    }

    #[test]
    fn fedora_boot_partition_blscfg_and_saved_entry() {
        let root = tree(&[("etc/fedora-release".into(), b"39".to_vec())]);
        let boot = tree(&fedora_boot(""));
        let mut req = request(root.path(), Some(boot.path()));
        req.append = Some("console=ttyS0");
        let got = collect(&req).unwrap();
        assert_eq!(shown(&got), fedora_expected(""));
        assert_eq!(got.default_index, 1);
        assert_eq!(
            got.entries[1].id.as_deref(),
            Some(format!("{FEDORA_MID}-6.5.5-200.fc39.x86_64").as_str())
        );
        assert_eq!(got.timeout_secs, Some(5));
        // The rescue kernel is not there: listed, flagged.
        let rescue = &got.entries[2];
        assert!(rescue.kernel_missing());
        assert_eq!(rescue.missing, [format!("/vmlinuz-0-rescue-{FEDORA_MID}")]);
        assert!(got.entries.iter().filter(|e| !e.missing.is_empty()).count() == 1);
    }

    /// The same files with /boot on root: the entries' `/vmlinuz-…` paths are found
    /// under /boot.
    #[test]
    fn fedora_boot_on_root_finds_kernels_under_boot() {
        let root = tree(&fedora_boot("boot/"));
        let mut req = request(root.path(), None);
        req.append = Some("console=ttyS0");
        let got = collect(&req).unwrap();
        assert_eq!(shown(&got), fedora_expected("/boot"));
        assert_eq!(got.default_index, 1);
        assert!(got.entries[..2].iter().all(|e| e.missing.is_empty()));
    }

    #[test]
    fn bls_alone_uses_loader_conf_and_keeps_unexpanded_variables() {
        let conf = |body: &str| body.as_bytes().to_vec();
        let root = tree(&[
            ("boot/vmlinuz-1".into(), b"k".to_vec()),
            ("boot/vmlinuz-2".into(), b"k".to_vec()),
            ("boot/ucode.img".into(), b"u".to_vec()),
            ("boot/initrd-1".into(), b"i".to_vec()),
            ("boot/initrd-2".into(), b"i".to_vec()),
            (
                "boot/loader/entries/os-1.conf".into(),
                conf("title One\nversion 1\nlinux /vmlinuz-1\ninitrd /ucode.img\ninitrd /initrd-1\noptions $kernelopts\noptions ro\n"),
            ),
            (
                "boot/loader/entries/os-2.conf".into(),
                conf("title Two\nversion 2\nlinux /vmlinuz-2\ninitrd /initrd-2\noptions root=/dev/vda\n"),
            ),
            (
                "boot/loader/entries/arm.conf".into(),
                conf("title Arm\nlinux /Image\narchitecture aa64\n"),
            ),
            (
                "boot/loader/entries/pinned.conf".into(),
                conf("title Pinned\nsort-key aaa\nlinux /vmlinuz-1\noptions root=/dev/vdb\n"),
            ),
            ("boot/loader/entries/broken.conf".into(), conf("title No linux\n")),
            ("boot/loader/loader.conf".into(), conf("default os-1*\ntimeout 7\n")),
        ]);
        let got = collect(&request(root.path(), None)).unwrap();
        let titles: Vec<&str> = got.entries.iter().map(|e| e.title.as_str()).collect();
        assert_eq!(titles, ["Pinned", "Two", "One", "Linux 2", "Linux 1"]);
        assert_eq!(got.default_index, 2);
        assert_eq!(got.timeout_secs, Some(7));
        let one = &got.entries[2];
        assert_eq!(one.kernel, "/boot/vmlinuz-1");
        assert_eq!(one.ramdisks, ["/boot/ucode.img", "/boot/initrd-1"]);
        assert_eq!(one.ramdisks_shown(), "/boot/ucode.img,/boot/initrd-1");
        // No grubenv: no GRUB reads these, so `$kernelopts` stays as written.
        assert_eq!(one.cmdline, "$kernelopts ro");
        assert_eq!(got.warnings.len(), 1, "{:?}", got.warnings);
        assert!(got.warnings[0].to_string().contains("broken.conf"));
    }

    #[test]
    fn same_kernel_ramdisk_and_options_is_one_entry_first_source_wins() {
        let cfg = "set default=1\n\
                   menuentry 'Mine' { linux /boot/vmlinuz-6.1 root=LABEL=kboot console=ttyS0 }\n\
                   menuentry 'Other' { linux /boot/vmlinuz-6.1 single }\n";
        let root = tree(&[
            ("boot/vmlinuz-6.1".into(), b"k".to_vec()),
            ("boot/grub/grub.cfg".into(), cfg.as_bytes().to_vec()),
        ]);
        let got = collect(&request(root.path(), None)).unwrap();
        let sources: Vec<(&str, Source)> = got
            .entries
            .iter()
            .map(|e| (e.title.as_str(), e.source))
            .collect();
        assert_eq!(sources, [("Mine", Source::Grub), ("Other", Source::Grub)]);
        assert_eq!(got.default_index, 1);
    }

    #[test]
    fn command_line_kernel_is_alone_even_with_configs() {
        let mut files = debian_kernels("boot/");
        files.push((
            "boot/grub/grub.cfg".into(),
            data("grub/debian-boot-on-root.cfg"),
        ));
        let root = tree(&files);
        let mut req = request(root.path(), None);
        req.kernel = Some("/boot/vmlinuz-6.1.0-9-amd64");
        let got = collect(&req).unwrap();
        assert_eq!(got.entries.len(), 1);
        assert_eq!(got.entries[0].source, Source::Cmdline);
        assert_eq!(got.entries[0].cmdline, "root=LABEL=kboot console=ttyS0");
    }

    #[test]
    fn broken_grub_cfg_is_a_warning_and_the_scan_still_boots() {
        let root = tree(&[
            ("boot/vmlinuz-6.1".into(), b"k".to_vec()),
            ("boot/grub/grub.cfg".into(), b"menuentry 'x {\n".to_vec()),
        ]);
        let got = collect(&request(root.path(), None)).unwrap();
        assert_eq!(got.entries.len(), 1);
        assert_eq!(got.entries[0].source, Source::Scan);
        assert!(matches!(
            &got.warnings[..],
            [ConfigWarning::Grub {
                source: GrubError::UnclosedQuote { line: 1 },
                ..
            }]
        ));
    }

    #[test]
    fn device_prefixes_are_dropped_from_paths() {
        assert_eq!(strip_device("(hd0,gpt2)/vmlinuz"), "/vmlinuz");
        assert_eq!(strip_device("()/vmlinuz"), "/vmlinuz");
        assert_eq!(strip_device("/boot/vmlinuz"), "/boot/vmlinuz");
        assert_eq!(strip_device("vmlinuz"), "/vmlinuz");
    }
}
