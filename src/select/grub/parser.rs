//! Statements from the tokens: simple commands, `if/elif/else/fi`, `menuentry` and
//! `submenu` with their bodies, and `function`s and loops (parsed, never run).
//!
//! The parser keeps the blocks open around the current token on a stack of its own,
//! not the call stack. Blocks still nest at most [`MAX_NESTING`] levels: the
//! evaluator, the menu walks and the trees' `Drop` recurse once per level, and a
//! crafted grub.cfg must not overflow PID 1's stack (an overflow aborts; nothing can
//! catch it).

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
        /// Where the `menuentry`/`submenu` keyword is.
        line: usize,
    },
    /// `function NAME { ... }`, and loops: parsed, never run.
    NotRun,
}

/// How deep `if`, `function`, `menuentry`, `submenu` and loops may nest, together.
/// `grub-mkconfig` writes 3 or 4 levels.
pub(super) const MAX_NESTING: usize = 1_000;

/// A block being read, and which part of it.
enum Block {
    /// The whole file: ends at the end of the text.
    File,
    /// `if`/`elif` up to `then`: the condition.
    IfCondition { arms: Vec<(Vec<Stmt>, Vec<Stmt>)> },
    /// After `then`, up to `elif`, `else` or `fi`.
    IfBody {
        arms: Vec<(Vec<Stmt>, Vec<Stmt>)>,
        condition: Vec<Stmt>,
    },
    /// After `else`, up to `fi`.
    IfElse { arms: Vec<(Vec<Stmt>, Vec<Stmt>)> },
    /// Up to `}`.
    Function,
    /// Up to `}`.
    Menu {
        submenu: bool,
        args: Vec<Word>,
        line: usize,
    },
    /// `for`/`while`/`until` up to `do`.
    LoopHead,
    /// After `do`, up to `done`.
    LoopBody,
}

impl Block {
    /// The keywords that end this part, at the start of a command.
    fn ends(&self) -> &'static [&'static str] {
        match self {
            Block::IfCondition { .. } => &["then"],
            Block::IfBody { .. } => &["elif", "else", "fi"],
            Block::IfElse { .. } => &["fi"],
            Block::LoopHead => &["do"],
            Block::LoopBody => &["done"],
            Block::File | Block::Function | Block::Menu { .. } => &[],
        }
    }

    /// `keyword` as one of the keywords that end this part.
    fn ending(&self, keyword: &str) -> Option<&'static str> {
        self.ends().iter().find(|e| **e == keyword).copied()
    }

    fn in_braces(&self) -> bool {
        matches!(self, Block::Function | Block::Menu { .. })
    }

    /// For the error when the text ends inside it.
    fn what(&self) -> &'static str {
        match self {
            Block::File => "",
            Block::IfCondition { .. } | Block::IfBody { .. } | Block::IfElse { .. } => "if",
            Block::Function => "function",
            Block::Menu { submenu: true, .. } => "submenu",
            Block::Menu { submenu: false, .. } => "menuentry",
            Block::LoopHead | Block::LoopBody => "loop",
        }
    }
}

/// An open block part with the statements read into it so far.
struct Open {
    block: Block,
    stmts: Vec<Stmt>,
    /// The line of the token that opened this part, for "never closed".
    line: usize,
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    /// The line of the last token read.
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

    fn simple(&mut self) -> Vec<Word> {
        let mut words = Vec::new();
        while let Some(Token::Word(w)) = self.peek() {
            words.push(w.clone());
            self.pos += 1;
        }
        words
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

    /// The block a compound keyword (already read, on `line`) opens, with its
    /// header read; `None` when `keyword` opens none.
    fn open_block(&mut self, keyword: &str, line: usize) -> Result<Option<Block>, GrubError> {
        Ok(Some(match keyword {
            "if" => Block::IfCondition { arms: Vec::new() },
            "function" => {
                self.simple();
                self.open_brace("function")?;
                Block::Function
            }
            "menuentry" | "submenu" => {
                let submenu = keyword == "submenu";
                let args = self.simple();
                self.open_brace(if submenu { "submenu" } else { "menuentry" })?;
                Block::Menu {
                    submenu,
                    args,
                    line,
                }
            }
            "for" | "while" | "until" => Block::LoopHead,
            _ => return Ok(None),
        }))
    }
}

/// What an end keyword (or `}`) does to the part it ends: the next part of the same
/// block, or the finished statement.
enum Next {
    Part(Block),
    Done(Stmt),
}

fn next_part(block: Block, stmts: Vec<Stmt>, keyword: &str) -> Next {
    match block {
        Block::IfCondition { arms } => Next::Part(Block::IfBody {
            arms,
            condition: stmts,
        }),
        Block::IfBody {
            mut arms,
            condition,
        } => {
            arms.push((condition, stmts));
            match keyword {
                "elif" => Next::Part(Block::IfCondition { arms }),
                "else" => Next::Part(Block::IfElse { arms }),
                _ => Next::Done(Stmt::If {
                    arms,
                    otherwise: None,
                }),
            }
        }
        Block::IfElse { arms } => Next::Done(Stmt::If {
            arms,
            otherwise: Some(stmts),
        }),
        Block::Menu {
            submenu,
            args,
            line,
        } => Next::Done(Stmt::Menu {
            submenu,
            args,
            body: stmts,
            line,
        }),
        Block::LoopHead => Next::Part(Block::LoopBody),
        Block::File | Block::Function | Block::LoopBody => Next::Done(Stmt::NotRun),
    }
}

fn is_compound(keyword: &str) -> bool {
    matches!(
        keyword,
        "if" | "function" | "menuentry" | "submenu" | "for" | "while" | "until"
    )
}

pub(super) fn parse(text: &str) -> Result<Vec<Stmt>, GrubError> {
    let mut parser = Parser {
        tokens: Lexer::tokens(text)?,
        pos: 0,
    };
    let mut open = vec![Open {
        block: Block::File,
        stmts: Vec::new(),
        line: 1,
    }];
    loop {
        let depth = open.len() - 1;
        let Some(top) = open.last_mut() else {
            return Ok(Vec::new());
        };
        let Some(token) = parser.peek().cloned() else {
            if depth > 0 {
                return Err(GrubError::Unterminated {
                    what: top.block.what().to_string(),
                    line: top.line,
                });
            }
            return Ok(std::mem::take(&mut top.stmts));
        };
        parser.pos += 1;
        // The keyword (or `}`: empty) that ends the top part.
        let ending = match token {
            Token::Sep => continue,
            Token::Close(line) if !top.block.in_braces() => {
                return Err(GrubError::Unexpected {
                    found: "}".into(),
                    line,
                })
            }
            Token::Close(_) => "",
            Token::Open(line) => {
                return Err(GrubError::Unexpected {
                    found: "{".into(),
                    line,
                })
            }
            Token::Word(word) => {
                let keyword = word.bare();
                if let Some(end) = keyword.and_then(|k| top.block.ending(k)) {
                    end
                } else if let Some(k) = keyword.filter(|k| is_compound(k)) {
                    if depth >= MAX_NESTING {
                        return Err(GrubError::TooDeep {
                            line: word.line,
                            limit: MAX_NESTING,
                        });
                    }
                    if let Some(block) = parser.open_block(k, word.line)? {
                        let line = parser.line();
                        open.push(Open {
                            block,
                            stmts: Vec::new(),
                            line,
                        });
                    }
                    continue;
                } else {
                    parser.pos -= 1;
                    let words = parser.simple();
                    top.stmts.push(Stmt::Simple(words));
                    continue;
                }
            }
        };
        let Some(done) = open.pop() else {
            continue;
        };
        match next_part(done.block, done.stmts, ending) {
            Next::Part(block) => open.push(Open {
                block,
                stmts: Vec::new(),
                line: parser.line(),
            }),
            Next::Done(stmt) => {
                if let Some(parent) = open.last_mut() {
                    parent.stmts.push(stmt);
                }
            }
        }
    }
}
