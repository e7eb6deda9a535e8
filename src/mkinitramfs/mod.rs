//! Writing the initramfs: gen_init_cpio file lists and newc archives.
//!
//! `kboot mkinitramfs` reads the list template (`initramfs-list.in`, built in unless
//! `--template` names another), puts the kboot binary at `/init`, adds kernel modules
//! from a `lib/modules/VERSION` tree with their dependencies and a `modules.dep` /
//! `modules.alias` / `modules.softdep` for just those, and writes the result as a
//! gen_init_cpio list, a newc archive (optionally gzipped), or both. Both outputs come
//! from the same [`list::InitramfsSpec`], so they always agree.

pub(crate) mod cpio;
pub(crate) mod list;

use crate::report::Chain;
use std::io::Write;
use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::modules::{normalize_name, ModuleIndex, ModulePath, ModulesError};
use list::{Entry, ImagePath, InitramfsSpec, ListError};

/// Drivers for the disks, RAID/LVM layers and filesystems kboot has to read to find
/// kernels on common virtual and physical machines.
pub(crate) const DEFAULT_MODULES: [&str; 21] = [
    "virtio_blk",
    "virtio_pci",
    "virtio_scsi",
    "xen_blkfront",
    "ahci",
    "sd_mod",
    "nvme",
    "md_mod",
    "raid0",
    "raid1",
    "raid10",
    "raid456",
    "linear",
    "dm_mod",
    // A journal is replayed into a RAM snapshot: dm-snapshot over a loop device.
    "dm_snapshot",
    "loop",
    "ext4",
    "xfs",
    "btrfs",
    "vfat",
    "isofs",
];

/// The repository's template, built in so the binary works on its own.
const DEFAULT_TEMPLATE: &str = include_str!("../../initramfs-list.in");

/// Tables copied as they are from the module tree: they let `/init` tell a builtin
/// module (nothing to load) from a missing one.
const COPIED_TABLES: [&str; 2] = ["modules.builtin", "modules.builtin.modinfo"];

const DIR_MODE_BITS: u32 = 0o755;
const DATA_MODE_BITS: u32 = 0o644;

pub(crate) const USAGE: &str = "\
usage: kboot mkinitramfs [-o LIST] [--cpio OUT[.gz|.xz|.zst]] [-k DIR] [-m MODULE]...
                         [--init PATH] [--template PATH] [--gen-dir DIR]
  -o LIST          write the gen_init_cpio file list to LIST ('-': stdout; the default
                   when no --cpio is given)
  --cpio OUT       write a newc cpio archive; gzip-compressed if OUT ends in .gz,
                   xz (CRC32) for .xz and zstd for .zst (smallest: .xz)
  -k DIR           add kernel modules from DIR (a lib/modules/VERSION tree): the default
                   storage and filesystem set plus dependencies
  -m MODULE        also add MODULE (an error if DIR does not have it); repeatable
  --init PATH      the kboot binary to install as /init (default: this program)
  --template PATH  the list template (default: the built-in initramfs-list.in)
  --gen-dir DIR    where the list's generated files (modules.dep, ...) are written
                   (default: LIST.d next to the -o LIST file)";

#[derive(Debug, Error)]
pub(crate) enum MkinitramfsError {
    #[error("{problem}\n{USAGE}")]
    Usage { problem: String },
    #[error("cannot run {program} to compress the archive: {source}; install it (xz-utils, zstd) or use .gz")]
    Compressor {
        program: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot read the template {path}: {source}; check --template")]
    ReadTemplate {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("template {template}: {source}")]
    Template {
        template: String,
        #[source]
        source: ListError,
    },
    #[error("cannot tell where this program is to use it as /init: {source}; pass --init PATH")]
    CurrentExe {
        #[source]
        source: std::io::Error,
    },
    #[error("the /init binary {path} is not readable: {source}; pass --init PATH")]
    Init {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot make {path} absolute: {source}")]
    Absolute {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "-k {dir}: the last component must be the kernel version (expected lib/modules/VERSION)"
    )]
    NoVersion { dir: PathBuf },
    #[error("cannot read the modules in {dir}: {source}")]
    ModuleIndex {
        dir: PathBuf,
        #[source]
        source: ModulesError,
    },
    #[error("cannot add module {module}: {source}")]
    Module {
        module: String,
        #[source]
        source: ModulesError,
    },
    #[error("cannot add {path} to the image: {source}")]
    Spec {
        path: String,
        #[source]
        source: ListError,
    },
    #[error("the list on stdout refers to generated modules.dep and friends; pass --gen-dir DIR to say where to write them, or -o LIST")]
    NeedGenDir,
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot save the list's generated files: {source}")]
    SaveGenerated {
        #[source]
        source: ListError,
    },
    #[error("cannot write the archive {path}: {source}")]
    Cpio {
        path: PathBuf,
        #[source]
        source: cpio::CpioError,
    },
}

/// The command line, parsed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Options {
    /// `-` means stdout.
    pub list_output: Option<PathBuf>,
    pub cpio_output: Option<PathBuf>,
    pub modules_dir: Option<PathBuf>,
    pub extra_modules: Vec<String>,
    pub init_path: Option<PathBuf>,
    pub template_path: Option<PathBuf>,
    pub gen_dir: Option<PathBuf>,
}

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Invocation {
    Help,
    Build(Options),
}

/// Parses the arguments after `mkinitramfs`. Accepts `-o X`, `-oX`, `--cpio X` and
/// `--cpio=X` forms.
pub(crate) fn parse_args(args: &[String]) -> Result<Invocation, MkinitramfsError> {
    let usage = |problem: String| MkinitramfsError::Usage { problem };
    let mut options = Options::default();
    let mut remaining = args.iter();
    while let Some(arg) = remaining.next() {
        let (flag, inline_value) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => (flag, Some(value.to_string())),
            _ if arg.len() > 2 && arg.starts_with('-') && !arg.starts_with("--") => {
                (&arg[..2], Some(arg[2..].to_string()))
            }
            _ => (arg.as_str(), None),
        };
        if matches!(flag, "-h" | "--help") {
            return Ok(Invocation::Help);
        }
        let mut value = || {
            inline_value
                .clone()
                .or_else(|| remaining.next().cloned())
                .ok_or_else(|| usage(format!("{flag} needs a value")))
        };
        match flag {
            "-o" | "--output" => options.list_output = Some(value()?.into()),
            "--cpio" => options.cpio_output = Some(value()?.into()),
            "-k" | "--modules-dir" => options.modules_dir = Some(value()?.into()),
            "-m" | "--module" => options.extra_modules.push(value()?),
            "--init" => options.init_path = Some(value()?.into()),
            "--template" => options.template_path = Some(value()?.into()),
            "--gen-dir" => options.gen_dir = Some(value()?.into()),
            _ => return Err(usage(format!("unknown argument {arg:?}"))),
        }
    }
    if !options.extra_modules.is_empty() && options.modules_dir.is_none() {
        return Err(usage("-m needs -k DIR to find the module in".to_string()));
    }
    if options.list_output.is_none() && options.cpio_output.is_none() {
        options.list_output = Some(PathBuf::from("-"));
    }
    Ok(Invocation::Build(options))
}

/// The modules that went into an image.
#[derive(Debug, Default)]
pub(crate) struct ModuleSelection {
    /// In load order.
    pub included: Vec<ModulePath>,
    /// Default modules the tree does not have (e.g. ahci on a cloud kernel).
    pub skipped_defaults: Vec<String>,
}

/// Adds the default modules, `extra_modules` and their dependencies from `index` under
/// `/lib/modules/VERSION`, with tables for just those. Generated tables get `gen_dir`
/// as their source directory in the list form.
pub(crate) fn add_modules(
    spec: &mut InitramfsSpec,
    index: &ModuleIndex,
    extra_modules: &[String],
    gen_dir: &Path,
) -> Result<ModuleSelection, MkinitramfsError> {
    let dir = index.dir();
    let version = dir
        .file_name()
        .and_then(|name| name.to_str())
        .ok_or_else(|| MkinitramfsError::NoVersion {
            dir: dir.to_path_buf(),
        })?;
    let selection = select_modules(index, extra_modules)?;
    add_module_tree(spec, index, &selection, version, gen_dir)?;
    Ok(selection)
}

/// The default driver set (those the tree has) and `extra_modules`, with their
/// dependencies in load order.
fn select_modules(
    index: &ModuleIndex,
    extra_modules: &[String],
) -> Result<ModuleSelection, MkinitramfsError> {
    let mut selection = ModuleSelection::default();
    let mut wanted: Vec<&str> = Vec::new();
    for name in DEFAULT_MODULES {
        match index.resolve(&[name]) {
            Ok(_) => wanted.push(name),
            Err(ModulesError::UnknownModule { name: missing, .. })
                if normalize_name(&missing) == name =>
            {
                selection.skipped_defaults.push(name.to_string())
            }
            Err(source) => {
                return Err(MkinitramfsError::Module {
                    module: name.to_string(),
                    source,
                })
            }
        }
    }
    wanted.extend(extra_modules.iter().map(String::as_str));
    selection.included = index
        .resolve(&wanted)
        .map_err(|source| MkinitramfsError::Module {
            module: match &source {
                ModulesError::UnknownModule { name, .. } => name.clone(),
                _ => wanted.join(","),
            },
            source,
        })?;
    Ok(selection)
}

/// Puts the selected module files under `/lib/modules/VERSION` in the image, with the
/// tables copied as they are and the dependency tables generated for the selection.
fn add_module_tree(
    spec: &mut InitramfsSpec,
    index: &ModuleIndex,
    selection: &ModuleSelection,
    version: &str,
    gen_dir: &Path,
) -> Result<(), MkinitramfsError> {
    let dir = index.dir();
    let spec_error = |path: &str| {
        let path = path.to_string();
        move |source| MkinitramfsError::Spec { path, source }
    };
    let version_dir = ImagePath::new("/lib/modules")
        .and_then(|modules| modules.join(version))
        .map_err(spec_error(version))?;
    spec.add_dir_all(&version_dir, DIR_MODE_BITS)
        .map_err(spec_error(version_dir.as_str()))?;
    for module in &selection.included {
        let relative = module.relative_path.to_string_lossy();
        let image_path = version_dir.join(&relative).map_err(spec_error(&relative))?;
        if let Some(parent) = image_path.parent() {
            spec.add_dir_all(&parent, DIR_MODE_BITS)
                .map_err(spec_error(parent.as_str()))?;
        }
        spec.push(Entry::file(
            image_path.clone(),
            index.full_path(module),
            DATA_MODE_BITS,
        ))
        .map_err(spec_error(image_path.as_str()))?;
    }
    for table in COPIED_TABLES {
        let source = dir.join(table);
        if source.is_file() {
            let image_path = version_dir.join(table).map_err(spec_error(table))?;
            spec.push(Entry::file(image_path.clone(), source, DATA_MODE_BITS))
                .map_err(spec_error(image_path.as_str()))?;
        }
    }
    let generated = [
        ("modules.dep", index.modules_dep_text(&selection.included)),
        (
            "modules.alias",
            index.modules_alias_text(&selection.included),
        ),
        (
            "modules.softdep",
            index.modules_softdep_text(&selection.included),
        ),
    ];
    for (table, text) in generated {
        let image_path = version_dir.join(table).map_err(spec_error(table))?;
        spec.push_generated(
            image_path.clone(),
            gen_dir.join(table),
            text.into_bytes(),
            DATA_MODE_BITS,
        )
        .map_err(spec_error(image_path.as_str()))?;
    }
    Ok(())
}

fn absolute(path: &Path) -> Result<PathBuf, MkinitramfsError> {
    std::path::absolute(path).map_err(|source| MkinitramfsError::Absolute {
        path: path.to_path_buf(),
        source,
    })
}

/// Builds the image description for `options`; also returns notes for the user.
pub(crate) fn build_spec(
    options: &Options,
) -> Result<(InitramfsSpec, Vec<String>), MkinitramfsError> {
    let (template_name, template) = match &options.template_path {
        Some(path) => (
            path.display().to_string(),
            std::fs::read_to_string(path).map_err(|source| MkinitramfsError::ReadTemplate {
                path: path.clone(),
                source,
            })?,
        ),
        None => ("(built in)".to_string(), DEFAULT_TEMPLATE.to_string()),
    };
    let init_path = match &options.init_path {
        Some(path) => absolute(path)?,
        None => {
            std::env::current_exe().map_err(|source| MkinitramfsError::CurrentExe { source })?
        }
    };
    // Fail here rather than in the middle of writing the archive.
    std::fs::metadata(&init_path).map_err(|source| MkinitramfsError::Init {
        path: init_path.clone(),
        source,
    })?;
    let mut spec = InitramfsSpec::from_template(&template, &init_path).map_err(|source| {
        MkinitramfsError::Template {
            template: template_name,
            source,
        }
    })?;
    let mut notes = Vec::new();
    if let Some(modules_dir) = &options.modules_dir {
        let modules_dir = absolute(modules_dir)?;
        let gen_dir = match (&options.gen_dir, &options.list_output) {
            (Some(gen_dir), _) => absolute(gen_dir)?,
            (None, Some(list)) if list != Path::new("-") => {
                let mut name = list.as_os_str().to_owned();
                name.push(".d");
                absolute(Path::new(&name))?
            }
            (None, Some(_)) => return Err(MkinitramfsError::NeedGenDir),
            // Only the archive is written: the path is never used.
            (None, None) => PathBuf::from("/generated"),
        };
        let index =
            ModuleIndex::load(&modules_dir).map_err(|source| MkinitramfsError::ModuleIndex {
                dir: modules_dir.clone(),
                source,
            })?;
        let selection = add_modules(&mut spec, &index, &options.extra_modules, &gen_dir)?;
        notes.extend(
            selection
                .skipped_defaults
                .iter()
                .map(|name| format!("module {name} not in {}, skipped", modules_dir.display())),
        );
    }
    Ok((spec, notes))
}

fn write_list(spec: &InitramfsSpec, path: &Path) -> Result<(), MkinitramfsError> {
    let text = spec.to_string();
    let write_error = |source| MkinitramfsError::Write {
        path: path.to_path_buf(),
        source,
    };
    if path == Path::new("-") {
        std::io::stdout()
            .lock()
            .write_all(text.as_bytes())
            .map_err(write_error)?;
    } else {
        std::fs::write(path, text).map_err(write_error)?;
    }
    spec.save_generated()
        .map_err(|source| MkinitramfsError::SaveGenerated { source })
}

fn write_cpio(spec: &InitramfsSpec, path: &Path) -> Result<(), MkinitramfsError> {
    let cpio_error = |source| MkinitramfsError::Cpio {
        path: path.to_path_buf(),
        source,
    };
    let write_error = |source| MkinitramfsError::Write {
        path: path.to_path_buf(),
        source,
    };
    if let Some(compressor) = external_compressor(path) {
        return write_cpio_through(spec, path, compressor);
    }
    let file = std::fs::File::create(path).map_err(write_error)?;
    let out = std::io::BufWriter::new(file);
    let out = if path.extension().is_some_and(|extension| extension == "gz") {
        // GzEncoder writes mtime 0 into the gzip header, keeping the output reproducible.
        let encoder = flate2::write::GzEncoder::new(out, flate2::Compression::default());
        cpio::write_spec(spec, encoder)
            .map_err(cpio_error)?
            .finish()
            .map_err(write_error)?
    } else {
        cpio::write_spec(spec, out).map_err(cpio_error)?
    };
    out.into_inner()
        .map_err(|error| write_error(error.into_error()))?
        .sync_all()
        .map_err(write_error)
}

/// The compressors the kernel's initramfs unpacker takes that kboot leaves to their own
/// tools, as the kernel build does: xz must use CRC32 (the kernel's xz reader knows no
/// CRC64), and both are asked for their best ratio since the image is read once.
fn external_compressor(path: &Path) -> Option<(&'static str, &'static [&'static str])> {
    match path.extension()?.to_str()? {
        "xz" => Some(("xz", &["--check=crc32", "-9e", "--stdout"])),
        "zst" => Some(("zstd", &["-19", "--stdout", "-q"])),
        _ => None,
    }
}

/// Writes the archive through `compressor` (its stdin) into `path`.
fn write_cpio_through(
    spec: &InitramfsSpec,
    path: &Path,
    (program, args): (&'static str, &'static [&'static str]),
) -> Result<(), MkinitramfsError> {
    use std::process::{Command, Stdio};
    let write_error = |source| MkinitramfsError::Write {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::create(path).map_err(write_error)?;
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(file)
        .spawn()
        .map_err(|source| MkinitramfsError::Compressor { program, source })?;
    let stdin = child
        .stdin
        .take()
        .ok_or_else(|| write_error(std::io::Error::other(format!("{program} has no stdin"))))?;
    cpio::write_spec(spec, std::io::BufWriter::new(stdin))
        .map_err(|source| MkinitramfsError::Cpio {
            path: path.to_path_buf(),
            source,
        })?
        .into_inner()
        .map_err(|error| write_error(error.into_error()))?;
    let status = child.wait().map_err(write_error)?;
    if !status.success() {
        return Err(write_error(std::io::Error::other(format!(
            "{program} failed: {status}"
        ))));
    }
    Ok(())
}

/// `kboot mkinitramfs ARGS...`; notes go to stderr.
pub(crate) fn run(args: &[String]) -> Result<(), MkinitramfsError> {
    let options = match parse_args(args)? {
        Invocation::Help => {
            println!("{USAGE}");
            return Ok(());
        }
        Invocation::Build(options) => options,
    };
    let (spec, notes) = build_spec(&options)?;
    for note in notes {
        eprintln!("mkinitramfs: note: {note}");
    }
    if let Some(list) = &options.list_output {
        write_list(&spec, list)?;
    }
    if let Some(archive) = &options.cpio_output {
        write_cpio(&spec, archive)?;
    }
    Ok(())
}

/// [`run`] with errors printed; returns the exit status.
pub(crate) fn main(args: &[String]) -> i32 {
    match run(args) {
        Ok(()) => 0,
        Err(error) => {
            eprintln!("mkinitramfs: {}", Chain(&error));
            1
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
