//! Reading grub.cfg as `grub-mkconfig` writes it on Debian and Fedora, and the grubenv
//! block beside it.
//!
//! GRUB's configuration is a small shell language (GRUB manual, "Shell-like
//! scripting"). This is a parser for all of its syntax (words with single quotes,
//! double quotes, backslash escapes and line continuation, `$var`/`${var}`, `;` and
//! newlines, `{ }` blocks, `if/elif/else/fi`, `function`, `for`/`while`/`until`,
//! `menuentry` and `submenu`) and an evaluator for the part that decides the menu:
//! `set` and plain assignments, `if` on `[ ... ]`/`test` conditions it can decide
//! (string tests only), `menuentry`/`submenu`, `linux*`/`initrd*`, and `blscfg`. Every
//! other command (`search`, `insmod`, `load_video`, `load_env`, function calls...) is
//! skipped, and an `if` whose condition it cannot decide (`loadfont`, file tests) is
//! skipped whole, so the rest of the file still gives its entries.
//!
//! The evaluator starts from the grubenv variables (as the generated `load_env` would
//! load them) minus `next_entry`: kboot cannot clear a one-shot entry without writing
//! the disk, so honouring it would boot that entry every time.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use super::{Config, DefaultSpec, Source};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum GrubError {
    #[error("line {line}: quote opened here is never closed")]
    UnclosedQuote { line: usize },
    #[error("line {line}: `{what}` is never closed")]
    Unterminated { what: String, line: usize },
    #[error("line {line}: unexpected `{found}`")]
    Unexpected { found: String, line: usize },
    #[error("not a GRUB environment block (it must start with `# GRUB Environment Block`)")]
    NotEnvBlock,
}

/// Variables, as GRUB's environment holds them.
pub(crate) type Vars = BTreeMap<String, String>;

/// Variables GRUB itself sets that generated configs test (`feature_*` say which
/// features this GRUB has; every GRUB since 2.00 has these).
const GRUB_FEATURES: [(&str, &str); 5] = [
    ("feature_menuentry_id", "y"),
    ("feature_timeout_style", "y"),
    ("feature_all_video_module", "y"),
    ("feature_default_font_path", "y"),
    ("feature_platform_search_hint", "y"),
];

// ---------------------------------------------------------------------------------
// grubenv

const ENV_HEADER: &str = "# GRUB Environment Block\n";
/// grub-editenv pads the block with `#` to this size.
const ENV_BLOCK_BYTES: usize = 1024;

/// `/boot/grub/grubenv`: `key=value` lines after a header, padded with `#`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct GrubEnv {
    /// In file order.
    pub vars: Vec<(String, String)>,
    /// The comment lines after the header (grub-editenv writes a warning).
    pub comments: Vec<String>,
}

impl GrubEnv {
    #[cfg(test)]
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.vars
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The variables a generated grub.cfg's `load_env` would see, minus `next_entry`.
    pub(crate) fn boot_vars(&self) -> Vars {
        self.vars
            .iter()
            .filter(|(k, _)| k != "next_entry")
            .cloned()
            .collect()
    }
}

impl FromStr for GrubEnv {
    type Err = GrubError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let body = text
            .strip_prefix(ENV_HEADER)
            .ok_or(GrubError::NotEnvBlock)?;
        let mut env = GrubEnv::default();
        for line in body.split('\n') {
            if line.starts_with('#') {
                if !line.trim_end_matches('#').is_empty() {
                    env.comments.push(line.to_string());
                }
                continue;
            }
            if let Some((key, value)) = line.split_once('=') {
                env.vars.push((key.to_string(), unescape_env(value)));
            }
        }
        Ok(env)
    }
}

/// grub-editenv writes `\` and newline in values as `\\` and `\` + newline.
fn unescape_env(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.extend(chars.next()),
            c => out.push(c),
        }
    }
    out
}

impl fmt::Display for GrubEnv {
    /// The block as grub-editenv writes it, padded to 1024 bytes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut text = String::from(ENV_HEADER);
        for c in &self.comments {
            text.push_str(c);
            text.push('\n');
        }
        for (k, v) in &self.vars {
            text.push_str(k);
            text.push('=');
            text.push_str(&v.replace('\\', "\\\\").replace('\n', "\\\n"));
            text.push('\n');
        }
        let padding = ENV_BLOCK_BYTES.saturating_sub(text.len());
        text.extend(std::iter::repeat_n('#', padding));
        f.write_str(&text)
    }
}

// ---------------------------------------------------------------------------------
// Lexer

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Lit(String),
    Var { name: String, quoted: bool },
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Word {
    parts: Vec<Part>,
    /// Some of it was quoted or escaped (`''` is a word; `if` quoted is no keyword).
    quoted: bool,
    line: usize,
}

impl Word {
    /// The word's text when it is a bare unquoted literal (keywords, braces).
    fn bare(&self) -> Option<&str> {
        match self.parts.as_slice() {
            [Part::Lit(s)] if !self.quoted => Some(s),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Word(Word),
    /// Newline or `;`.
    Sep,
    Open(usize),
    Close(usize),
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

struct Lexer<'a> {
    chars: std::iter::Peekable<std::str::Chars<'a>>,
    line: usize,
}

impl Lexer<'_> {
    fn tokens(text: &str) -> Result<Vec<Token>, GrubError> {
        let mut lx = Lexer {
            chars: text.chars().peekable(),
            line: 1,
        };
        let mut out = Vec::new();
        loop {
            match lx.chars.peek().copied() {
                None => return Ok(out),
                Some(' ' | '\t' | '\r') => {
                    lx.chars.next();
                }
                Some('\n') => {
                    lx.chars.next();
                    lx.line += 1;
                    out.push(Token::Sep);
                }
                Some(';') => {
                    lx.chars.next();
                    out.push(Token::Sep);
                }
                Some('#') => {
                    while lx.chars.peek().is_some_and(|c| *c != '\n') {
                        lx.chars.next();
                    }
                }
                Some(_) => {
                    if let Some(word) = lx.word()? {
                        out.push(match word.bare() {
                            Some("{") => Token::Open(word.line),
                            Some("}") => Token::Close(word.line),
                            _ => Token::Word(word),
                        });
                    }
                }
            }
        }
    }

    /// One word; `None` when it was only a line continuation.
    fn word(&mut self) -> Result<Option<Word>, GrubError> {
        let line = self.line;
        let mut parts: Vec<Part> = Vec::new();
        let mut quoted = false;
        let mut lit = String::new();
        let mut started = false;
        while let Some(c) = self.chars.peek().copied() {
            match c {
                ' ' | '\t' | '\r' | '\n' | ';' => break,
                '\'' => {
                    self.chars.next();
                    quoted = true;
                    started = true;
                    loop {
                        match self.chars.next() {
                            None => return Err(GrubError::UnclosedQuote { line }),
                            Some('\'') => break,
                            Some(c) => {
                                if c == '\n' {
                                    self.line += 1;
                                }
                                lit.push(c);
                            }
                        }
                    }
                }
                '"' => {
                    self.chars.next();
                    quoted = true;
                    started = true;
                    loop {
                        match self.chars.next() {
                            None => return Err(GrubError::UnclosedQuote { line }),
                            Some('"') => break,
                            Some('\\') => match self.chars.next() {
                                Some('\n') => self.line += 1,
                                Some(c @ ('$' | '"' | '\\')) => lit.push(c),
                                Some(c) => {
                                    lit.push('\\');
                                    lit.push(c);
                                }
                                None => return Err(GrubError::UnclosedQuote { line }),
                            },
                            Some('$') => self.variable(&mut parts, &mut lit, true),
                            Some(c) => {
                                if c == '\n' {
                                    self.line += 1;
                                }
                                lit.push(c);
                            }
                        }
                    }
                }
                '\\' => {
                    self.chars.next();
                    match self.chars.next() {
                        Some('\n') => self.line += 1,
                        Some(c) => {
                            quoted = true;
                            started = true;
                            lit.push(c);
                        }
                        None => {}
                    }
                }
                '$' => {
                    self.chars.next();
                    started = true;
                    self.variable(&mut parts, &mut lit, false);
                }
                c => {
                    self.chars.next();
                    started = true;
                    lit.push(c);
                }
            }
        }
        if !lit.is_empty() {
            parts.push(Part::Lit(lit));
        }
        Ok(started.then_some(Word {
            parts,
            quoted,
            line,
        }))
    }

    /// After a `$`: `${name}`, `$name`, `$1`, `$?`; a lone `$` is literal.
    fn variable(&mut self, parts: &mut Vec<Part>, lit: &mut String, quoted: bool) {
        let mut name = String::new();
        if self.chars.peek() == Some(&'{') {
            self.chars.next();
            for c in self.chars.by_ref() {
                if c == '}' {
                    break;
                }
                name.push(c);
            }
        } else if self
            .chars
            .peek()
            .is_some_and(|c| matches!(c, '?' | '#' | '@' | '*'))
        {
            name.extend(self.chars.next());
        } else {
            while let Some(c) = self.chars.peek().copied().filter(|c| is_name_char(*c)) {
                self.chars.next();
                name.push(c);
            }
        }
        if name.is_empty() {
            lit.push('$');
            return;
        }
        if !lit.is_empty() {
            parts.push(Part::Lit(std::mem::take(lit)));
        }
        parts.push(Part::Var { name, quoted });
    }
}

// ---------------------------------------------------------------------------------
// Parser

#[derive(Debug, Clone, PartialEq, Eq)]
enum Stmt {
    Simple(Vec<Word>),
    If {
        arms: Vec<(Vec<Stmt>, Vec<Stmt>)>,
        otherwise: Option<Vec<Stmt>>,
    },
    Menu {
        submenu: bool,
        args: Vec<Word>,
        body: Vec<Stmt>,
    },
    /// `function NAME { ... }`, and loops: parsed, never run.
    NotRun,
}

/// How a list of statements ended.
enum End {
    Keyword(String),
    Close,
    Eof,
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn line(&self) -> usize {
        self.tokens[..self.pos.min(self.tokens.len())]
            .iter()
            .rev()
            .find_map(|t| match t {
                Token::Word(w) => Some(w.line),
                Token::Open(l) | Token::Close(l) => Some(*l),
                Token::Sep => None,
            })
            .unwrap_or(1)
    }

    /// Statements up to one of `ends` (a keyword at the start of a command), a `}`
    /// when `in_braces`, or the end of the text when neither is expected.
    fn list(
        &mut self,
        ends: &[&str],
        in_braces: bool,
        what: &str,
    ) -> Result<(Vec<Stmt>, End), GrubError> {
        let mut stmts = Vec::new();
        let start_line = self.line();
        loop {
            let Some(token) = self.peek().cloned() else {
                if ends.is_empty() && !in_braces {
                    return Ok((stmts, End::Eof));
                }
                return Err(GrubError::Unterminated {
                    what: what.to_string(),
                    line: start_line,
                });
            };
            match token {
                Token::Sep => self.pos += 1,
                Token::Close(line) => {
                    self.pos += 1;
                    if in_braces {
                        return Ok((stmts, End::Close));
                    }
                    return Err(GrubError::Unexpected {
                        found: "}".into(),
                        line,
                    });
                }
                Token::Open(line) => {
                    return Err(GrubError::Unexpected {
                        found: "{".into(),
                        line,
                    })
                }
                Token::Word(word) => {
                    let keyword = word.bare().map(str::to_string);
                    if let Some(k) = keyword.as_deref().filter(|k| ends.contains(k)) {
                        self.pos += 1;
                        return Ok((stmts, End::Keyword(k.to_string())));
                    }
                    stmts.push(match keyword.as_deref() {
                        Some("if") => self.if_stmt()?,
                        Some("function") => self.function()?,
                        Some(k @ ("menuentry" | "submenu")) => self.menu(k == "submenu")?,
                        Some("for" | "while" | "until") => self.loop_stmt()?,
                        _ => Stmt::Simple(self.simple()),
                    });
                }
            }
        }
    }

    fn simple(&mut self) -> Vec<Word> {
        let mut words = Vec::new();
        while let Some(Token::Word(w)) = self.peek() {
            words.push(w.clone());
            self.pos += 1;
        }
        words
    }

    fn if_stmt(&mut self) -> Result<Stmt, GrubError> {
        self.pos += 1;
        let mut arms = Vec::new();
        let mut otherwise = None;
        loop {
            let (cond, _) = self.list(&["then"], false, "if")?;
            let (body, end) = self.list(&["elif", "else", "fi"], false, "if")?;
            arms.push((cond, body));
            match end {
                End::Keyword(k) if k == "elif" => continue,
                End::Keyword(k) if k == "else" => {
                    otherwise = Some(self.list(&["fi"], false, "if")?.0);
                    break;
                }
                _ => break,
            }
        }
        Ok(Stmt::If { arms, otherwise })
    }

    /// After the words of a `function`/`menuentry` line, the `{`.
    fn open_brace(&mut self, what: &str) -> Result<(), GrubError> {
        match self.peek() {
            Some(Token::Open(_)) => {
                self.pos += 1;
                Ok(())
            }
            _ => Err(GrubError::Unterminated {
                what: what.to_string(),
                line: self.line(),
            }),
        }
    }

    fn function(&mut self) -> Result<Stmt, GrubError> {
        self.pos += 1;
        self.simple();
        self.open_brace("function")?;
        self.list(&[], true, "function")?;
        Ok(Stmt::NotRun)
    }

    fn menu(&mut self, submenu: bool) -> Result<Stmt, GrubError> {
        let what = if submenu { "submenu" } else { "menuentry" };
        self.pos += 1;
        let args = self.simple();
        self.open_brace(what)?;
        let (body, _) = self.list(&[], true, what)?;
        Ok(Stmt::Menu {
            submenu,
            args,
            body,
        })
    }

    fn loop_stmt(&mut self) -> Result<Stmt, GrubError> {
        self.pos += 1;
        self.list(&["do"], false, "loop")?;
        self.list(&["done"], false, "loop")?;
        Ok(Stmt::NotRun)
    }
}

fn parse(text: &str) -> Result<Vec<Stmt>, GrubError> {
    let mut parser = Parser {
        tokens: Lexer::tokens(text)?,
        pos: 0,
    };
    Ok(parser.list(&[], false, "")?.0)
}

// ---------------------------------------------------------------------------------
// Evaluation

/// A `menuentry`. Entries without a `linux` command (`fwsetup`, `chainloader`) stay
/// in the menu, since GRUB counts them in `set default=N`, but give no boot entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GrubEntry {
    pub title: String,
    pub id: Option<String>,
    /// As written after expansion, possibly with a `(device)` prefix.
    pub kernel: Option<String>,
    /// The `linux` command's arguments: the kernel command line.
    pub args: Vec<String>,
    pub initrds: Vec<String>,
    /// `Grub`, or `Bls` once collect has put BLS entries where `blscfg` stood.
    pub source: Source,
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
}

impl Menu {
    pub(crate) fn has_blscfg(&self) -> bool {
        self.items.iter().any(|i| matches!(i, MenuItem::Bls { .. }))
    }
}

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
        MenuItem::Entry(e) if e.kernel.is_some() => Some(vec![i]),
        MenuItem::Submenu { items, .. } => first_bootable(items).map(|mut p| {
            p.insert(0, i);
            p
        }),
        _ => None,
    })
}

/// The bootable entries in menu order, each with its position path.
pub(crate) fn flatten(items: &[MenuItem]) -> Vec<(Vec<usize>, &GrubEntry)> {
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        match item {
            MenuItem::Entry(e) if e.kernel.is_some() => out.push((vec![i], e)),
            MenuItem::Submenu { items, .. } => {
                for (mut path, e) in flatten(items) {
                    path.insert(0, i);
                    out.push((path, e));
                }
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
