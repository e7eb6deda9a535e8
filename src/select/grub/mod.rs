//! Reading grub.cfg as `grub-mkconfig` writes it on Debian and Fedora, and the grubenv
//! block beside it.
//!
//! GRUB's configuration is a small shell language (GRUB manual, "Shell-like
//! scripting"). This is a parser for all of its syntax (words with single quotes,
//! double quotes, backslash escapes and line continuation, `$var`/`${var}`, `;` and
//! newlines, `{ }` blocks, `if/elif/else/fi`, `function`, `for`/`while`/`until`,
//! `menuentry` and `submenu`) and an evaluator for the part that decides the menu:
//! `set` and plain assignments, `if` on `[ ... ]`/`test` conditions it can decide
//! (string tests only), `menuentry`/`submenu`, `linux*`/`initrd*`,
//! `multiboot*`/`module*` (Xen, as Debian's `20_linux_xen` writes it), and `blscfg`.
//! Other boot loaders' commands (`chainloader`, `fwsetup`...) mark their entry as one
//! kboot cannot boot (it stays in the menu, with the reason). Every other command
//! (`search`, `insmod`, `load_video`, `load_env`, function calls...) is skipped, and an `if` whose condition it cannot decide (`loadfont`, file tests) is
//! skipped whole, so the rest of the file still gives its entries.
//!
//! The evaluator starts from the grubenv variables (as the generated `load_env` would
//! load them) minus `next_entry`: kboot cannot clear a one-shot entry without writing
//! the disk, so honouring it would boot that entry every time.
//!
//! The way through: `lexer` splits the text into words, `parser` builds statements,
//! `eval` runs them into a `menu`; `env` reads and writes the grubenv block.

mod env;
mod eval;
mod lexer;
mod menu;
mod parser;

pub(crate) use env::GrubEnv;
pub(crate) use eval::{read_menu, MAX_ENTRIES};
pub(crate) use menu::{flatten, resolve_default, GrubEntry, Menu, MenuItem};

use std::collections::BTreeMap;

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub(crate) enum GrubError {
    #[error("line {line}: quote opened here is never closed")]
    UnclosedQuote { line: usize },
    #[error("line {line}: `{what}` is never closed")]
    Unterminated { what: String, line: usize },
    #[error("line {line}: unexpected `{found}`")]
    Unexpected { found: String, line: usize },
    #[error("line {line}: blocks (`if`, `menuentry`, `submenu`, `function`, loops) nest deeper than {limit} levels; the file is corrupt or crafted")]
    TooDeep { line: usize, limit: usize },
    #[error("more than {limit} words; the file is corrupt or crafted")]
    TooManyWords { limit: usize },
    #[error("line {line}: a value grows past {limit} bytes (a variable that doubles itself?)")]
    ValueTooLong { line: usize, limit: usize },
    #[error("line {line}: evaluating the file copies more than {limit} bytes of variables and words; the file is corrupt or crafted")]
    TooMuchCopying { line: usize, limit: usize },
    #[error("line {line}: more than {limit} menu entries; this one and the rest are left out")]
    TooManyEntries { line: usize, limit: usize },
    #[error("not a GRUB environment block (it must start with `# GRUB Environment Block`)")]
    NotEnvBlock,
}

/// Variables, as GRUB's environment holds them.
pub(crate) type Vars = BTreeMap<String, String>;

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
