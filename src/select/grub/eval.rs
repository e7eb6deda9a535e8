//! Running the statements the way GRUB would for the part that decides the menu:
//! variables (`set`, `unset`, assignments), `if` on conditions that can be decided
//! without a device, `menuentry`/`submenu`, `linux*`/`initrd*` and `blscfg`.

use super::lexer::{is_name_char, Part, Word};
use super::menu::{GrubEntry, Menu, MenuItem};
use super::parser::{parse, Stmt};
use super::{GrubError, Vars};
use crate::select::{Config, DefaultSpec, Source};

/// Variables GRUB itself sets that generated configs test (`feature_*` say which
/// features this GRUB has; every GRUB since 2.00 has these).
const GRUB_FEATURES: [(&str, &str); 5] = [
    ("feature_menuentry_id", "y"),
    ("feature_timeout_style", "y"),
    ("feature_all_video_module", "y"),
    ("feature_default_font_path", "y"),
    ("feature_platform_search_hint", "y"),
];

/// Parses and evaluates a grub.cfg, starting from `vars` (the grubenv's).
pub(crate) fn read_menu(text: &str, vars: Vars) -> Result<Menu, GrubError> {
    let stmts = parse(text)?;
    let mut vars = vars;
    for (k, v) in GRUB_FEATURES {
        vars.entry(k.to_string()).or_insert_with(|| v.to_string());
    }
    let mut sink = Sink::default();
    run(&stmts, &mut vars, &mut sink);
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
    })
}

/// What running a list of statements produced: menu items, and (inside a menuentry)
/// the kernel and initrds.
#[derive(Default)]
struct Sink {
    items: Vec<MenuItem>,
    kernel: Option<String>,
    args: Vec<String>,
    initrds: Vec<String>,
}

fn run(stmts: &[Stmt], vars: &mut Vars, sink: &mut Sink) {
    for stmt in stmts {
        match stmt {
            Stmt::Simple(words) => command(&expand(words, vars), vars, sink),
            Stmt::If { arms, otherwise } => {
                let mut chosen = otherwise.as_ref();
                for (cond, body) in arms {
                    match condition(cond, vars) {
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
                    run(body, vars, sink);
                }
            }
            Stmt::Menu {
                submenu,
                args,
                body,
            } => {
                let (title, id) = menu_title_and_id(&expand(args, vars));
                let mut inner_vars = vars.clone();
                let mut inner = Sink::default();
                run(body, &mut inner_vars, &mut inner);
                sink.items.push(if *submenu {
                    MenuItem::Submenu {
                        title,
                        id,
                        items: inner.items,
                    }
                } else {
                    MenuItem::Entry(GrubEntry {
                        title,
                        id,
                        kernel: inner.kernel,
                        args: inner.args,
                        initrds: inner.initrds,
                        source: Source::Grub,
                    })
                });
            }
            Stmt::NotRun => {}
        }
    }
}

fn command(fields: &[String], vars: &mut Vars, sink: &mut Sink) {
    let Some((name, args)) = fields.split_first() else {
        return;
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
                sink.args = rest.to_vec();
            }
        }
        "initrd" | "initrd16" | "initrdefi" => sink.initrds = args.to_vec(),
        "blscfg" => sink.items.push(MenuItem::Bls { vars: vars.clone() }),
        // `name=value` on its own is an assignment, as in sh.
        assignment if args.is_empty() => {
            if let Some((k, v)) = assignment.split_once('=') {
                if !k.is_empty() && k.chars().all(is_name_char) {
                    vars.insert(k.to_string(), v.to_string());
                }
            }
        }
        _ => {}
    }
}

/// Words to fields: quoted parts are kept whole; an unquoted variable is split on
/// whitespace, and a word that was only an empty unquoted variable disappears.
fn expand(words: &[Word], vars: &Vars) -> Vec<String> {
    let mut fields = Vec::new();
    for word in words {
        let mut current = String::new();
        let mut have = word.quoted;
        for part in &word.parts {
            match part {
                Part::Lit(s) => {
                    current.push_str(s);
                    have = true;
                }
                Part::Var { name, quoted } => {
                    let value = vars.get(name).map(String::as_str).unwrap_or("");
                    if *quoted {
                        current.push_str(value);
                        have = true;
                        continue;
                    }
                    let starts_with_space = value.starts_with(char::is_whitespace);
                    let mut pieces = value.split_whitespace().peekable();
                    if starts_with_space && have && pieces.peek().is_some() {
                        fields.push(std::mem::take(&mut current));
                        have = false;
                    }
                    while let Some(piece) = pieces.next() {
                        current.push_str(piece);
                        have = true;
                        if pieces.peek().is_some() {
                            fields.push(std::mem::take(&mut current));
                        }
                    }
                    if value.ends_with(char::is_whitespace) && have {
                        fields.push(std::mem::take(&mut current));
                        have = false;
                    }
                }
            }
        }
        if have {
            fields.push(current);
        }
    }
    fields
}

/// The exit status of an `if` condition, when it can be known without touching any
/// device: `[ ... ]`/`test` string tests, `true`, `false`.
fn condition(stmts: &[Stmt], vars: &Vars) -> Option<bool> {
    let [Stmt::Simple(words)] = stmts else {
        return None;
    };
    let fields = expand(words, vars);
    let (name, args) = fields.split_first()?;
    match name.as_str() {
        "true" => Some(true),
        "false" => Some(false),
        "[" => match args.split_last() {
            Some((last, inner)) if last == "]" => test(inner),
            _ => None,
        },
        "test" => test(args),
        _ => None,
    }
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

fn test_primary(args: &[&str]) -> Option<bool> {
    match args {
        ["!", rest @ ..] => test_primary(rest).map(|b| !b),
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
