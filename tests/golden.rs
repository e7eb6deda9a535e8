//! Golden outputs: `kboot entries --json` on each distribution tree in `tests/data`,
//! compared with the checked-in `tests/data/golden/<case>.json` (u-root's grub
//! `testdata` is the model: a `/boot` tree in, the expected entries out).
//!
//! After a change that is meant to change what kboot lists, regenerate every golden
//! file with
//!
//! ```text
//! KBOOT_UPDATE_GOLDEN=1 cargo test --test golden
//! ```
//!
//! and review the diff before committing it.
//!
//! Each case lays its tree out in a temporary directory (the Debian grub.cfg files are
//! single files in `tests/data/grub/`; their kernels, and Xen, are placeholders, since
//! kboot only looks at names) and runs kboot there with relative `--root root` / `--boot
//! boot`, so the entries' `fs_root` is `root` or `boot` and the output carries no
//! temporary path.
#![allow(clippy::unwrap_used)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data");
const UPDATE_VAR: &str = "KBOOT_UPDATE_GOLDEN";
const DEBIAN_KERNELS: [&str; 2] = ["6.1.0-13-amd64", "6.1.0-9-amd64"];
/// The command line every case is listed with: a `root=` and a `kboot.append=`, so
/// the golden shows both kboot's own command line (scanned kernels) and the configs'
/// with the append.
const CMDLINE: &str = "root=LABEL=kboot console=ttyS0 kboot.append=quiet";

/// A file of the tree: where it goes, and what it holds.
enum Content {
    /// A file under `tests/data`.
    Data(&'static str),
    /// Every file under a directory of `tests/data`.
    DataDir(&'static str),
    /// A placeholder (a kernel or ramdisk kboot only looks for by name).
    Placeholder,
}

struct Case {
    name: &'static str,
    files: Vec<(String, Content)>,
    /// The boot filesystem is separate: `--boot boot`.
    separate_boot: bool,
}

/// Debian's kernels and ramdisks, as placeholders under `dir`.
fn debian_kernels(dir: &str) -> Vec<(String, Content)> {
    DEBIAN_KERNELS
        .iter()
        .flat_map(|v| {
            [
                (format!("{dir}/vmlinuz-{v}"), Content::Placeholder),
                (format!("{dir}/initrd.img-{v}"), Content::Placeholder),
            ]
        })
        .collect()
}

fn cases() -> Vec<Case> {
    let debian = |name, cfg: &'static str, grubenv: Option<&'static str>| {
        let mut files = vec![("root/boot/grub/grub.cfg".to_string(), Content::Data(cfg))];
        if let Some(env) = grubenv {
            files.push(("root/boot/grub/grubenv".to_string(), Content::Data(env)));
        }
        files.extend(debian_kernels("root/boot"));
        Case {
            name,
            files,
            separate_boot: false,
        }
    };
    let mut separate = vec![(
        "boot/grub/grub.cfg".to_string(),
        Content::Data("grub/debian-separate-boot.cfg"),
    )];
    separate.extend(debian_kernels("boot"));
    vec![
        debian("debian-boot-on-root", "grub/debian-boot-on-root.cfg", None),
        debian(
            "debian-saved-default",
            "grub/debian-saved-default.cfg",
            Some("grub/debian-grubenv"),
        ),
        Case {
            name: "debian-separate-boot",
            files: separate,
            separate_boot: true,
        },
        // A Xen host: the hypervisor is a placeholder too (its entries name it; only
        // booting reads it).
        {
            let mut xen = debian("debian-xen", "grub/debian-xen.cfg", None);
            xen.files.push((
                "root/boot/xen-4.17-amd64.gz".to_string(),
                Content::Placeholder,
            ));
            xen
        },
        Case {
            name: "fedora39-boot-partition",
            files: vec![("boot".to_string(), Content::DataDir("bls/fedora39"))],
            separate_boot: true,
        },
        Case {
            name: "fedora39-boot-on-root",
            files: vec![("root/boot".to_string(), Content::DataDir("bls/fedora39"))],
            separate_boot: false,
        },
    ]
}

fn write(path: &Path, contents: &[u8]) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, contents).unwrap();
}

/// Lays the case's tree out under `dir` (always with a `root`, empty or not).
fn lay_out(case: &Case, dir: &Path) {
    fs::create_dir_all(dir.join("root")).unwrap();
    for (dest, content) in &case.files {
        let dest = dir.join(dest);
        match content {
            Content::Data(path) => write(&dest, &fs::read(Path::new(DATA).join(path)).unwrap()),
            Content::Placeholder => write(&dest, b"placeholder"),
            Content::DataDir(path) => {
                let source = Path::new(DATA).join(path);
                for e in walkdir::WalkDir::new(&source) {
                    let e = e.unwrap();
                    if e.file_type().is_file() {
                        let rel = e.path().strip_prefix(&source).unwrap();
                        write(&dest.join(rel), &fs::read(e.path()).unwrap());
                    }
                }
            }
        }
    }
}

/// `kboot entries --json` on the case's tree.
fn entries_json(case: &Case) -> String {
    let tmp = tempfile::tempdir().unwrap();
    lay_out(case, tmp.path());
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kboot"));
    cmd.current_dir(tmp.path())
        .args(["entries", "--json", "--root", "root"]);
    if case.separate_boot {
        cmd.args(["--boot", "boot"]);
    }
    let out = cmd.args(["--cmdline", CMDLINE]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{}: {stderr}", case.name);
    assert!(stderr.is_empty(), "{}: warnings: {stderr}", case.name);
    String::from_utf8(out.stdout).unwrap()
}

fn golden_path(name: &str) -> PathBuf {
    Path::new(DATA).join("golden").join(format!("{name}.json"))
}

#[test]
fn entries_json_matches_the_golden_file_of_every_tree() {
    let update = std::env::var_os(UPDATE_VAR).is_some();
    let mut differ = Vec::new();
    for case in cases() {
        let actual = entries_json(&case);
        let path = golden_path(case.name);
        if update {
            write(&path, actual.as_bytes());
            continue;
        }
        let expected = fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "{}: {e}; write it with `{UPDATE_VAR}=1 cargo test --test golden`",
                path.display()
            )
        });
        if actual != expected {
            eprintln!(
                "{}: kboot entries --json differs from {}:\n{actual}",
                case.name,
                path.display()
            );
            differ.push(case.name);
        }
    }
    assert!(
        differ.is_empty(),
        "golden files differ for {differ:?}: if the change is meant, run \
         `{UPDATE_VAR}=1 cargo test --test golden` and review the diff"
    );
}
