//! Running the statements the way GRUB would for the part that decides the menu:
//! variables (`set`, `unset`, assignments), `if` on conditions that can be decided
//! without a device, `menuentry`/`submenu`, `linux*`/`initrd*`,
//! `multiboot*`/`module*` and `blscfg`; other boot loaders' commands (`chainloader`)
//! are noted, so the entry is shown with the reason kboot cannot boot it.
//!
//! Nothing here loops or calls: `function` bodies and loops are never run (a function
//! that calls itself is a command kboot ignores), and a variable expands once (`$a`
//! inside `a`'s value stays text), so no recursion grows with the input beyond the
//! parser's nesting limit. What can grow is bounded: a value's length
//! ([`MAX_VALUE_BYTES`], `set a="${a}${a}"` doubles), the menu items
//! ([`MAX_ENTRIES`], the rest left out with a warning) and the bytes evaluation copies
//! ([`MAX_COPIED_BYTES`], variables copied into each entry and `blscfg`).

use super::lexer::{is_name_char, Part, Word};
use super::menu::{GrubEntry, GrubModule, Menu, MenuItem};
use super::parser::{parse, Stmt};
use super::{GrubError, Vars};
use crate::select::{Config, DefaultSpec, KernelKind, Source};

/// Variables GRUB itself sets that generated configs test (`feature_*` say which
/// features this GRUB has; every GRUB since 2.00 has these).
const GRUB_FEATURES: [(&str, &str); 5] = [
    ("feature_menuentry_id", "y"),
    ("feature_timeout_style", "y"),
    ("feature_all_video_module", "y"),
    ("feature_default_font_path", "y"),
    ("feature_platform_search_hint", "y"),
];

/// A value (one word after expansion) may not grow past this: GRUB's values are
/// command lines and names, and `set a="${a}${a}"` doubles without end.
pub(super) const MAX_VALUE_BYTES: usize = 64 * 1024;

/// Menu items (entries, submenus, `blscfg`s) in one file, counted through submenus;
/// the rest are left out with a warning.
pub(crate) const MAX_ENTRIES: usize = 10_000;

/// What evaluating one file may copy: the words expansion writes and the variables
/// each menu entry and `blscfg` copies. `grub-mkconfig`'s files copy well under a
/// megabyte; this bounds memory and time whatever a crafted file holds.
pub(super) const MAX_COPIED_BYTES: usize = 64 << 20;

/// A variable's bookkeeping beyond its bytes, charged when the variables are copied,
/// so many empty variables cost as well.
const VAR_OVERHEAD_BYTES: usize = 64;

/// Parses and evaluates a grub.cfg, starting from `vars` (the grubenv's).
pub(crate) fn read_menu(text: &str, vars: Vars) -> Result<Menu, GrubError> {
    let stmts = parse(text)?;
    let mut vars = vars;
    for (k, v) in GRUB_FEATURES {
        vars.entry(k.to_string()).or_insert_with(|| v.to_string());
    }
    let mut budget = Budget::default();
    let (vars, sink) = run(&stmts, vars, &mut budget)?;
    let default = vars
        .get("default")
        .filter(|d| !d.is_empty())
        .map(|d| DefaultSpec::Grub(d.split('>').map(str::to_string).collect()));
    let timeout_secs = vars.get("timeout").and_then(|t| t.trim().parse().ok());
    Ok(Menu {
        items: sink.items,
        config: Config {
            default,
            timeout_secs,
        },
        warnings: budget
            .cut_at_line
            .map(|line| GrubError::TooManyEntries {
                line,
                limit: MAX_ENTRIES,
            })
            .into_iter()
            .collect(),
    })
}

/// What evaluating the file has cost so far (see the limits above).
#[derive(Default)]
struct Budget {
    copied_bytes: usize,
    items: usize,
    /// Submenus and menu entries open around the statement being run.
    menu_depth: usize,
    /// Where the first menu item past `MAX_ENTRIES` stands.
    cut_at_line: Option<usize>,
}

impl Budget {
    /// Charges `bytes` copied on `line`.
    fn copy(&mut self, bytes: usize, line: usize) -> Result<(), GrubError> {
        self.copied_bytes = self.copied_bytes.saturating_add(bytes);
        if self.copied_bytes > MAX_COPIED_BYTES {
            return Err(GrubError::TooMuchCopying {
                line,
                limit: MAX_COPIED_BYTES,
            });
        }
        Ok(())
    }

    /// Charges a copy of all the variables.
    fn copy_vars(&mut self, vars: &Vars, line: usize) -> Result<(), GrubError> {
        let bytes = vars
            .iter()
            .map(|(k, v)| k.len() + v.len() + VAR_OVERHEAD_BYTES)
            .fold(0usize, usize::saturating_add);
        self.copy(bytes, line)
    }

    /// Whether one more menu item on `line` fits. Its position path (one number per
    /// submenu around it, which `flatten` writes out) is charged as copied.
    fn room_for_item(&mut self, line: usize) -> Result<bool, GrubError> {
        if self.items >= MAX_ENTRIES {
            self.cut_at_line.get_or_insert(line);
            return Ok(false);
        }
        self.items += 1;
        self.copy((self.menu_depth + 1) * std::mem::size_of::<usize>(), line)?;
        Ok(true)
    }
}

/// GRUB's options before the file of `multiboot`/`multiboot2` (`--quirk-*`) and of
/// `module`/`module2` (`--nounzip`), as the GRUB manual lists them; they say how GRUB
/// loads the file, which kboot's loader decides for itself.
fn is_load_option(word: &str) -> bool {
    word == "--nounzip" || word.starts_with("--quirk-")
}

/// Commands that boot something kboot cannot, and what that is (the reason an entry
/// holding one is marked).
const OTHER_LOADERS: [(&str, &str); 10] = [
    ("chainloader", "another boot loader"),
    ("ntldr", "the Windows boot loader"),
    ("appleloader", "the Apple firmware's boot loader"),
    ("kfreebsd", "a FreeBSD kernel"),
    ("knetbsd", "a NetBSD kernel"),
    ("kopenbsd", "an OpenBSD kernel"),
    ("xen_hypervisor", "Xen on Arm"),
    ("fwsetup", "the firmware's setup screen"),
    ("legacy_kernel", "a GRUB Legacy entry"),
    ("truecrypt", "a TrueCrypt image"),
];

/// What running a list of statements produced: menu items, and (inside a menuentry)
/// the kernel, initrds and modules.
#[derive(Default)]
struct Sink {
    items: Vec<MenuItem>,
    kernel: Option<String>,
    kind: KernelKind,
    args: Vec<String>,
    initrds: Vec<String>,
    modules: Vec<GrubModule>,
    /// The first command of `OTHER_LOADERS` run, with what it boots.
    other_loader: Option<(&'static str, &'static str)>,
}

impl Sink {
    /// The menu entry this body made.
    fn into_entry(self, title: String, id: Option<String>) -> GrubEntry {
        let cannot_boot = match (&self.kernel, self.other_loader) {
            (Some(_), _) => None,
            (None, Some((command, what))) => Some(format!("{command} ({what})")),
            (None, None) => Some("no linux or multiboot command".to_string()),
        };
        GrubEntry {
            title,
            id,
            kernel: self.kernel,
            kind: self.kind,
            args: self.args,
            initrds: self.initrds,
            modules: self.modules,
            source: Source::Grub,
            cannot_boot,
        }
    }
}

/// A menu body being run: its own copy of the variables, what it has produced,
/// and the statement lists still to run (the body, and the `if` bodies chosen in it).
struct Scope<'s> {
    vars: Vars,
    sink: Sink,
    /// The `menuentry`/`submenu` whose body this is (`None`: the file itself).
    menu: Option<MenuHead>,
    work: Vec<std::slice::Iter<'s, Stmt>>,
}

/// What becomes of a menu body once it has run.
struct MenuHead {
    submenu: bool,
    title: String,
    id: Option<String>,
}

/// Runs the file's statements, returning its variables and menu items. The blocks
/// open around the running statement are kept on a stack of our own, not the call
/// stack. Each statement runs at most once (loops and functions never run), so the
/// budget's charges bound the whole evaluation.
fn run(stmts: &[Stmt], vars: Vars, budget: &mut Budget) -> Result<(Vars, Sink), GrubError> {
    let mut scopes = vec![Scope {
        vars,
        sink: Sink::default(),
        menu: None,
        work: vec![stmts.iter()],
    }];
    loop {
        let menu_depth = scopes.len().saturating_sub(1);
        let Some(scope) = scopes.last_mut() else {
            // The file's scope is returned below, never popped here.
            return Ok((Vars::new(), Sink::default()));
        };
        let Some(list) = scope.work.last_mut() else {
            // The body has run: its item goes to the enclosing scope.
            let Some(done) = scopes.pop() else { continue };
            let Some(head) = done.menu else {
                return Ok((done.vars, done.sink));
            };
            let item = if head.submenu {
                MenuItem::Submenu {
                    title: head.title,
                    id: head.id,
                    items: done.sink.items,
                }
            } else {
                MenuItem::Entry(done.sink.into_entry(head.title, head.id))
            };
            if let Some(parent) = scopes.last_mut() {
                parent.sink.items.push(item);
            }
            continue;
        };
        let Some(stmt) = list.next() else {
            scope.work.pop();
            continue;
        };
        match stmt {
            Stmt::Simple(words) => {
                let fields = expand(words, &scope.vars, budget)?;
                let line = words.first().map_or(0, |w| w.line);
                command(&fields, line, &mut scope.vars, &mut scope.sink, budget)?;
            }
            Stmt::If { arms, otherwise } => {
                let mut chosen = otherwise.as_ref();
                for (cond, body) in arms {
                    match condition(cond, &scope.vars, budget)? {
                        Some(true) => {
                            chosen = Some(body);
                            break;
                        }
                        Some(false) => {}
                        // Undecidable: GRUB might take any branch; take none.
                        None => {
                            chosen = None;
                            break;
                        }
                    }
                }
                if let Some(body) = chosen {
                    scope.work.push(body.iter());
                }
            }
            Stmt::Menu {
                submenu,
                args,
                body,
                line,
            } => {
                budget.menu_depth = menu_depth;
                if !budget.room_for_item(*line)? {
                    continue;
                }
                let (title, id) = menu_title_and_id(&expand(args, &scope.vars, budget)?);
                budget.copy_vars(&scope.vars, *line)?;
                let vars = scope.vars.clone();
                scopes.push(Scope {
                    vars,
                    sink: Sink::default(),
                    menu: Some(MenuHead {
                        submenu: *submenu,
                        title,
                        id,
                    }),
                    work: vec![body.iter()],
                });
            }
            Stmt::NotRun => {}
        }
    }
}

fn command(
    fields: &[String],
    line: usize,
    vars: &mut Vars,
    sink: &mut Sink,
    budget: &mut Budget,
) -> Result<(), GrubError> {
    let Some((name, args)) = fields.split_first() else {
        return Ok(());
    };
    match name.as_str() {
        "set" => {
            for arg in args {
                if let Some((k, v)) = arg.split_once('=') {
                    vars.insert(k.to_string(), v.to_string());
                }
            }
        }
        "unset" => {
            for arg in args {
                vars.remove(arg);
            }
        }
        "linux" | "linux16" | "linuxefi" => {
            if let Some((kernel, rest)) = args.split_first() {
                sink.kernel = Some(kernel.clone());
                sink.kind = KernelKind::Linux;
                sink.args = rest.to_vec();
                sink.modules.clear();
            }
        }
        // A new kernel drops the modules loaded so far, as GRUB's loader does.
        "multiboot" | "multiboot2" => {
            let args: Vec<&String> = args.iter().skip_while(|a| is_load_option(a)).collect();
            if let Some((kernel, rest)) = args.split_first() {
                sink.kernel = Some((*kernel).clone());
                sink.kind = if name == "multiboot" {
                    KernelKind::Multiboot
                } else {
                    KernelKind::Multiboot2
                };
                sink.args = rest.iter().map(|a| (*a).clone()).collect();
                sink.modules.clear();
            }
        }
        // GRUB refuses a module before a multiboot kernel is loaded.
        "module" | "module2" if !sink.kind.is_linux() => {
            let args: Vec<&String> = args.iter().skip_while(|a| is_load_option(a)).collect();
            if let Some((file, rest)) = args.split_first() {
                sink.modules.push(GrubModule {
                    file: (*file).clone(),
                    args: rest.iter().map(|a| (*a).clone()).collect(),
                });
            }
        }
        "initrd" | "initrd16" | "initrdefi" => sink.initrds = args.to_vec(),
        "blscfg" => blscfg(vars, line, sink, budget)?,
        other if sink.other_loader.is_none() => {
            sink.other_loader = OTHER_LOADERS.iter().copied().find(|(c, _)| *c == other);
            assign(other, args, vars);
        }
        other => assign(other, args, vars),
    }
    Ok(())
}

/// `name=value` on its own is an assignment, as in sh.
fn assign(word: &str, args: &[String], vars: &mut Vars) {
    if !args.is_empty() {
        return;
    }
    if let Some((k, v)) = word.split_once('=') {
        if !k.is_empty() && k.chars().all(is_name_char) {
            vars.insert(k.to_string(), v.to_string());
        }
    }
}

/// `blscfg`: the BLS entries go here, with a copy of the variables at this point.
fn blscfg(vars: &Vars, line: usize, sink: &mut Sink, budget: &mut Budget) -> Result<(), GrubError> {
    if budget.room_for_item(line)? {
        budget.copy_vars(vars, line)?;
        sink.items.push(MenuItem::Bls { vars: vars.clone() });
    }
    Ok(())
}

/// Words to fields: quoted parts are kept whole; an unquoted variable is split on
/// whitespace, and a word that was only an empty unquoted variable disappears. No
/// field grows past `MAX_VALUE_BYTES`, and every byte written is charged.
fn expand(words: &[Word], vars: &Vars, budget: &mut Budget) -> Result<Vec<String>, GrubError> {
    let mut fields = Vec::new();
    for word in words {
        let mut out = Fields {
            fields: &mut fields,
            current: String::new(),
            line: word.line,
        };
        let mut have = word.quoted;
        for part in &word.parts {
            match part {
                Part::Lit(s) => {
                    out.push_str(s, budget)?;
                    have = true;
                }
                Part::Var { name, quoted } => {
                    let value = vars.get(name).map(String::as_str).unwrap_or("");
                    if *quoted {
                        out.push_str(value, budget)?;
                        have = true;
                        continue;
                    }
                    let starts_with_space = value.starts_with(char::is_whitespace);
                    let mut pieces = value.split_whitespace().peekable();
                    if starts_with_space && have && pieces.peek().is_some() {
                        out.end_field();
                        have = false;
                    }
                    while let Some(piece) = pieces.next() {
                        out.push_str(piece, budget)?;
                        have = true;
                        if pieces.peek().is_some() {
                            out.end_field();
                        }
                    }
                    if value.ends_with(char::is_whitespace) && have {
                        out.end_field();
                        have = false;
                    }
                }
            }
        }
        if have {
            out.end_field();
        }
    }
    Ok(fields)
}

/// The fields expansion writes, and the one being written.
struct Fields<'a> {
    fields: &'a mut Vec<String>,
    current: String,
    /// Of the word being expanded, for errors.
    line: usize,
}

impl Fields<'_> {
    fn push_str(&mut self, s: &str, budget: &mut Budget) -> Result<(), GrubError> {
        if self.current.len() + s.len() > MAX_VALUE_BYTES {
            return Err(GrubError::ValueTooLong {
                line: self.line,
                limit: MAX_VALUE_BYTES,
            });
        }
        budget.copy(s.len(), self.line)?;
        self.current.push_str(s);
        Ok(())
    }

    fn end_field(&mut self) {
        self.fields.push(std::mem::take(&mut self.current));
    }
}

/// The exit status of an `if` condition, when it can be known without touching any
/// device: `[ ... ]`/`test` string tests, `true`, `false`.
fn condition(stmts: &[Stmt], vars: &Vars, budget: &mut Budget) -> Result<Option<bool>, GrubError> {
    let [Stmt::Simple(words)] = stmts else {
        return Ok(None);
    };
    let fields = expand(words, vars, budget)?;
    let Some((name, args)) = fields.split_first() else {
        return Ok(None);
    };
    Ok(match name.as_str() {
        "true" => Some(true),
        "false" => Some(false),
        "[" => match args.split_last() {
            Some((last, inner)) if last == "]" => test(inner),
            _ => None,
        },
        "test" => test(args),
        _ => None,
    })
}

/// `test`'s expression: `-o` binds loosest, then `-a`, then `!`. Any part it cannot
/// decide (file tests) makes the whole undecidable.
fn test(args: &[String]) -> Option<bool> {
    let strs: Vec<&str> = args.iter().map(String::as_str).collect();
    test_or(&strs)
}

fn test_or(args: &[&str]) -> Option<bool> {
    let mut result = false;
    for part in args.split(|a| *a == "-o") {
        result |= test_and(part)?;
    }
    Some(result)
}

fn test_and(args: &[&str]) -> Option<bool> {
    let mut result = true;
    for part in args.split(|a| *a == "-a") {
        result &= test_primary(part)?;
    }
    Some(result)
}

/// Leading `!`s are counted, not recursed into: a line of them must not overflow
/// the stack.
fn test_primary(args: &[&str]) -> Option<bool> {
    let negations = args.iter().take_while(|a| **a == "!").count();
    let result = test_operand(&args[negations..])?;
    Some(result ^ (negations % 2 == 1))
}

fn test_operand(args: &[&str]) -> Option<bool> {
    match args {
        [] => Some(false),
        ["-n", s] => Some(!s.is_empty()),
        ["-z", s] => Some(s.is_empty()),
        [a, "=" | "==", b] => Some(a == b),
        [a, "!=", b] => Some(a != b),
        // One argument: true when it is not empty, even `-n` (POSIX).
        [s] => Some(!s.is_empty()),
        _ => None,
    }
}

/// `menuentry TITLE [--class C]... [--users U] [--hotkey K] [--id ID]
/// [--unrestricted] ...`: the first word that is not an option is the title.
fn menu_title_and_id(fields: &[String]) -> (String, Option<String>) {
    let mut title = None;
    let mut id = None;
    let mut it = fields.iter();
    while let Some(f) = it.next() {
        match f.as_str() {
            "--class" | "--users" | "--hotkey" => {
                it.next();
            }
            "--id" => id = it.next().cloned(),
            opt if opt.starts_with("--") => {}
            _ if title.is_none() => title = Some(f.clone()),
            _ => {}
        }
    }
    (title.unwrap_or_default(), id)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
