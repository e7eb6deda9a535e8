//! Kernel modules: which file holds a module, what it needs loaded first, which
//! device aliases it serves, and loading it into the running kernel. Not a device:
//! `devices` and `init` ask this module for drivers (md personalities, filesystems,
//! the drivers of the hardware found at boot).
//!
//! Sources, as written by depmod(8) under `/lib/modules/VERSION`:
//! `modules.dep` (`kernel/a/b.ko: kernel/c.ko kernel/d.ko`, paths relative to the
//! directory), `modules.alias` (`alias <fnmatch glob> <module>`), `modules.softdep`
//! (`softdep <module> pre: a b post: c`), `modules.builtin` (paths of modules linked
//! into the kernel) and `modules.builtin.modinfo` (`module.key=value`, NUL-separated).
//! When depmod has not run (Debian's package ships no modules.dep) the same facts come
//! from each module's ELF `.modinfo` section: NUL-separated `key=value` with
//! `depends=a,b`, `alias=`, `softdep=` and `name=`.
//!
//! - `tables`: one line of each depmod table, parsed and written back (pure).
//! - `modinfo`: the `.modinfo` section of one module file (pure).
//! - `file`: module file names, their compression, and reading their bytes.
//! - `index`: every module of one tree, and resolving names into a load order; only
//!   [`ModuleIndex::load`] reads files.
//! - `load`: the boot-time side: device modaliases, the load plan, `finit_module(2)`.

use std::path::PathBuf;

use thiserror::Error;

pub(crate) mod file;
pub(crate) mod index;
pub(crate) mod load;
pub(crate) mod modinfo;
pub(crate) mod tables;

/// Fake modules for tests: real ELF relocatables made by `cc -c`.
#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) mod fake_modules;

pub(crate) use index::{ModuleIndex, ModulePath};

#[derive(Debug, Error)]
pub(crate) enum ModulesError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot walk {path}: {source}")]
    Walk {
        path: PathBuf,
        #[source]
        source: walkdir::Error,
    },
    #[error("{file} line {line_number}: {reason}: {line:?}")]
    BadLine {
        file: &'static str,
        line_number: usize,
        line: String,
        reason: &'static str,
    },
    #[error("{path}: not a kernel module file name (expected *.ko, *.ko.gz, *.ko.xz or *.ko.zst)")]
    NotModuleName { path: PathBuf },
    #[error("{path}: cannot parse ELF to find .modinfo: {source}")]
    Elf {
        path: PathBuf,
        #[source]
        source: goblin::error::Error,
    },
    #[error("{path}: no .modinfo section")]
    NoModinfo { path: PathBuf },
    #[error(
        "{path}: .modinfo section lies outside the file (offset {offset_bytes}, size {size_bytes})"
    )]
    ModinfoOutOfBounds {
        path: PathBuf,
        offset_bytes: u64,
        size_bytes: u64,
    },
    #[error("cannot unpack module {path}: {source}")]
    Decompress {
        path: PathBuf,
        #[source]
        source: crate::compression::DecompressError,
    },
    #[error(
        "module {name} not found in {dir} (not in modules.dep, modules.builtin or modules.alias)"
    )]
    UnknownModule { name: String, dir: PathBuf },
    #[error("module dependency cycle: {}", cycle.join(" -> "))]
    DependencyCycle { cycle: Vec<String> },
}

/// Module names are compared with '-' folded to '_', as the kernel and kmod do.
pub(crate) fn normalize_name(name: &str) -> String {
    name.replace('-', "_")
}
