//! depmod's tables, one line at a time: `modules.dep`, `modules.alias`,
//! `modules.softdep`, `modules.builtin` and `modules.builtin.modinfo`. Each line type
//! parses with `FromStr` and writes itself back with `Display`, so the tables kboot
//! generates for an initramfs read back the same. Pure: text in, values out.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use super::file::module_name_from_path;
use super::{normalize_name, ModulesError};

/// One line of `modules.dep`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DepLine {
    pub module_path: PathBuf,
    pub dependency_paths: Vec<PathBuf>,
}

impl FromStr for DepLine {
    type Err = &'static str;

    fn from_str(line: &str) -> Result<Self, Self::Err> {
        let (module, deps) = line.split_once(':').ok_or("missing ':'")?;
        let module = module.trim();
        if module.is_empty() || module.contains(char::is_whitespace) {
            return Err("bad module path before ':'");
        }
        Ok(DepLine {
            module_path: PathBuf::from(module),
            dependency_paths: deps.split_whitespace().map(PathBuf::from).collect(),
        })
    }
}

impl fmt::Display for DepLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:", self.module_path.display())?;
        for dep in &self.dependency_paths {
            write!(f, " {}", dep.display())?;
        }
        Ok(())
    }
}

/// One line of `modules.alias`: devices whose modalias matches `pattern` want `module`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AliasLine {
    pub pattern: String,
    pub module: String,
}

impl FromStr for AliasLine {
    type Err = &'static str;

    fn from_str(line: &str) -> Result<Self, Self::Err> {
        let mut words = line.split_whitespace();
        if words.next() != Some("alias") {
            return Err("expected 'alias'");
        }
        let pattern = words.next().ok_or("missing alias pattern")?;
        let module = words.next().ok_or("missing module name")?;
        if words.next().is_some() {
            return Err("extra words after module name");
        }
        Ok(AliasLine {
            pattern: pattern.to_string(),
            module: normalize_name(module),
        })
    }
}

impl fmt::Display for AliasLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "alias {} {}", self.pattern, self.module)
    }
}

/// Soft dependencies: modules (or aliases) worth loading before and after a module,
/// without a symbol link between them (e.g. btrfs wants `crypto-crc32c` first).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Softdep {
    pub pre: Vec<String>,
    pub post: Vec<String>,
}

impl Softdep {
    /// Parses the part after the module name: `pre: a b post: c`. Names before any
    /// `pre:`/`post:` are ignored, as kmod does: cifs declares `MODULE_SOFTDEP("gcm")`
    /// and depmod copies that into modules.softdep as `softdep cifs gcm`.
    pub(super) fn parse_body(body: &str) -> Softdep {
        enum Side {
            Unset,
            Pre,
            Post,
        }
        let mut side = Side::Unset;
        let mut softdep = Softdep::default();
        for word in body.split_whitespace() {
            match word {
                "pre:" => side = Side::Pre,
                "post:" => side = Side::Post,
                name => match side {
                    Side::Unset => {}
                    Side::Pre => softdep.pre.push(name.to_string()),
                    Side::Post => softdep.post.push(name.to_string()),
                },
            }
        }
        softdep
    }

    pub(super) fn merge(&mut self, other: Softdep) {
        self.pre.extend(other.pre);
        self.post.extend(other.post);
    }

    pub(super) fn is_empty(&self) -> bool {
        self.pre.is_empty() && self.post.is_empty()
    }
}

/// One line of `modules.softdep`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SoftdepLine {
    pub module: String,
    pub softdep: Softdep,
}

impl FromStr for SoftdepLine {
    type Err = &'static str;

    fn from_str(line: &str) -> Result<Self, Self::Err> {
        let rest = line
            .trim_start()
            .strip_prefix("softdep")
            .ok_or("expected 'softdep'")?;
        let mut words = rest.trim_start().splitn(2, char::is_whitespace);
        let module = words
            .next()
            .filter(|m| !m.is_empty())
            .ok_or("missing module name")?;
        let softdep = Softdep::parse_body(words.next().unwrap_or(""));
        Ok(SoftdepLine {
            module: normalize_name(module),
            softdep,
        })
    }
}

impl fmt::Display for SoftdepLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "softdep {}", self.module)?;
        if !self.softdep.pre.is_empty() {
            write!(f, " pre: {}", self.softdep.pre.join(" "))?;
        }
        if !self.softdep.post.is_empty() {
            write!(f, " post: {}", self.softdep.post.join(" "))?;
        }
        Ok(())
    }
}

/// Lines that carry data: no blanks, no `#` comments. Yields (1-based number, line).
fn data_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .map(|(index, line)| (index + 1, line.trim()))
        .filter(|(_, line)| !line.is_empty() && !line.starts_with('#'))
}

fn parse_lines<T: FromStr<Err = &'static str>>(
    file: &'static str,
    text: &str,
) -> Result<Vec<T>, ModulesError> {
    data_lines(text)
        .map(|(line_number, line)| {
            line.parse().map_err(|reason| ModulesError::BadLine {
                file,
                line_number,
                line: line.to_string(),
                reason,
            })
        })
        .collect()
}

pub(crate) fn parse_modules_dep(text: &str) -> Result<Vec<DepLine>, ModulesError> {
    parse_lines("modules.dep", text)
}

pub(crate) fn parse_modules_alias(text: &str) -> Result<Vec<AliasLine>, ModulesError> {
    parse_lines("modules.alias", text)
}

pub(crate) fn parse_modules_softdep(text: &str) -> Result<Vec<SoftdepLine>, ModulesError> {
    parse_lines("modules.softdep", text)
}

/// `modules.builtin`: one path per line; returns the normalised module names.
pub(crate) fn parse_modules_builtin(text: &str) -> Result<Vec<String>, ModulesError> {
    data_lines(text)
        .map(|(line_number, line)| {
            module_name_from_path(Path::new(line)).ok_or(ModulesError::BadLine {
                file: "modules.builtin",
                line_number,
                line: line.to_string(),
                reason: "not a module path",
            })
        })
        .collect()
}

/// `modules.builtin.modinfo`: NUL-separated `module.key=value`. Returns the aliases of
/// builtin modules, so that e.g. `fs-ext4` is known to be satisfied by builtin ext4.
pub(crate) fn parse_builtin_modinfo_aliases(bytes: &[u8]) -> Vec<AliasLine> {
    bytes
        .split(|&byte| byte == 0)
        .filter_map(|field| std::str::from_utf8(field).ok())
        .filter_map(|field| {
            let (key, value) = field.split_once('=')?;
            let (module, key) = key.split_once('.')?;
            (key == "alias" && !value.is_empty()).then(|| AliasLine {
                pattern: value.to_string(),
                module: normalize_name(module),
            })
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
