//! Statements from the tokens: simple commands, `if/elif/else/fi`, `menuentry` and
//! `submenu` with their bodies, and `function`s and loops (parsed, never run).

use super::lexer::{Lexer, Token, Word};
use super::GrubError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Stmt {
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

pub(super) fn parse(text: &str) -> Result<Vec<Stmt>, GrubError> {
    let mut parser = Parser {
        tokens: Lexer::tokens(text)?,
        pos: 0,
    };
    Ok(parser.list(&[], false, "")?.0)
}
