//! kboot as a tool on a running system: see what /init would do without booting.

#[macro_use]
mod kexec_tool;
#[macro_use]
mod xen_soft_reset;

use crate::printable::Printable;
use crate::report::report;
use std::fmt::Write as _;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::devices::blockdev::{self, BlockDevice};
use crate::init::cmdline::Cmdline;
use crate::select::scan::ScanRequest;
use crate::select::{self, BootEntry};

const USAGE: &str = concat!(
    "\
usage: kboot COMMAND [OPTIONS]

As /init (PID 1, or started as `init`) kboot boots the machine. As a tool:

  kboot devices [--json] [IMAGE...]
      Block devices with TYPE, UUID, LABEL, PARTUUID and PARTLABEL, as blkid shows
      them; with IMAGE files, the disk images and their partitions instead.
  kboot entries [--root DIR] [--boot DIR] [--cmdline \"...\"] [--json]
      The entries kboot would offer, in order (Boot Loader Specification entries,
      grub.cfg, then the kernels in /boot), from a mounted or extracted root tree
      (default /) and optional boot tree; * marks the default.
",
    kexec_usage!(),
    "\
  kboot mkinitramfs [-o LIST] [--cpio OUT[.gz]] [-k DIR] [-m MODULE]... [--init PATH]
      Write the initramfs file list (gen_init_cpio format) or a newc archive.
",
    xen_soft_reset_usage!(),
    "\
  kboot --help | --version
"
);

#[derive(Debug, thiserror::Error)]
enum CliError {
    #[error("{0}\n\n{USAGE}")]
    Usage(String),
    #[error(transparent)]
    Devices(#[from] blockdev::BlockdevError),
    #[error(transparent)]
    Select(#[from] select::SelectError),
    #[error("cannot write JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot write to standard output: {0}")]
    Output(#[source] io::Error),
}

/// Writes the command's output to stdout. A reader that has gone away (`| head -1`)
/// is `CliError::Output` with `BrokenPipe`, which `main` ends quietly.
fn write_stdout(text: &str) -> Result<(), CliError> {
    let mut out = io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(CliError::Output)
}

/// Runs a subcommand and returns the process exit status.
pub fn main(args: &[String]) -> i32 {
    // Reached through a `kexec` symlink: behave as kexec-tools' kexec.
    let invoked_as = args
        .first()
        .and_then(|a| Path::new(a).file_name())
        .and_then(|n| n.to_str());
    if invoked_as == Some("kexec") {
        return kexec_tool::main(args.get(1..).unwrap_or(&[]));
    }
    let rest = args.get(2..).unwrap_or(&[]);
    let result = match args.get(1).map(String::as_str) {
        None | Some("-h" | "--help" | "help") => write_stdout(USAGE),
        Some("-V" | "--version") => write_stdout(&format!("kboot {}\n", env!("CARGO_PKG_VERSION"))),
        Some("devices") => devices(rest),
        Some("entries") => entries(rest),
        Some("kexec") => return kexec_tool::main(rest),
        Some("mkinitramfs") => return crate::mkinitramfs::main(rest),
        Some("xen-soft-reset") => return xen_soft_reset::main(rest),
        Some(other) => Err(CliError::Usage(format!("unknown command {other:?}"))),
    };
    match result {
        Ok(()) => 0,
        // The reader took what it wanted and closed the pipe (`kboot entries | head
        // -1`): not a failure of ours. Exit 0 quietly, as `kboot kexec --info` does,
        // so `set -o pipefail` scripts do not fail on a `head`.
        Err(CliError::Output(e)) if e.kind() == io::ErrorKind::BrokenPipe => 0,
        // The usage text is ours, newlines and all.
        Err(e @ CliError::Usage(_)) => {
            eprintln!("kboot: {e}");
            2
        }
        Err(e) => {
            eprintln!("kboot: {}", Printable(&report(&e)));
            2
        }
    }
}

fn value<'a>(args: &'a [String], i: &mut usize, flag: &str) -> Result<&'a str, CliError> {
    *i += 1;
    args.get(*i)
        .map(String::as_str)
        .ok_or_else(|| CliError::Usage(format!("{flag} needs a value")))
}

fn print_json<T: serde::Serialize>(value: &T) -> Result<(), CliError> {
    let mut text = serde_json::to_string_pretty(value)?;
    text.push('\n');
    write_stdout(&text)
}

fn devices(args: &[String]) -> Result<(), CliError> {
    let mut json = false;
    let mut images = Vec::new();
    for a in args {
        match a.as_str() {
            "-h" | "--help" => return write_stdout(USAGE),
            "--json" => json = true,
            flag if flag.starts_with('-') => {
                return Err(CliError::Usage(format!("unknown option {flag}")))
            }
            image => images.push(PathBuf::from(image)),
        }
    }
    let list: Vec<BlockDevice> = if images.is_empty() {
        blockdev::scan(Path::new("/sys"), Path::new("/dev"))?
    } else {
        let mut all = Vec::new();
        for image in &images {
            all.extend(blockdev::inspect_image(image)?);
        }
        all
    };
    if json {
        return print_json(&list);
    }
    let mut text = String::new();
    for d in &list {
        text.push_str(&d.blkid_line());
        text.push('\n');
    }
    write_stdout(&text)
}

fn entries(args: &[String]) -> Result<(), CliError> {
    let mut root = PathBuf::from("/");
    let mut boot: Option<PathBuf> = None;
    let mut cmdline_text: Option<String> = None;
    let mut json = false;
    let mut i = 0;
    while i < args.len() {
        match args[i].as_str() {
            "--root" => root = PathBuf::from(value(args, &mut i, "--root")?),
            "--boot" => boot = Some(PathBuf::from(value(args, &mut i, "--boot")?)),
            "--cmdline" => cmdline_text = Some(value(args, &mut i, "--cmdline")?.to_string()),
            "--json" => json = true,
            "-h" | "--help" => return write_stdout(USAGE),
            other => return Err(CliError::Usage(format!("unknown option {other}"))),
        }
        i += 1;
    }
    let cmdline_text = match cmdline_text {
        Some(text) => text,
        None => std::fs::read_to_string("/proc/cmdline").map_err(|source| CliError::Read {
            path: PathBuf::from("/proc/cmdline"),
            source,
        })?,
    };
    let cmdline: Cmdline = match cmdline_text.parse() {
        Ok(c) => c,
        Err(never) => match never {},
    };
    for w in &cmdline.warnings {
        eprintln!("kboot: warning: {}", Printable(w));
    }
    let target = cmdline.target_cmdline();
    let request = ScanRequest {
        root: &root,
        boot: boot.as_deref(),
        kernel: cmdline.kernel.as_deref(),
        ramdisk: cmdline.ramdisk.as_deref(),
        modules: &cmdline.modules,
        cmdline: &target,
        append: cmdline.append.as_deref(),
    };
    let collected: select::Collected = select::collect(&request)?;
    for w in &collected.warnings {
        eprintln!("kboot: warning: {}", Printable(&report(w)));
    }
    if json {
        let found: &[BootEntry] = &collected.entries;
        return print_json(&found);
    }
    write_stdout(&entries_text(&collected))
}

/// `kboot entries` as text: what came from the disk (titles, paths, command lines)
/// with its control characters escaped.
fn entries_text(collected: &select::Collected) -> String {
    let mut text = String::new();
    for (n, e) in collected.entries.iter().enumerate() {
        let mark = if n == collected.default_index {
            '*'
        } else {
            ' '
        };
        let ramdisks = e.ramdisks_shown();
        let missing = e.missing.join(",");
        // Writing into a String cannot fail.
        let _ = writeln!(text, "{}){mark}{}", n + 1, Printable(&e.title));
        if let Some(reason) = &e.cannot_boot {
            let _ = writeln!(text, "   CANNOT BOOT {}", Printable(reason));
            let _ = writeln!(text, "   source  {}", e.source.name());
            continue;
        }
        if e.kind.is_linux() {
            let _ = writeln!(text, "   kernel  {}", Printable(&e.kernel));
            let _ = writeln!(text, "   initrd  {}", Printable(&ramdisks));
        } else {
            let _ = writeln!(
                text,
                "   kernel  {} ({})",
                Printable(&e.kernel),
                e.kind.name()
            );
            for m in &e.modules {
                let _ = match m.args.as_str() {
                    "" => writeln!(text, "   module  {}", Printable(&m.path)),
                    args => writeln!(
                        text,
                        "   module  {} args \"{}\"",
                        Printable(&m.path),
                        Printable(args)
                    ),
                };
            }
        }
        let _ = writeln!(text, "   cmdline \"{}\"", Printable(&e.cmdline));
        let _ = writeln!(text, "   source  {}", e.source.name());
        if !e.missing.is_empty() {
            let _ = writeln!(text, "   MISSING {}", Printable(&missing));
        }
    }
    if let Some(t) = collected.timeout_secs {
        let _ = writeln!(text, "timeout {t} s (from the config)");
    }
    text
}
