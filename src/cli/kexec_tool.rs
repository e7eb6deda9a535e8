//! `kboot kexec`, also reached as `kexec` through a symlink: the kexec-tools command
//! line for scripts written for it, plus `--dry-run` and `--dump` to see kboot's own
//! image layout without loading anything. Exit status as kexec-tools: 0, or 1 with a
//! message on stderr.

use crate::report::Chain;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::kexec::{self, BootModule, KexecMethod, KexecPlan};

/// The usage text, a macro so `kboot --help` can `concat!` it.
macro_rules! kexec_usage {
    () => {
        "\
  kboot kexec -l KERNEL [--initrd=FILE]... [--append=STR | --command-line=STR]
              [--reuse-cmdline] [--type=TYPE] [--module=\"FILE ARGS\"]...
              [-s | -c] [-d] [--dry-run | --dump DIR] [--memmap-root DIR]
              [--entry-32bit]
      Load KERNEL (a 64-bit bzImage, a multiboot kernel such as Xen, gzip'd or not,
      or an x86_64 ELF vmlinux) to boot with `kboot kexec -e`, as kexec-tools'
      kexec does. -t/--type names the loader, as kexec-tools' types: bzImage64
      (or bzImage), multiboot2-x86, multiboot-x86, elf-x86_64; without it kboot
      picks the first that recognises KERNEL (multiboot2 before multiboot).
      --type pvh (kboot's own, never picked by itself; kexec_load only) enters a
      Linux kernel (a vmlinux, or the one in a bzImage) at its Xen PVH entry with an
      hvm_start_info (command line, the ramdisk as module, memory map, ACPI RSDP):
      how a Xen PVH guest boots; kboot's /init uses it inside one.
      --module (repeatable, in order; multiboot only, so kexec_load): the module's
      command line, its first word the file: for Xen, --module \"VMLINUZ ARGS\" for
      dom0's kernel, then --module INITRD; --command-line is Xen's own.
      -s kexec_file_load only, -c kboot's own image builder and
      kexec_load only, neither: as kboot.kexec=auto (kboot's builder first, then
      kexec_file_load if the kernel refuses it; the other way round under UEFI).
      --dry-run prints the plan (segments, entry registers; for multiboot the
      information structure: memory limits and map, command lines, modules with
      their addresses; for pvh the start info) as JSON and loads nothing;
      --dump DIR writes it as DIR/plan.json and each segment as DIR/N-ROLE.bin; -d
      prints the plan on stderr and loads. --memmap-root reads the memory map under
      DIR (DIR/sys/firmware/memmap, DIR/proc/iomem) instead of /. --entry-32bit
      enters a bzImage at its 32-bit entry (kexec_load only), as kexec-tools does.
  kboot kexec -e | -u
      Boot the loaded kernel now / unload it.
  kboot kexec --info KERNEL
      What the loaders read in KERNEL (bzImage, multiboot image, x86_64 ELF vmlinux,
      gzip or not; --type picks the loader) as JSON: header fields, multiboot headers
      (offsets, flags, tags, load ranges, entry), PT_LOADs, Xen ELF notes and whether
      it can boot as a Xen PV or PVH guest.
  kboot kexec -h | --help
      This text.
"
    };
}

pub(super) const USAGE: &str = kexec_usage!();

#[derive(Debug, thiserror::Error)]
enum KexecCliError {
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Kexec(#[from] kexec::KexecError),
    #[error(transparent)]
    Syscall(#[from] kexec::syscall::SyscallError),
    #[error("Nothing has been loaded!")]
    NothingLoaded,
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot write JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// `--info` only reads the kernel: no layout, no kexec_load.
    #[error("cannot describe {path} as a kernel: {source}")]
    Describe {
        path: PathBuf,
        #[source]
        source: kexec::loader::LoaderError,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Load,
    Exec,
    Unload,
    Info,
    Help,
}

#[derive(Debug, Default)]
struct Options {
    action: Option<Action>,
    kernel: Option<PathBuf>,
    initrds: Vec<PathBuf>,
    command_line: Option<String>,
    reuse_cmdline: bool,
    method: KexecMethod,
    debug: bool,
    dry_run: bool,
    dump: Option<PathBuf>,
    memmap_root: Option<PathBuf>,
    loader_type: Option<String>,
    entry_32bit: bool,
    modules: Vec<BootModule>,
}

/// A `--module` string: its first word is the file, the whole is its command line.
fn boot_module(value: &str) -> Result<BootModule, KexecCliError> {
    let cmdline = value.trim();
    let file = cmdline
        .split_whitespace()
        .next()
        .ok_or_else(|| KexecCliError::Usage("--module needs a FILE".to_string()))?;
    Ok(BootModule {
        file: PathBuf::from(file),
        cmdline: cmdline.to_string(),
    })
}

/// A `--type` name kboot knows.
fn loader_type(name: String) -> Result<String, KexecCliError> {
    kexec::loader::named(&name)
        .map(|_| name)
        .map_err(|e| KexecCliError::Usage(e.to_string()))
}

/// `--name=value` or `--name value`.
fn long_value(
    args: &[String],
    i: &mut usize,
    arg: &str,
    name: &str,
) -> Result<Option<String>, KexecCliError> {
    if let Some(value) = arg
        .strip_prefix(name)
        .and_then(|rest| rest.strip_prefix('='))
    {
        return Ok(Some(value.to_string()));
    }
    if arg != name {
        return Ok(None);
    }
    *i += 1;
    args.get(*i)
        .cloned()
        .map(Some)
        .ok_or_else(|| KexecCliError::Usage(format!("{name} needs a value")))
}

fn parse(args: &[String]) -> Result<Options, KexecCliError> {
    let mut o = Options::default();
    let set_action = |o: &mut Options, a: Action| match o.action {
        Some(prev) if prev != a => Err(KexecCliError::Usage(
            "give only one of -l, -e, -u, --info".to_string(),
        )),
        _ => {
            o.action = Some(a);
            Ok(())
        }
    };
    let mut i = 0;
    while i < args.len() {
        let arg = args[i].as_str();
        match arg {
            "-l" | "--load" => set_action(&mut o, Action::Load)?,
            "-e" | "--exec" => set_action(&mut o, Action::Exec)?,
            "-u" | "--unload" => set_action(&mut o, Action::Unload)?,
            "--info" => set_action(&mut o, Action::Info)?,
            "-h" | "--help" => set_action(&mut o, Action::Help)?,
            "-s" | "--kexec-file-syscall" => o.method = KexecMethod::File,
            "-c" | "--kexec-syscall" => o.method = KexecMethod::Load,
            "-d" | "--debug" => o.debug = true,
            "--dry-run" => o.dry_run = true,
            "--reuse-cmdline" => o.reuse_cmdline = true,
            "-t" => {
                i += 1;
                let name = args.get(i).cloned();
                let name = name.ok_or_else(|| KexecCliError::Usage("-t needs a TYPE".into()))?;
                o.loader_type = Some(loader_type(name)?);
            }
            "--entry-32bit" => o.entry_32bit = true,
            _ if arg.starts_with("--") => {
                if let Some(v) = long_value(args, &mut i, arg, "--initrd")? {
                    o.initrds.push(PathBuf::from(v));
                } else if let Some(v) = long_value(args, &mut i, arg, "--ramdisk")? {
                    o.initrds.push(PathBuf::from(v));
                } else if let Some(v) = long_value(args, &mut i, arg, "--append")? {
                    o.command_line = Some(v);
                } else if let Some(v) = long_value(args, &mut i, arg, "--command-line")? {
                    o.command_line = Some(v);
                } else if let Some(v) = long_value(args, &mut i, arg, "--dump")? {
                    o.dump = Some(PathBuf::from(v));
                } else if let Some(v) = long_value(args, &mut i, arg, "--memmap-root")? {
                    o.memmap_root = Some(PathBuf::from(v));
                } else if let Some(v) = long_value(args, &mut i, arg, "--type")? {
                    o.loader_type = Some(loader_type(v)?);
                } else if let Some(v) = long_value(args, &mut i, arg, "--module")? {
                    o.modules.push(boot_module(&v)?);
                } else {
                    return Err(KexecCliError::Usage(format!("unknown option {arg}")));
                }
            }
            _ if arg.starts_with('-') => {
                return Err(KexecCliError::Usage(format!("unknown option {arg}")))
            }
            kernel => {
                if o.kernel.replace(PathBuf::from(kernel)).is_some() {
                    return Err(KexecCliError::Usage("give one kernel".to_string()));
                }
            }
        }
        i += 1;
    }
    // kexec-tools loads when given a kernel and no action.
    if o.action.is_none() && o.kernel.is_some() {
        o.action = Some(Action::Load);
    }
    Ok(o)
}

/// `/proc/cmdline` minus what only made sense for this boot (kexec-tools drops
/// `BOOT_IMAGE=` and `crashkernel=` the same way).
fn reused_cmdline(proc_cmdline: &str) -> String {
    proc_cmdline
        .split_whitespace()
        .filter(|w| !w.starts_with("BOOT_IMAGE=") && !w.starts_with("crashkernel="))
        .collect::<Vec<_>>()
        .join(" ")
}

pub(super) fn main(args: &[String]) -> i32 {
    match run(args) {
        Ok(()) => 0,
        Err(KexecCliError::Usage(message)) => {
            eprintln!("kboot kexec: {message}\n\nusage:\n{USAGE}");
            1
        }
        Err(e) => {
            eprintln!("kboot kexec: {}", Chain(&e));
            1
        }
    }
}

fn run(args: &[String]) -> Result<(), KexecCliError> {
    let o = parse(args)?;
    match o.action {
        None => Err(KexecCliError::Usage(
            "nothing to do: give -l KERNEL, -e or -u".into(),
        )),
        Some(Action::Help) => {
            print!("usage:\n{USAGE}");
            Ok(())
        }
        Some(Action::Unload) => Ok(kexec::syscall::unload()?),
        Some(Action::Exec) => {
            let loaded = fs::read_to_string("/sys/kernel/kexec_loaded").unwrap_or_default();
            if loaded.trim() == "0" {
                return Err(KexecCliError::NothingLoaded);
            }
            nix::unistd::sync();
            Err(kexec::syscall::reboot_into_loaded().into())
        }
        Some(Action::Load) => load(&o),
        Some(Action::Info) => info(&o),
    }
}

/// What the loaders see in the kernel: the format, header fields, Xen notes.
fn info(o: &Options) -> Result<(), KexecCliError> {
    let kernel = o
        .kernel
        .clone()
        .ok_or_else(|| KexecCliError::Usage("--info needs a KERNEL".into()))?;
    let bytes = kexec::read_decompressed(&kernel)?;
    let (loader, parsed) =
        kexec::loader::describe_as(&bytes, o.loader_type.as_deref()).map_err(|source| {
            KexecCliError::Describe {
                path: kernel.clone(),
                source,
            }
        })?;
    let report = serde_json::json!({
        "file": kernel,
        "bytes": bytes.len(),
        "loader": loader,
        "parsed": parsed,
    });
    let _ = writeln!(
        io::stdout().lock(),
        "{}",
        serde_json::to_string_pretty(&report)?
    );
    Ok(())
}

fn load(o: &Options) -> Result<(), KexecCliError> {
    let kernel = o
        .kernel
        .clone()
        .ok_or_else(|| KexecCliError::Usage("-l needs a KERNEL".into()))?;
    let mut cmdline = String::new();
    if o.reuse_cmdline {
        let path = Path::new("/proc/cmdline");
        let text = fs::read_to_string(path).map_err(|source| KexecCliError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        cmdline = reused_cmdline(&text);
    }
    if let Some(extra) = &o.command_line {
        if !cmdline.is_empty() {
            cmdline.push(' ');
        }
        cmdline.push_str(extra);
    }
    let plan = KexecPlan {
        kernel,
        ramdisks: o.initrds.clone(),
        cmdline,
        modules: o.modules.clone(),
        loader_type: o.loader_type.clone(),
        entry_32bit: o.entry_32bit,
    };
    if o.dry_run || o.dump.is_some() || o.debug {
        let root = o.memmap_root.as_deref().unwrap_or(Path::new("/"));
        let image = kexec::build_image(&plan, root)?;
        if image.boot_info.is_some() && plan.modules.is_empty() {
            eprintln!(
                "kboot kexec: warning: a multiboot kernel with no --module (Xen panics \
                 without a dom0 kernel)"
            );
        }
        let plan_json = serde_json::to_string_pretty(&image.plan())?;
        if o.dry_run {
            // A closed pipe (`| head`) is not an error worth a panic.
            let _ = writeln!(io::stdout().lock(), "{plan_json}");
        }
        if o.debug {
            eprintln!("{plan_json}");
        }
        if let Some(dir) = &o.dump {
            let write_err = |path: &Path| {
                let path = path.to_path_buf();
                move |source| KexecCliError::Write { path, source }
            };
            fs::create_dir_all(dir).map_err(write_err(dir))?;
            let plan_path = dir.join("plan.json");
            fs::write(&plan_path, format!("{plan_json}\n")).map_err(write_err(&plan_path))?;
            for (n, segment) in image.segments.iter().enumerate() {
                let path = dir.join(format!("{n}-{}.bin", segment.role));
                let mut file = fs::File::create(&path).map_err(write_err(&path))?;
                file.write_all(image.bytes(&segment.data))
                    .map_err(write_err(&path))?;
            }
        }
        if o.dry_run || o.dump.is_some() {
            return Ok(());
        }
    }
    let loaded = kexec::load(&plan, o.method)?;
    if let Some(refused) = &loaded.refused {
        eprintln!(
            "kboot kexec: {}; loaded with {} instead",
            Chain(refused.as_ref()),
            loaded.via
        );
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
