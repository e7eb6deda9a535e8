//! Every module of one `lib/modules/VERSION` tree (from depmod's tables, or from the
//! modules' own `.modinfo` when depmod has not run), with aliases and builtins, and
//! resolving requested names into a load order: dependencies first, each module once.
//! Also writes the tables back for just the modules an initramfs carries.
//!
//! Everything here is pure except [`ModuleIndex::load`], which only reads files.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::file::{module_name_from_path, read_module_bytes};
use super::modinfo::read_modinfo;
use super::tables::{
    parse_builtin_modinfo_aliases, parse_modules_alias, parse_modules_builtin, parse_modules_dep,
    parse_modules_softdep, AliasLine, DepLine, Softdep, SoftdepLine,
};
use super::{normalize_name, ModulesError};
use crate::fnmatch::fnmatch;

/// One module that has to be loaded: its normalised name and its file, relative to the
/// `lib/modules/VERSION` directory of the index that resolved it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ModulePath {
    pub name: String,
    pub relative_path: PathBuf,
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
