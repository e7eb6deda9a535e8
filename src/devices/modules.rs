//! Kernel module metadata: which file holds a module, what it needs loaded first, and
//! which device aliases it serves.
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
//! Everything here is pure except [`ModuleIndex::load`], which only reads files.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use thiserror::Error;

/// File name suffixes of module files, longest first so `.ko.xz` is not cut as `.ko`.
const MODULE_SUFFIXES: [&str; 4] = [".ko.xz", ".ko.zst", ".ko.gz", ".ko"];

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
    #[error(
        "{path}: cannot read .modinfo of a {compression} compressed module; run depmod to create modules.dep"
    )]
    CompressedModinfo {
        path: PathBuf,
        compression: &'static str,
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

/// The module name a file path stands for: `kernel/drivers/md/dm-mod.ko.xz` → `dm_mod`.
pub(crate) fn module_name_from_path(path: &Path) -> Option<String> {
    let file_name = path.file_name()?.to_str()?;
    MODULE_SUFFIXES
        .iter()
        .find_map(|suffix| file_name.strip_suffix(suffix))
        .filter(|stem| !stem.is_empty())
        .map(normalize_name)
}

/// How a module file is compressed, judged by its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Compression {
    None,
    Gzip,
    Xz,
    Zstd,
}

impl Compression {
    pub(crate) fn from_path(path: &Path) -> Compression {
        let name = path.to_string_lossy();
        if name.ends_with(".ko.gz") {
            Compression::Gzip
        } else if name.ends_with(".ko.xz") {
            Compression::Xz
        } else if name.ends_with(".ko.zst") {
            Compression::Zstd
        } else {
            Compression::None
        }
    }

    fn name(self) -> &'static str {
        match self {
            Compression::None => "uncompressed",
            Compression::Gzip => "gzip",
            Compression::Xz => "xz",
            Compression::Zstd => "zstd",
        }
    }
}

/// One module that has to be loaded: its normalised name and its file, relative to the
/// `lib/modules/VERSION` directory of the index that resolved it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ModulePath {
    pub name: String,
    pub relative_path: PathBuf,
}

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
    fn parse_body(body: &str) -> Softdep {
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

    fn merge(&mut self, other: Softdep) {
        self.pre.extend(other.pre);
        self.post.extend(other.post);
    }

    fn is_empty(&self) -> bool {
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

/// What a module's `.modinfo` section says about loading it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ModInfo {
    /// `name=`, normalised; absent in modules built before Linux 4.x.
    pub name: Option<String>,
    pub depends: Vec<String>,
    pub aliases: Vec<String>,
    pub softdep: Softdep,
}

/// Parses the raw bytes of a `.modinfo` section (NUL-separated `key=value`).
pub(crate) fn parse_modinfo_section(section: &[u8]) -> ModInfo {
    let mut info = ModInfo::default();
    let fields = section
        .split(|&byte| byte == 0)
        .filter_map(|field| std::str::from_utf8(field).ok());
    for field in fields {
        let Some((key, value)) = field.split_once('=') else {
            continue;
        };
        match key {
            "name" => info.name = Some(normalize_name(value)),
            "depends" => info.depends.extend(
                value
                    .split(',')
                    .filter(|dep| !dep.is_empty())
                    .map(normalize_name),
            ),
            "alias" => info.aliases.push(value.to_string()),
            "softdep" => info.softdep.merge(Softdep::parse_body(value)),
            _ => {}
        }
    }
    info
}

/// Reads `.modinfo` from the bytes of an uncompressed `.ko` (an ELF relocatable).
/// `path` only labels errors.
pub(crate) fn read_modinfo(path: &Path, elf_bytes: &[u8]) -> Result<ModInfo, ModulesError> {
    let elf = goblin::elf::Elf::parse(elf_bytes).map_err(|source| ModulesError::Elf {
        path: path.to_path_buf(),
        source,
    })?;
    let header = elf
        .section_headers
        .iter()
        .find(|header| elf.shdr_strtab.get_at(header.sh_name) == Some(".modinfo"))
        .ok_or_else(|| ModulesError::NoModinfo {
            path: path.to_path_buf(),
        })?;
    let out_of_bounds = || ModulesError::ModinfoOutOfBounds {
        path: path.to_path_buf(),
        offset_bytes: header.sh_offset,
        size_bytes: header.sh_size,
    };
    let start = usize::try_from(header.sh_offset).map_err(|_| out_of_bounds())?;
    let size = usize::try_from(header.sh_size).map_err(|_| out_of_bounds())?;
    let end = start.checked_add(size).ok_or_else(out_of_bounds)?;
    let section = elf_bytes.get(start..end).ok_or_else(out_of_bounds)?;
    Ok(parse_modinfo_section(section))
}

/// fnmatch(3) with no flags, as kmod matches aliases: `*`, `?`, `[...]` with ranges and
/// `!`/`^` negation, and `\` escaping the next character. `*` also matches `/`.
pub(crate) fn fnmatch(pattern: &str, text: &str) -> bool {
    let pattern = pattern.as_bytes();
    let text = text.as_bytes();
    let (mut p, mut t) = (0, 0);
    // Where to resume after the last '*': (pattern index after '*', text index).
    let mut backtrack: Option<(usize, usize)> = None;
    while t < text.len() {
        let step = match pattern.get(p) {
            Some(b'*') => {
                backtrack = Some((p + 1, t));
                p += 1;
                continue;
            }
            Some(b'?') => Some(p + 1),
            Some(b'[') => match match_bracket(pattern, p, text[t]) {
                Some((true, next)) => Some(next),
                Some((false, _)) => None,
                // An unclosed '[' is an ordinary character.
                None => (text[t] == b'[').then_some(p + 1),
            },
            Some(b'\\') if p + 1 < pattern.len() => (pattern[p + 1] == text[t]).then_some(p + 2),
            Some(&literal) => (literal == text[t]).then_some(p + 1),
            None => None,
        };
        match (step, backtrack) {
            (Some(next), _) => {
                p = next;
                t += 1;
            }
            (None, Some((star_p, star_t))) => {
                p = star_p;
                t = star_t + 1;
                backtrack = Some((star_p, star_t + 1));
            }
            (None, None) => return false,
        }
    }
    pattern[p..].iter().all(|&byte| byte == b'*')
}

/// Matches `byte` against the bracket expression starting at `pattern[open]` (`[`).
/// Returns (matched, index after `]`), or None when the bracket is not closed.
fn match_bracket(pattern: &[u8], open: usize, byte: u8) -> Option<(bool, usize)> {
    let mut i = open + 1;
    let negated = matches!(pattern.get(i), Some(b'!') | Some(b'^'));
    if negated {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    loop {
        let low = *pattern.get(i)?;
        // A ']' right after '[' or '[!' is a literal member.
        if low == b']' && !first {
            return Some((matched != negated, i + 1));
        }
        first = false;
        if pattern.get(i + 1) == Some(&b'-') && pattern.get(i + 2).is_some_and(|&c| c != b']') {
            let high = pattern[i + 2];
            matched |= low <= byte && byte <= high;
            i += 3;
        } else {
            matched |= low == byte;
            i += 1;
        }
    }
}

/// What the index knows about one loadable (non-builtin) module.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ModuleEntry {
    pub relative_path: PathBuf,
    /// Hard dependencies by normalised name.
    pub depends: Vec<String>,
    pub softdep: Softdep,
}

/// Every module of one `lib/modules/VERSION` tree, with aliases and builtins.
#[derive(Debug, Clone, Default)]
pub(crate) struct ModuleIndex {
    dir: PathBuf,
    modules: BTreeMap<String, ModuleEntry>,
    /// Aliases of loadable modules, in file order (kmod returns matches in that order).
    aliases: Vec<AliasLine>,
    builtin: BTreeSet<String>,
    /// Aliases of builtin modules: a request for one of these is already satisfied.
    builtin_aliases: Vec<AliasLine>,
}

/// The text of depmod's tables, for building an index without touching the disk.
#[derive(Debug, Clone, Default)]
pub(crate) struct ModuleTables<'a> {
    pub modules_dep: &'a str,
    pub modules_alias: &'a str,
    pub modules_softdep: &'a str,
    pub modules_builtin: &'a str,
    pub modules_builtin_modinfo: &'a [u8],
}

impl ModuleIndex {
    /// Builds an index from depmod's tables. `dir` is only remembered for error
    /// messages and to turn relative paths into full ones.
    pub(crate) fn from_tables(dir: &Path, tables: &ModuleTables<'_>) -> Result<Self, ModulesError> {
        let mut index = ModuleIndex {
            dir: dir.to_path_buf(),
            ..ModuleIndex::default()
        };
        for line in parse_modules_dep(tables.modules_dep)? {
            let name_of = |path: &Path| {
                module_name_from_path(path).ok_or_else(|| ModulesError::NotModuleName {
                    path: path.to_path_buf(),
                })
            };
            let name = name_of(&line.module_path)?;
            let depends = line
                .dependency_paths
                .iter()
                .map(|path| name_of(path))
                .collect::<Result<_, _>>()?;
            index.insert_module(
                name,
                ModuleEntry {
                    relative_path: line.module_path,
                    depends,
                    softdep: Softdep::default(),
                },
            );
        }
        index.aliases = parse_modules_alias(tables.modules_alias)?;
        for line in parse_modules_softdep(tables.modules_softdep)? {
            if let Some(entry) = index.modules.get_mut(&line.module) {
                entry.softdep.merge(line.softdep);
            }
        }
        index.add_builtins(tables)?;
        Ok(index)
    }

    /// Loads the index of a `lib/modules/VERSION` directory: from modules.dep when
    /// depmod has run, otherwise by reading `.modinfo` of every `*.ko*` below `dir`.
    pub(crate) fn load(dir: &Path) -> Result<Self, ModulesError> {
        let modules_dep = read_optional_text(&dir.join("modules.dep"))?;
        let modules_builtin = read_optional_text(&dir.join("modules.builtin"))?;
        let modules_builtin_modinfo = read_optional(&dir.join("modules.builtin.modinfo"))?;
        match modules_dep {
            Some(modules_dep) => {
                let modules_alias = read_optional_text(&dir.join("modules.alias"))?;
                let modules_softdep = read_optional_text(&dir.join("modules.softdep"))?;
                ModuleIndex::from_tables(
                    dir,
                    &ModuleTables {
                        modules_dep: &modules_dep,
                        modules_alias: modules_alias.as_deref().unwrap_or(""),
                        modules_softdep: modules_softdep.as_deref().unwrap_or(""),
                        modules_builtin: modules_builtin.as_deref().unwrap_or(""),
                        modules_builtin_modinfo: modules_builtin_modinfo.as_deref().unwrap_or(&[]),
                    },
                )
            }
            None => {
                let mut index = ModuleIndex::scan(dir)?;
                index.add_builtins(&ModuleTables {
                    modules_builtin: modules_builtin.as_deref().unwrap_or(""),
                    modules_builtin_modinfo: modules_builtin_modinfo.as_deref().unwrap_or(&[]),
                    ..ModuleTables::default()
                })?;
                Ok(index)
            }
        }
    }

    /// Builds the index from the modules themselves, as depmod would.
    fn scan(dir: &Path) -> Result<Self, ModulesError> {
        let mut index = ModuleIndex {
            dir: dir.to_path_buf(),
            ..ModuleIndex::default()
        };
        // Sorted so that the result, including which duplicate wins, is reproducible.
        let walker = walkdir::WalkDir::new(dir).sort_by_file_name();
        for dir_entry in walker {
            let dir_entry = dir_entry.map_err(|source| ModulesError::Walk {
                path: dir.to_path_buf(),
                source,
            })?;
            if !dir_entry.file_type().is_file() {
                continue;
            }
            let path = dir_entry.path();
            let Some(file_name_module) = module_name_from_path(path) else {
                continue;
            };
            let bytes = read_module_bytes(path)?;
            let info = read_modinfo(path, &bytes)?;
            let name = info.name.clone().unwrap_or(file_name_module);
            // strip_prefix cannot fail: walkdir yields paths below `dir`.
            let relative_path = path.strip_prefix(dir).unwrap_or(path).to_path_buf();
            if index.modules.contains_key(&name) {
                continue;
            }
            index
                .aliases
                .extend(info.aliases.into_iter().map(|pattern| AliasLine {
                    pattern,
                    module: name.clone(),
                }));
            index.insert_module(
                name,
                ModuleEntry {
                    relative_path,
                    depends: info.depends,
                    softdep: info.softdep,
                },
            );
        }
        Ok(index)
    }

    fn insert_module(&mut self, name: String, entry: ModuleEntry) {
        // depmod lists a name once; if a tree has duplicates the first one wins.
        self.modules.entry(name).or_insert(entry);
    }

    fn add_builtins(&mut self, tables: &ModuleTables<'_>) -> Result<(), ModulesError> {
        self.builtin
            .extend(parse_modules_builtin(tables.modules_builtin)?);
        self.builtin_aliases.extend(parse_builtin_modinfo_aliases(
            tables.modules_builtin_modinfo,
        ));
        Ok(())
    }

    /// The `lib/modules/VERSION` directory this index describes.
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// The full path of a resolved module's file.
    pub(crate) fn full_path(&self, module: &ModulePath) -> PathBuf {
        self.dir.join(&module.relative_path)
    }

    pub(crate) fn module(&self, name: &str) -> Option<&ModuleEntry> {
        self.modules.get(&normalize_name(name))
    }

    pub(crate) fn is_builtin(&self, name: &str) -> bool {
        self.builtin.contains(&normalize_name(name))
    }

    /// Names of all loadable modules, sorted.
    #[cfg(test)]
    pub(crate) fn module_names(&self) -> impl Iterator<Item = &str> {
        self.modules.keys().map(String::as_str)
    }

    /// Loadable modules whose alias glob matches a device's modalias, each once, in
    /// alias-table order.
    pub(crate) fn aliases_matching(&self, modalias: &str) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for alias in &self.aliases {
            if fnmatch(&alias.pattern, modalias) && !names.contains(&alias.module) {
                names.push(alias.module.clone());
            }
        }
        names
    }

    fn builtin_alias_matches(&self, name: &str) -> bool {
        self.builtin_aliases
            .iter()
            .any(|alias| fnmatch(&alias.pattern, name))
    }

    /// The modules to load, in order, so that `names` (module names or aliases such as
    /// `fs-xfs`) are available: dependencies before dependents, each module once.
    /// Builtin modules count as loaded. Soft dependencies are followed when they resolve
    /// and skipped when they don't, as modprobe does.
    pub(crate) fn resolve(&self, names: &[&str]) -> Result<Vec<ModulePath>, ModulesError> {
        let mut resolution = Resolution::default();
        for name in names {
            self.visit_request(name, &mut resolution, false)?;
        }
        Ok(resolution.order)
    }

    /// Resolves a requested name: a module, a builtin, or an alias for either.
    fn visit_request(
        &self,
        requested: &str,
        resolution: &mut Resolution,
        soft: bool,
    ) -> Result<(), ModulesError> {
        let name = normalize_name(requested);
        if self.modules.contains_key(&name) {
            return self.visit(&name, resolution, soft);
        }
        if self.builtin.contains(&name) {
            return Ok(());
        }
        // Aliases are matched as written: modalias strings are not '-'-folded.
        let by_alias = self.aliases_matching(requested);
        if by_alias.is_empty() {
            if soft || self.builtin_alias_matches(requested) {
                return Ok(());
            }
            return Err(ModulesError::UnknownModule {
                name: requested.to_string(),
                dir: self.dir.clone(),
            });
        }
        for module in by_alias {
            self.visit(&module, resolution, soft)?;
        }
        Ok(())
    }

    /// Depth-first: a module is appended after everything it depends on.
    fn visit(
        &self,
        name: &str,
        resolution: &mut Resolution,
        soft: bool,
    ) -> Result<(), ModulesError> {
        if resolution.done.contains(name) {
            return Ok(());
        }
        if let Some(position) = resolution.stack.iter().position(|n| n == name) {
            // A soft dependency that loops back is only a hint; drop it.
            if soft {
                return Ok(());
            }
            let mut cycle = resolution.stack[position..].to_vec();
            cycle.push(name.to_string());
            return Err(ModulesError::DependencyCycle { cycle });
        }
        let Some(entry) = self.modules.get(name) else {
            if self.builtin.contains(name) {
                return Ok(());
            }
            return Err(ModulesError::UnknownModule {
                name: name.to_string(),
                dir: self.dir.clone(),
            });
        };
        resolution.stack.push(name.to_string());
        for pre in &entry.softdep.pre {
            self.visit_request(pre, resolution, true)?;
        }
        for dependency in &entry.depends {
            self.visit(dependency, resolution, false)?;
        }
        resolution.stack.pop();
        resolution.done.insert(name.to_string());
        resolution.order.push(ModulePath {
            name: name.to_string(),
            relative_path: entry.relative_path.clone(),
        });
        for post in &entry.softdep.post {
            self.visit_request(post, resolution, true)?;
        }
        Ok(())
    }

    /// `modules.dep` text for just `modules` (as returned by [`ModuleIndex::resolve`]),
    /// dependencies limited to those included.
    pub(crate) fn modules_dep_text(&self, modules: &[ModulePath]) -> String {
        let included: BTreeMap<&str, &ModulePath> =
            modules.iter().map(|m| (m.name.as_str(), m)).collect();
        let mut text = String::new();
        for module in modules {
            let dependency_paths = self
                .modules
                .get(&module.name)
                .map(|entry| {
                    self.dependency_closure_in_order(&entry.depends)
                        .into_iter()
                        .filter_map(|dep| included.get(dep.as_str()))
                        .map(|dep| dep.relative_path.clone())
                        .collect()
                })
                .unwrap_or_default();
            let line = DepLine {
                module_path: module.relative_path.clone(),
                dependency_paths,
            };
            text.push_str(&line.to_string());
            text.push('\n');
        }
        text
    }

    /// depmod lists every transitive dependency on a module's line, nearest first.
    fn dependency_closure_in_order(&self, direct: &[String]) -> Vec<String> {
        let mut closure: Vec<String> = Vec::new();
        let mut queue: std::collections::VecDeque<&String> = direct.iter().collect();
        while let Some(name) = queue.pop_front() {
            if closure.contains(name) {
                continue;
            }
            closure.push(name.clone());
            if let Some(entry) = self.modules.get(name) {
                queue.extend(entry.depends.iter());
            }
        }
        closure
    }

    /// `modules.alias` text for the aliases of `modules` only.
    pub(crate) fn modules_alias_text(&self, modules: &[ModulePath]) -> String {
        let included: BTreeSet<&str> = modules.iter().map(|m| m.name.as_str()).collect();
        self.aliases
            .iter()
            .filter(|alias| included.contains(alias.module.as_str()))
            .map(|alias| format!("{alias}\n"))
            .collect()
    }

    /// `modules.softdep` text for `modules` only.
    pub(crate) fn modules_softdep_text(&self, modules: &[ModulePath]) -> String {
        modules
            .iter()
            .filter_map(|module| {
                let entry = self.modules.get(&module.name)?;
                (!entry.softdep.is_empty()).then(|| {
                    let line = SoftdepLine {
                        module: module.name.clone(),
                        softdep: entry.softdep.clone(),
                    };
                    format!("{line}\n")
                })
            })
            .collect()
    }
}

#[derive(Default)]
struct Resolution {
    order: Vec<ModulePath>,
    done: BTreeSet<String>,
    /// Modules being visited, outermost first: a repeat means a cycle.
    stack: Vec<String>,
}

fn read_optional(path: &Path) -> Result<Option<Vec<u8>>, ModulesError> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(ModulesError::Read {
            path: path.to_path_buf(),
            source,
        }),
    }
}

fn read_optional_text(path: &Path) -> Result<Option<String>, ModulesError> {
    Ok(read_optional(path)?.map(|bytes| String::from_utf8_lossy(&bytes).into_owned()))
}

/// The ELF bytes of a module file, gunzipped if needed.
pub(crate) fn read_module_bytes(path: &Path) -> Result<Vec<u8>, ModulesError> {
    let read_error = |source| ModulesError::Read {
        path: path.to_path_buf(),
        source,
    };
    match Compression::from_path(path) {
        Compression::None => std::fs::read(path).map_err(read_error),
        Compression::Gzip => {
            let file = std::fs::File::open(path).map_err(read_error)?;
            let mut bytes = Vec::new();
            flate2::read::GzDecoder::new(file)
                .read_to_end(&mut bytes)
                .map_err(read_error)?;
            Ok(bytes)
        }
        compression @ (Compression::Xz | Compression::Zstd) => {
            Err(ModulesError::CompressedModinfo {
                path: path.to_path_buf(),
                compression: compression.name(),
            })
        }
    }
}

/// Fake modules for tests: real ELF relocatables made by `cc -c`, holding only a
/// `.modinfo` section, the way modpost lays it out.
#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) mod fake_modules {
    use std::path::Path;
    use std::process::Command;

    /// Writes `root/relative_path` (a `.ko`) with the given `key=value` fields.
    pub(crate) fn write_fake_module(root: &Path, relative_path: &str, fields: &[&str]) {
        let target = root.join(relative_path);
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        let source = target.with_extension("c");
        let mut text = String::new();
        for (index, field) in fields.iter().enumerate() {
            text.push_str(&format!(
                "static const char field{index}[] __attribute__((used, section(\".modinfo\"), aligned(1))) = \"{field}\";\n"
            ));
        }
        std::fs::write(&source, text).unwrap();
        let status = Command::new("cc")
            .args(["-c", "-o"])
            .arg(&target)
            .arg(&source)
            .status()
            .unwrap();
        assert!(status.success(), "cc failed for {relative_path}");
        std::fs::remove_file(&source).unwrap();
    }

    /// A small tree shaped like Debian's: no modules.dep, a modules.builtin.
    pub(crate) fn write_fake_tree(root: &Path) {
        write_fake_module(
            root,
            "kernel/drivers/md/md-mod.ko",
            &["license=GPL", "depends=", "name=md_mod"],
        );
        write_fake_module(
            root,
            "kernel/drivers/md/raid1.ko",
            &[
                "alias=md-personality-3",
                "alias=md-raid1",
                "depends=md-mod",
                "name=raid1",
            ],
        );
        write_fake_module(
            root,
            "kernel/drivers/block/virtio_blk.ko",
            &[
                "alias=virtio:d00000002v*",
                "depends=virtio",
                "name=virtio_blk",
            ],
        );
        write_fake_module(
            root,
            "kernel/drivers/virtio/virtio.ko",
            &["depends=", "name=virtio"],
        );
        write_fake_module(
            root,
            "kernel/fs/btrfs/btrfs.ko",
            &[
                "softdep=pre: crypto-crc32c",
                "alias=fs-btrfs",
                "depends=libcrc32c",
                "name=btrfs",
            ],
        );
        write_fake_module(
            root,
            "kernel/lib/libcrc32c.ko",
            &["depends=", "name=libcrc32c"],
        );
        write_fake_module(
            root,
            "kernel/arch/x86/crypto/crc32c-intel.ko",
            &["alias=crypto-crc32c", "depends=", "name=crc32c_intel"],
        );
        std::fs::write(root.join("modules.builtin"), "kernel/fs/ext4/ext4.ko\n").unwrap();
        std::fs::write(
            root.join("modules.builtin.modinfo"),
            b"ext4.alias=fs-ext4\0",
        )
        .unwrap();
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
