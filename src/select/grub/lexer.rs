//! Splitting grub.cfg into words, separators and braces: quoting, backslash escapes,
//! line continuation and `$var`/`${var}` references, with the line each word is on.

use super::GrubError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Part {
    Lit(String),
    Var { name: String, quoted: bool },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Word {
    pub(super) parts: Vec<Part>,
    /// Some of it was quoted or escaped (`''` is a word; `if` quoted is no keyword).
    pub(super) quoted: bool,
    pub(super) line: usize,
}

impl Word {
    /// The word's text when it is a bare unquoted literal (keywords, braces).
    pub(super) fn bare(&self) -> Option<&str> {
        match self.parts.as_slice() {
            [Part::Lit(s)] if !self.quoted => Some(s),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Token {
    Word(Word),
    /// Newline or `;`.
    Sep,
    Open(usize),
    Close(usize),
}

/// At most this many words and braces in one file: `grub-mkconfig` writes about 100
/// per kernel, and the tokens and statements cost memory in proportion.
pub(super) const MAX_WORDS: usize = 200_000;

pub(super) fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

pub(super) struct Lexer<'a> {
    chars: std::iter::Peekable<std::str::Chars<'a>>,
    line: usize,
}

/// Separators in a row mean what one does: a file of `;` costs no memory.
fn push_sep(out: &mut Vec<Token>) {
    if out.last() != Some(&Token::Sep) {
        out.push(Token::Sep);
    }
}

impl Lexer<'_> {
    pub(super) fn tokens(text: &str) -> Result<Vec<Token>, GrubError> {
        let mut lx = Lexer {
            chars: text.chars().peekable(),
            line: 1,
        };
        let mut out = Vec::new();
        let mut words = 0;
        loop {
            match lx.chars.peek().copied() {
                None => return Ok(out),
                Some(' ' | '\t' | '\r') => {
                    lx.chars.next();
                }
                Some('\n') => {
                    lx.chars.next();
                    lx.line += 1;
                    push_sep(&mut out);
                }
                Some(';') => {
                    lx.chars.next();
                    push_sep(&mut out);
                }
                Some('#') => {
                    while lx.chars.peek().is_some_and(|c| *c != '\n') {
                        lx.chars.next();
                    }
                }
                Some(_) => {
                    if let Some(word) = lx.word()? {
                        words += 1;
                        if words > MAX_WORDS {
                            return Err(GrubError::TooManyWords { limit: MAX_WORDS });
                        }
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
                    self.single_quoted(&mut lit, line)?;
                }
                '"' => {
                    self.chars.next();
                    quoted = true;
                    started = true;
                    self.double_quoted(&mut parts, &mut lit, line)?;
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

    /// After a `'`: everything up to the next `'`, as it stands. `line` is where
    /// the word started, for the error.
    fn single_quoted(&mut self, lit: &mut String, line: usize) -> Result<(), GrubError> {
        loop {
            match self.chars.next() {
                None => return Err(GrubError::UnclosedQuote { line }),
                Some('\'') => return Ok(()),
                Some(c) => self.push_counting_lines(lit, c),
            }
        }
    }

    /// After a `"`: up to the next unescaped `"`; `\` escapes only `$`, `"`, `\` and
    /// a newline (a continuation), and variables expand.
    fn double_quoted(
        &mut self,
        parts: &mut Vec<Part>,
        lit: &mut String,
        line: usize,
    ) -> Result<(), GrubError> {
        loop {
            match self.chars.next() {
                None => return Err(GrubError::UnclosedQuote { line }),
                Some('"') => return Ok(()),
                Some('\\') => match self.chars.next() {
                    Some('\n') => self.line += 1,
                    Some(c @ ('$' | '"' | '\\')) => lit.push(c),
                    Some(c) => {
                        lit.push('\\');
                        lit.push(c);
                    }
                    None => return Err(GrubError::UnclosedQuote { line }),
                },
                Some('$') => self.variable(parts, lit, true),
                Some(c) => self.push_counting_lines(lit, c),
            }
        }
    }

    /// A quoted char, which may be a newline: lines still count.
    fn push_counting_lines(&mut self, lit: &mut String, c: char) {
        if c == '\n' {
            self.line += 1;
        }
        lit.push(c);
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
