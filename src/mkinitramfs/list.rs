//! The initramfs contents as one in-memory model, [`InitramfsSpec`], and its text form:
//! the kernel's gen_init_cpio file list (`usr/gen_init_cpio.c`, documented in
//! `Documentation/driver-api/early-userspace/early_userspace_support.rst`):
//!
//! ```text
//! dir   <name> <mode> <uid> <gid>
//! file  <name> <location> <mode> <uid> <gid>
//! nod   <name> <mode> <uid> <gid> <b|c> <major> <minor>
//! slink <name> <target> <mode> <uid> <gid>
//! ```
//!
//! Modes are octal, fields are split on whitespace (so no spaces in paths), `#` starts a
//! comment. Both the list and the cpio writer serialise the same spec, so they agree.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use thiserror::Error;

#[derive(Debug, Error)]
pub(crate) enum ListError {
    #[error("path {path:?} in the image must be absolute")]
    NotAbsolute { path: String },
    #[error("{what} {path:?} contains whitespace, which the gen_init_cpio list cannot express")]
    Whitespace { what: &'static str, path: String },
    #[error("path {path:?} in the image has an empty, '.' or '..' component")]
    BadComponent { path: String },
    #[error("mode {mode:#o} of {path} has bits beyond 07777 (the entry type sets the rest)")]
    BadMode { path: String, mode: u32 },
    #[error("{path} is listed twice")]
    Duplicate { path: String },
    #[error("{path} comes before its parent directory {parent}; list parents first")]
    MissingParent { path: String, parent: String },
    #[error("line {line_number}: {reason}: {line:?}")]
    BadLine {
        line_number: usize,
        line: String,
        reason: String,
    },
    #[error("cannot write generated file {path}: {source}")]
    WriteGenerated {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// An absolute path inside the image: no whitespace, no empty, `.` or `..` parts.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct ImagePath(String);

impl ImagePath {
    pub(crate) fn new(path: &str) -> Result<ImagePath, ListError> {
        let Some(relative) = path.strip_prefix('/') else {
            return Err(ListError::NotAbsolute {
                path: path.to_string(),
            });
        };
        if path.contains(char::is_whitespace) {
            return Err(ListError::Whitespace {
                what: "path",
                path: path.to_string(),
            });
        }
        if relative
            .split('/')
            .any(|part| part.is_empty() || part == "." || part == "..")
        {
            return Err(ListError::BadComponent {
                path: path.to_string(),
            });
        }
        Ok(ImagePath(path.to_string()))
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }

    /// The parent directory, or None for a top-level entry (whose parent is the root).
    pub(crate) fn parent(&self) -> Option<ImagePath> {
        let (parent, _) = self.0.rsplit_once('/')?;
        (!parent.is_empty()).then(|| ImagePath(parent.to_string()))
    }

    /// `self/relative`, validated.
    pub(crate) fn join(&self, relative: &str) -> Result<ImagePath, ListError> {
        ImagePath::new(&format!("{}/{}", self.0, relative))
    }
}

impl fmt::Display for ImagePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NodeKind {
    Char,
    Block,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum EntryKind {
    Dir,
    /// Contents come from `source` on the build machine (or from
    /// [`InitramfsSpec::generated`] when the spec made them).
    File {
        source: PathBuf,
    },
    Node {
        kind: NodeKind,
        major: u32,
        minor: u32,
    },
    Symlink {
        target: String,
    },
}

/// One line of the list / one member of the archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    pub path: ImagePath,
    /// Permission bits (07777); the type bits follow from `kind`.
    pub mode_bits: u32,
    pub uid: u32,
    pub gid: u32,
    pub kind: EntryKind,
}

impl Entry {
    pub(crate) fn dir(path: ImagePath, mode_bits: u32) -> Entry {
        Entry {
            path,
            mode_bits,
            uid: 0,
            gid: 0,
            kind: EntryKind::Dir,
        }
    }

    pub(crate) fn file(path: ImagePath, source: PathBuf, mode_bits: u32) -> Entry {
        Entry {
            path,
            mode_bits,
            uid: 0,
            gid: 0,
            kind: EntryKind::File { source },
        }
    }

    fn validate(&self) -> Result<(), ListError> {
        if self.mode_bits > 0o7777 {
            return Err(ListError::BadMode {
                path: self.path.to_string(),
                mode: self.mode_bits,
            });
        }
        let (what, text) = match &self.kind {
            EntryKind::File { source } => ("source", source.to_string_lossy().into_owned()),
            EntryKind::Symlink { target } => ("symlink target", target.clone()),
            EntryKind::Dir | EntryKind::Node { .. } => return Ok(()),
        };
        if text.is_empty() || text.contains(char::is_whitespace) {
            return Err(ListError::Whitespace { what, path: text });
        }
        Ok(())
    }
}

impl fmt::Display for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Entry {
            path,
            mode_bits,
            uid,
            gid,
            kind,
        } = self;
        match kind {
            EntryKind::Dir => write!(f, "dir {path} {mode_bits:04o} {uid} {gid}"),
            EntryKind::File { source } => write!(
                f,
                "file {path} {} {mode_bits:04o} {uid} {gid}",
                source.display()
            ),
            EntryKind::Node { kind, major, minor } => {
                let letter = match kind {
                    NodeKind::Char => 'c',
                    NodeKind::Block => 'b',
                };
                write!(
                    f,
                    "nod {path} {mode_bits:04o} {uid} {gid} {letter} {major} {minor}"
                )
            }
            EntryKind::Symlink { target } => {
                write!(f, "slink {path} {target} {mode_bits:04o} {uid} {gid}")
            }
        }
    }
}

impl FromStr for Entry {
    type Err = String;

    fn from_str(line: &str) -> Result<Self, Self::Err> {
        let words: Vec<&str> = line.split_whitespace().collect();
        let number = |word: &str, what: &str, radix: u32| {
            u32::from_str_radix(word, radix).map_err(|_| format!("bad {what} {word:?}"))
        };
        let path = |word: &str| ImagePath::new(word).map_err(|error| error.to_string());
        let (kind, path, mode_word, owner) = match words.as_slice() {
            ["dir", name, mode, uid, gid] => (EntryKind::Dir, path(name)?, *mode, [*uid, *gid]),
            ["file", name, source, mode, uid, gid] => (
                EntryKind::File {
                    source: PathBuf::from(source),
                },
                path(name)?,
                *mode,
                [*uid, *gid],
            ),
            ["nod", name, mode, uid, gid, letter, major, minor] => {
                let kind = match *letter {
                    "c" => NodeKind::Char,
                    "b" => NodeKind::Block,
                    other => return Err(format!("node type {other:?} is neither 'b' nor 'c'")),
                };
                let node = EntryKind::Node {
                    kind,
                    major: number(major, "major", 10)?,
                    minor: number(minor, "minor", 10)?,
                };
                (node, path(name)?, *mode, [*uid, *gid])
            }
            ["slink", name, target, mode, uid, gid] => (
                EntryKind::Symlink {
                    target: target.to_string(),
                },
                path(name)?,
                *mode,
                [*uid, *gid],
            ),
            ["file", _, _, _, _, _, ..] => {
                return Err("hard links on file lines are not supported".to_string())
            }
            [kind @ ("pipe" | "sock"), ..] => {
                return Err(format!("{kind} entries are not supported"))
            }
            [kind @ ("dir" | "file" | "nod" | "slink"), ..] => {
                return Err(format!("wrong number of fields for {kind}"))
            }
            _ => return Err("unknown entry type".to_string()),
        };
        let entry = Entry {
            path,
            mode_bits: number(mode_word, "octal mode", 8)?,
            uid: number(owner[0], "uid", 10)?,
            gid: number(owner[1], "gid", 10)?,
            kind,
        };
        entry.validate().map_err(|error| error.to_string())?;
        Ok(entry)
    }
}

/// The whole initramfs: entries in archive order, parents before children.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct InitramfsSpec {
    entries: Vec<Entry>,
    paths: BTreeSet<ImagePath>,
    dirs: BTreeSet<ImagePath>,
    /// Contents of files the build made (modules.dep, ...), by their `source` path:
    /// the cpio writer takes them from here, the list writer first saves them there.
    generated: BTreeMap<PathBuf, Vec<u8>>,
}

impl InitramfsSpec {
    pub(crate) fn entries(&self) -> &[Entry] {
        &self.entries
    }

    pub(crate) fn generated(&self) -> &BTreeMap<PathBuf, Vec<u8>> {
        &self.generated
    }

    /// Appends an entry; its parent directory must already be there.
    pub(crate) fn push(&mut self, entry: Entry) -> Result<(), ListError> {
        entry.validate()?;
        if self.paths.contains(&entry.path) {
            return Err(ListError::Duplicate {
                path: entry.path.to_string(),
            });
        }
        if let Some(parent) = entry.path.parent() {
            if !self.dirs.contains(&parent) {
                return Err(ListError::MissingParent {
                    path: entry.path.to_string(),
                    parent: parent.to_string(),
                });
            }
        }
        if entry.kind == EntryKind::Dir {
            self.dirs.insert(entry.path.clone());
        }
        self.paths.insert(entry.path.clone());
        self.entries.push(entry);
        Ok(())
    }

    /// Adds `path` and any missing ancestors as directories with `mode_bits`.
    pub(crate) fn add_dir_all(
        &mut self,
        path: &ImagePath,
        mode_bits: u32,
    ) -> Result<(), ListError> {
        if self.dirs.contains(path) {
            return Ok(());
        }
        if let Some(parent) = path.parent() {
            self.add_dir_all(&parent, mode_bits)?;
        }
        self.push(Entry::dir(path.clone(), mode_bits))
    }

    /// Adds a file whose contents the build made; `source` is where the list form
    /// expects it on disk (see [`InitramfsSpec::save_generated`]).
    pub(crate) fn push_generated(
        &mut self,
        path: ImagePath,
        source: PathBuf,
        contents: Vec<u8>,
        mode_bits: u32,
    ) -> Result<(), ListError> {
        self.push(Entry::file(path, source.clone(), mode_bits))?;
        self.generated.insert(source, contents);
        Ok(())
    }

    /// Writes the generated files to their source paths, so the list can be used by
    /// gen_init_cpio or the kernel build.
    pub(crate) fn save_generated(&self) -> Result<(), ListError> {
        for (path, contents) in &self.generated {
            let write_error = |source| ListError::WriteGenerated {
                path: path.clone(),
                source,
            };
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(write_error)?;
            }
            std::fs::write(path, contents).map_err(write_error)?;
        }
        Ok(())
    }

    /// Substitutes `@KBOOT@` in a template with `init_path`, then parses it.
    pub(crate) fn from_template(
        template: &str,
        init_path: &Path,
    ) -> Result<InitramfsSpec, ListError> {
        template
            .replace("@KBOOT@", &init_path.to_string_lossy())
            .parse()
    }
}

impl FromStr for InitramfsSpec {
    type Err = ListError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let mut spec = InitramfsSpec::default();
        for (index, raw_line) in text.lines().enumerate() {
            // As in gen_init_cpio, '#' starts a comment only at the start of a line.
            let line = raw_line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let bad_line = |reason: String| ListError::BadLine {
                line_number: index + 1,
                line: raw_line.to_string(),
                reason,
            };
            let entry: Entry = line.parse().map_err(bad_line)?;
            spec.push(entry)
                .map_err(|error| bad_line(error.to_string()))?;
        }
        Ok(spec)
    }
}

impl fmt::Display for InitramfsSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for entry in &self.entries {
            writeln!(f, "{entry}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
