//! The recursive-descent parser from tokens to a [`ConfigTree`]. Sections and arrays
//! nest at most [`MAX_DEPTH`] levels: the recursion (and the tree's `Drop`, `Clone`
//! and `Display`, which recurse as well) stays a few hundred frames deep, whatever a
//! crafted PV holds.

use std::str::FromStr;

use super::lexer::{Lexer, Token};
use super::tree::{ConfigTree, Node, Value};
use super::MetadataError;

/// How deep sections and arrays may nest, together. LVM's own metadata is about 6
/// deep (`vg { logical_volumes { lv { segment1 { stripes = [ ... ] } } } }`).
pub(super) const MAX_DEPTH: usize = 64;

struct Parser<'a> {
    lexer: Lexer<'a>,
    peeked: Option<Option<(Token, usize)>>,
    /// Sections and arrays open around the current token.
    depth: usize,
}

impl<'a> Parser<'a> {
    fn peek(&mut self) -> Result<Option<&Token>, MetadataError> {
        if self.peeked.is_none() {
            self.peeked = Some(self.lexer.next_token()?);
        }
        Ok(self
            .peeked
            .as_ref()
            .and_then(|p| p.as_ref())
            .map(|(t, _)| t))
    }

    fn next(&mut self) -> Result<Option<(Token, usize)>, MetadataError> {
        match self.peeked.take() {
            Some(p) => Ok(p),
            None => self.lexer.next_token(),
        }
    }

    fn error_at(&self, line: usize, what: impl Into<String>) -> MetadataError {
        MetadataError::Syntax {
            line,
            what: what.into(),
        }
    }

    /// Goes one level deeper for a section or an array opened on `line`.
    fn enter(&mut self, line: usize) -> Result<(), MetadataError> {
        if self.depth >= MAX_DEPTH {
            return Err(MetadataError::TooDeep {
                line,
                limit: MAX_DEPTH,
            });
        }
        self.depth += 1;
        Ok(())
    }

    /// Entries until `}` (when `nested`) or the end of the text.
    fn section(&mut self, nested: bool) -> Result<ConfigTree, MetadataError> {
        let mut tree = ConfigTree::default();
        loop {
            let Some((token, line)) = self.next()? else {
                if nested {
                    return Err(self.lexer.error("missing '}' at end of text"));
                }
                return Ok(tree);
            };
            let name = match token {
                Token::Close if nested => return Ok(tree),
                Token::Word(w) => w,
                other => {
                    return Err(self.error_at(line, format!("expected a name, found {other:?}")))
                }
            };
            match self.next()? {
                Some((Token::Open, line)) => {
                    self.enter(line)?;
                    let inner = self.section(true)?;
                    self.depth -= 1;
                    tree.entries.push((name, Node::Section(inner)));
                }
                Some((Token::Equals, _)) => {
                    let value = self.value()?;
                    tree.entries.push((name, Node::Value(value)));
                }
                Some((other, line)) => {
                    return Err(self.error_at(
                        line,
                        format!("expected '=' or '{{' after {name:?}, found {other:?}"),
                    ))
                }
                None => return Err(self.lexer.error(format!("text ends after {name:?}"))),
            }
        }
    }

    fn value(&mut self) -> Result<Value, MetadataError> {
        let Some((token, line)) = self.next()? else {
            return Err(self.lexer.error("text ends where a value should be"));
        };
        match token {
            Token::Str(s) => Ok(Value::String(s)),
            Token::Word(w) => w
                .parse::<i64>()
                .map(Value::Int)
                .map_err(|_| self.error_at(line, format!("{w:?} is not a number or string"))),
            Token::ArrayOpen => {
                self.enter(line)?;
                let mut items = Vec::new();
                loop {
                    if self.peek()? == Some(&Token::ArrayClose) {
                        self.next()?;
                        self.depth -= 1;
                        return Ok(Value::Array(items));
                    }
                    items.push(self.value()?);
                    match self.next()? {
                        Some((Token::Comma, _)) => {}
                        Some((Token::ArrayClose, _)) => {
                            self.depth -= 1;
                            return Ok(Value::Array(items));
                        }
                        Some((other, line)) => {
                            return Err(self
                                .error_at(line, format!("expected ',' or ']', found {other:?}")))
                        }
                        None => return Err(self.lexer.error("unterminated array")),
                    }
                }
            }
            other => Err(self.error_at(line, format!("expected a value, found {other:?}"))),
        }
    }
}

impl FromStr for ConfigTree {
    type Err = MetadataError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let mut parser = Parser {
            lexer: Lexer::new(text),
            peeked: None,
            depth: 0,
        };
        parser.section(false)
    }
}
