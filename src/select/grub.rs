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
pub enum GrubError {
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
pub type Vars = BTreeMap<String, String>;

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
pub struct GrubEnv {
    /// In file order.
    pub vars: Vec<(String, String)>,
    /// The comment lines after the header (grub-editenv writes a warning).
    pub comments: Vec<String>,
}

impl GrubEnv {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The variables a generated grub.cfg's `load_env` would see, minus `next_entry`.
    pub fn boot_vars(&self) -> Vars {
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
pub struct GrubEntry {
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
    pub fn cmdline(&self) -> String {
        self.args.join(" ")
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MenuItem {
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
pub struct Menu {
    pub items: Vec<MenuItem>,
    pub config: Config,
}

impl Menu {
    pub fn has_blscfg(&self) -> bool {
        self.items.iter().any(|i| matches!(i, MenuItem::Bls { .. }))
    }
}

/// Parses and evaluates a grub.cfg, starting from `vars` (the grubenv's).
pub fn read_menu(text: &str, vars: Vars) -> Result<Menu, GrubError> {
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
pub fn resolve_default(items: &[MenuItem], steps: &[String]) -> Option<Vec<usize>> {
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
pub fn flatten(items: &[MenuItem]) -> Vec<(Vec<usize>, &GrubEntry)> {
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
mod tests {
    use super::*;

    const DEBIAN: &str = include_str!("../../tests/data/grub/debian-boot-on-root.cfg");
    const DEBIAN_SAVED: &str = include_str!("../../tests/data/grub/debian-saved-default.cfg");
    const DEBIAN_ENV: &str = include_str!("../../tests/data/grub/debian-grubenv");
    const ROOT_UUID: &str = "4b424f4f-0005-4000-8000-000000000001";

    /// Position path, title, kernel, command line, initrds.
    type Shown = (Vec<usize>, String, String, String, Vec<String>);

    fn entries(menu: &Menu) -> Vec<Shown> {
        flatten(&menu.items)
            .into_iter()
            .map(|(p, e)| {
                (
                    p,
                    e.title.clone(),
                    e.kernel.clone().unwrap(),
                    e.cmdline(),
                    e.initrds.clone(),
                )
            })
            .collect()
    }

    #[test]
    fn debian_generated_menu() {
        let menu = read_menu(DEBIAN, Vars::new()).unwrap();
        let root = format!("root=UUID={ROOT_UUID} ro");
        let e = |p: &[usize], t: &str, v: &str, extra: &str| {
            (
                p.to_vec(),
                t.to_string(),
                format!("/boot/vmlinuz-{v}"),
                format!("{root}{extra}"),
                vec![format!("/boot/initrd.img-{v}")],
            )
        };
        assert_eq!(
            entries(&menu),
            vec![
                e(&[0], "GNU/Linux", "6.1.0-13-amd64", ""),
                e(
                    &[1, 0],
                    "GNU/Linux, with Linux 6.1.0-13-amd64",
                    "6.1.0-13-amd64",
                    ""
                ),
                e(
                    &[1, 1],
                    "GNU/Linux, with Linux 6.1.0-13-amd64 (recovery mode)",
                    "6.1.0-13-amd64",
                    " single"
                ),
                e(
                    &[1, 2],
                    "GNU/Linux, with Linux 6.1.0-9-amd64",
                    "6.1.0-9-amd64",
                    ""
                ),
                e(
                    &[1, 3],
                    "GNU/Linux, with Linux 6.1.0-9-amd64 (recovery mode)",
                    "6.1.0-9-amd64",
                    " single"
                ),
            ]
        );
        let ids: Vec<Option<String>> = flatten(&menu.items)
            .iter()
            .map(|(_, e)| e.id.clone())
            .collect();
        assert_eq!(ids[0], Some(format!("gnulinux-simple-{ROOT_UUID}")));
        assert_eq!(
            ids[3],
            Some(format!("gnulinux-6.1.0-9-amd64-advanced-{ROOT_UUID}"))
        );
        // `set default="0"` is in the else branch of `if [ "${next_entry}" ]`.
        assert_eq!(
            menu.config.default,
            Some(DefaultSpec::Grub(vec!["0".into()]))
        );
        assert_eq!(menu.config.timeout_secs, Some(5));
        assert!(!menu.has_blscfg());
    }

    #[test]
    fn saved_default_comes_from_grubenv_and_next_entry_is_ignored() {
        let env: GrubEnv = DEBIAN_ENV.parse().unwrap();
        assert_eq!(env.get("next_entry"), Some("1"));
        let menu = read_menu(DEBIAN_SAVED, env.boot_vars()).unwrap();
        let Some(DefaultSpec::Grub(steps)) = &menu.config.default else {
            panic!("no default: {:?}", menu.config)
        };
        assert_eq!(
            steps,
            &[
                format!("gnulinux-advanced-{ROOT_UUID}"),
                format!("gnulinux-6.1.0-9-amd64-advanced-{ROOT_UUID}")
            ]
        );
        assert_eq!(resolve_default(&menu.items, steps), Some(vec![1, 2]));
        assert_eq!(menu.config.timeout_secs, Some(3));
        let first = &flatten(&menu.items)[0].1;
        assert_eq!(first.title, "Debian GNU/Linux");
        assert_eq!(
            first.cmdline(),
            format!("root=UUID={ROOT_UUID} ro console=ttyS0 console=tty0 quiet")
        );
        // Without a grubenv, saved_entry is empty and GRUB's default (0) applies.
        let bare = read_menu(DEBIAN_SAVED, Vars::new()).unwrap();
        assert_eq!(bare.config.default, None);
    }

    #[test]
    fn recordfail_in_grubenv_lengthens_the_timeout_as_grub_does() {
        let vars = Vars::from([("recordfail".to_string(), "1".to_string())]);
        assert_eq!(
            read_menu(DEBIAN, vars).unwrap().config.timeout_secs,
            Some(30)
        );
    }

    #[test]
    fn grubenv_round_trips_byte_for_byte() {
        let env: GrubEnv = DEBIAN_ENV.parse().unwrap();
        assert_eq!(env.to_string(), DEBIAN_ENV);
        assert_eq!(env.to_string().len(), 1024);
        assert_eq!(
            "saved_entry=0".parse::<GrubEnv>(),
            Err(GrubError::NotEnvBlock)
        );
    }

    #[test]
    fn default_by_position_title_id_and_submenu() {
        let menu = read_menu(DEBIAN, Vars::new()).unwrap();
        let steps = |s: &str| s.split('>').map(str::to_string).collect::<Vec<_>>();
        assert_eq!(
            resolve_default(&menu.items, &steps("1>2")),
            Some(vec![1, 2])
        );
        assert_eq!(resolve_default(&menu.items, &steps("1")), Some(vec![1, 0]));
        assert_eq!(
            resolve_default(
                &menu.items,
                &steps("Advanced options for GNU/Linux>GNU/Linux, with Linux 6.1.0-9-amd64")
            ),
            Some(vec![1, 2])
        );
        assert_eq!(resolve_default(&menu.items, &steps("7")), None);
        assert_eq!(resolve_default(&menu.items, &steps("1>9")), None);
    }

    #[test]
    fn quoting_expansion_and_continuation() {
        let cfg = "set v=\"a b\"\nset w=x\\\ny\n\
                   menuentry 'it'\\''s' \"$w\" {\n\
                   \tset extra=\"q=1\"\n\
                   \tlinux ($root)/k $v \"$v\" ${extra} '$v' \\$v x$undefined\\ y # c\n\
                   \tinitrd /a /b\n}\n";
        let menu = read_menu(cfg, Vars::new()).unwrap();
        let MenuItem::Entry(e) = &menu.items[0] else {
            panic!()
        };
        assert_eq!(e.title, "it's");
        assert_eq!(e.kernel.as_deref(), Some("()/k"));
        assert_eq!(e.args, ["a", "b", "a b", "q=1", "$v", "$v", "x y"]);
        assert_eq!(e.initrds, ["/a", "/b"]);
    }

    #[test]
    fn undecidable_ifs_functions_and_loops_are_skipped_and_entries_survive() {
        let cfg = "function f { menuentry inner { linux /no } }\n\
                   if loadfont unicode ; then set gfxmode=auto; menuentry hidden { linux /no }; fi\n\
                   for x in a b; do echo $x; done\n\
                   if [ -s $prefix/grubenv ]; then load_env; elif true; then set a=1; fi\n\
                   if [ \"${a}\" ]; then set a=2; elif [ x = x ]; then set b=3; else set b=4; fi\n\
                   menuentry \"t $b\" --id=ignored --class x { search --set=root --fs-uuid u; linux /vmlinuz }\n";
        let menu = read_menu(cfg, Vars::new()).unwrap();
        assert_eq!(menu.items.len(), 1);
        let MenuItem::Entry(e) = &menu.items[0] else {
            panic!()
        };
        assert_eq!(e.title, "t 3");
        assert_eq!(e.kernel.as_deref(), Some("/vmlinuz"));
    }

    #[test]
    fn test_expressions() {
        let t = |s: &str| test(&s.split(' ').map(str::to_string).collect::<Vec<_>>());
        assert_eq!(t("a = a -a b != c"), Some(true));
        assert_eq!(t("a = b -o ! x = y"), Some(true));
        assert_eq!(t("a = b -o -z x"), Some(false));
        assert_eq!(t("-n x -a -f /etc/passwd"), None);
        assert_eq!(t("-n"), Some(true));
    }

    /// Fedora's 12_menu_auto_hide: after a good boot (`boot_success=1` in grubenv) the
    /// menu is hidden with a 1 s timeout.
    #[test]
    fn fedora_menu_auto_hide_follows_grubenv() {
        let cfg = include_str!("../../tests/data/bls/fedora39/grub2/grub.cfg");
        let env: GrubEnv = include_str!("../../tests/data/bls/fedora39/grub2/grubenv")
            .parse()
            .unwrap();
        let menu = read_menu(cfg, env.boot_vars()).unwrap();
        assert_eq!(menu.config.timeout_secs, Some(5));
        assert!(menu.has_blscfg());
        let mut vars = env.boot_vars();
        vars.insert("boot_success".into(), "1".into());
        let menu = read_menu(cfg, vars).unwrap();
        assert_eq!(menu.config.timeout_secs, Some(1));
    }

    #[test]
    fn blscfg_marks_where_bls_entries_go() {
        let cfg = "if [ -z \"${kernelopts}\" ]; then\n  set kernelopts=\"root=/dev/x ro \"\nfi\ninsmod blscfg\nblscfg\n";
        let menu = read_menu(cfg, Vars::new()).unwrap();
        assert!(menu.has_blscfg());
        let MenuItem::Bls { vars } = &menu.items[0] else {
            panic!()
        };
        assert_eq!(vars.get("kernelopts").unwrap(), "root=/dev/x ro ");
    }

    #[test]
    fn syntax_errors_name_the_line() {
        assert_eq!(
            read_menu("set a=1\nmenuentry 'x {\n", Vars::new()),
            Err(GrubError::UnclosedQuote { line: 2 })
        );
        assert!(matches!(
            read_menu("menuentry x {\n linux /k\n", Vars::new()),
            Err(GrubError::Unterminated { .. })
        ));
        assert!(matches!(
            read_menu("if true; then\n", Vars::new()),
            Err(GrubError::Unterminated { .. })
        ));
        assert!(matches!(
            read_menu("}\n", Vars::new()),
            Err(GrubError::Unexpected { .. })
        ));
    }
}
