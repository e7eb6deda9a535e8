//! The menu a grub.cfg shows: entries, submenus and where `blscfg` puts the BLS
//! entries; finding the entry `set default=` names, and the bootable entries in order.

use super::{GrubError, Vars};
use crate::select::{Config, KernelKind, Source};

/// A `menuentry`. Entries kboot cannot boot (`chainloader`, `fwsetup`, no kernel at
/// all) stay in the menu, since GRUB counts them in `set default=N` and shows them,
/// and carry the reason in `cannot_boot`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GrubEntry {
    pub title: String,
    pub id: Option<String>,
    /// As written after expansion, possibly with a `(device)` prefix.
    pub kernel: Option<String>,
    /// `linux*` or `multiboot`/`multiboot2`: which command loaded the kernel.
    pub kind: KernelKind,
    /// The kernel command's arguments: the kernel command line.
    pub args: Vec<String>,
    pub initrds: Vec<String>,
    /// `module`/`module2` after a `multiboot`/`multiboot2`, in order.
    pub modules: Vec<GrubModule>,
    /// `Grub`, or `Bls` once collect has put BLS entries where `blscfg` stood.
    pub source: Source,
    /// Why kboot cannot boot it (no kernel; another loader's command).
    pub cannot_boot: Option<String>,
}

/// A `module`/`module2` line: the file (options such as `--nounzip` dropped) and
/// the words after it, which GRUB passes as the module's command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GrubModule {
    pub file: String,
    pub args: Vec<String>,
}

impl GrubEntry {
    pub(crate) fn cmdline(&self) -> String {
        self.args.join(" ")
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum MenuItem {
    Entry(GrubEntry),
    Submenu {
        title: String,
        id: Option<String>,
        items: Vec<MenuItem>,
    },
    /// `blscfg`: GRUB puts the BLS entries here. The variables are those at that point
    /// (for `$kernelopts` in the entries).
    Bls {
        vars: Vars,
    },
}

/// What a grub.cfg shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Menu {
    pub items: Vec<MenuItem>,
    pub config: Config,
    /// What was left out of an otherwise good file (menu entries past the limit).
    pub warnings: Vec<GrubError>,
}

impl Menu {
    pub(crate) fn has_blscfg(&self) -> bool {
        self.items.iter().any(|i| matches!(i, MenuItem::Bls { .. }))
    }
}

/// Where `set default=` points: the position path (`[1, 2]` for the third entry of
/// the second top-level item) of the first bootable entry it names. A step is a
/// position, a title or an id; a default naming a submenu means its first entry.
pub(crate) fn resolve_default(items: &[MenuItem], steps: &[String]) -> Option<Vec<usize>> {
    let (step, rest) = steps.split_first()?;
    let step = step.trim();
    let position = step.parse::<usize>().ok();
    let found = items.iter().enumerate().find(|(i, item)| {
        position == Some(*i)
            || match item {
                MenuItem::Entry(e) => e.title == step || e.id.as_deref() == Some(step),
                MenuItem::Submenu { title, id, .. } => title == step || id.as_deref() == Some(step),
                MenuItem::Bls { .. } => false,
            }
    })?;
    let (index, item) = found;
    match item {
        MenuItem::Entry(_) if rest.is_empty() => Some(vec![index]),
        MenuItem::Submenu { items, .. } => {
            let mut path = vec![index];
            if rest.is_empty() {
                path.extend(first_bootable(items)?);
            } else {
                path.extend(resolve_default(items, rest)?);
            }
            Some(path)
        }
        _ => None,
    }
}

fn first_bootable(items: &[MenuItem]) -> Option<Vec<usize>> {
    items.iter().enumerate().find_map(|(i, item)| match item {
        MenuItem::Entry(e) if e.cannot_boot.is_none() => Some(vec![i]),
        MenuItem::Submenu { items, .. } => first_bootable(items).map(|mut p| {
            p.insert(0, i);
            p
        }),
        _ => None,
    })
}

/// The entries in menu order (those kboot cannot boot too, marked), each with its
/// position path. Paths are built
/// top-down (one copy per entry, no shifting), so deep submenus cost their depth once
/// per entry; the evaluator has charged that.
pub(crate) fn flatten(items: &[MenuItem]) -> Vec<(Vec<usize>, &GrubEntry)> {
    let mut out = Vec::new();
    flatten_into(items, &mut Vec::new(), &mut out);
    out
}

fn flatten_into<'m>(
    items: &'m [MenuItem],
    prefix: &mut Vec<usize>,
    out: &mut Vec<(Vec<usize>, &'m GrubEntry)>,
) {
    for (i, item) in items.iter().enumerate() {
        prefix.push(i);
        match item {
            MenuItem::Entry(e) => out.push((prefix.clone(), e)),
            MenuItem::Submenu { items, .. } => flatten_into(items, prefix, out),
            _ => {}
        }
        prefix.pop();
    }
}
