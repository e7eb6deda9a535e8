//! Tokens of LVM's config syntax: names, strings (with `\"` and `\\` escapes),
//! `= { } [ ] ,`; `#` comments and white space are skipped, lines counted.

use super::MetadataError;

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Token {
    Word(String),
    Str(String),
    Equals,
    Open,
    Close,
    ArrayOpen,
    ArrayClose,
    Comma,
}

pub(super) struct Lexer<'a> {
    text: &'a [u8],
    pos: usize,
    line: usize,
}

fn is_word_byte(b: u8) -> bool {
    !b.is_ascii_whitespace() && !matches!(b, b'{' | b'}' | b'[' | b']' | b'=' | b',' | b'"' | b'#')
}

impl<'a> Lexer<'a> {
    pub(super) fn new(text: &'a str) -> Self {
        Lexer {
            text: text.as_bytes(),
            pos: 0,
            line: 1,
        }
    }

    /// A syntax error on the current line.
    pub(super) fn error(&self, what: impl Into<String>) -> MetadataError {
        MetadataError::Syntax {
            line: self.line,
            what: what.into(),
        }
    }

    /// The next token and the line it starts on, or `None` at the end.
    pub(super) fn next_token(&mut self) -> Result<Option<(Token, usize)>, MetadataError> {
        self.skip_blanks_and_comments();
        let Some(&b) = self.text.get(self.pos) else {
            return Ok(None);
        };
        let line = self.line;
        let simple = match b {
            b'=' => Some(Token::Equals),
            b'{' => Some(Token::Open),
            b'}' => Some(Token::Close),
            b'[' => Some(Token::ArrayOpen),
            b']' => Some(Token::ArrayClose),
            b',' => Some(Token::Comma),
            _ => None,
        };
        if let Some(t) = simple {
            self.pos += 1;
            return Ok(Some((t, line)));
        }
        if b == b'"' {
            return Ok(Some((Token::Str(self.string(line)?), line)));
        }
        Ok(Some((Token::Word(self.word()?), line)))
    }

    /// Skips white space (counting lines), NUL padding and `#` comments.
    fn skip_blanks_and_comments(&mut self) {
        while let Some(&b) = self.text.get(self.pos) {
            if b == b'\n' {
                self.line += 1;
                self.pos += 1;
            } else if b.is_ascii_whitespace() || b == 0 {
                self.pos += 1;
            } else if b == b'#' {
                while self.text.get(self.pos).is_some_and(|&c| c != b'\n') {
                    self.pos += 1;
                }
            } else {
                break;
            }
        }
    }

    /// A quoted string starting at the `"` under `pos`, on `line`, without its
    /// quotes and with its escapes resolved.
    fn string(&mut self, line: usize) -> Result<String, MetadataError> {
        let unterminated = || MetadataError::Syntax {
            line,
            what: "unterminated string".into(),
        };
        self.pos += 1;
        let mut bytes = Vec::new();
        loop {
            match self.text.get(self.pos) {
                None => return Err(unterminated()),
                Some(b'"') => {
                    self.pos += 1;
                    break;
                }
                Some(b'\\') => {
                    let Some(&escaped) = self.text.get(self.pos + 1) else {
                        return Err(unterminated());
                    };
                    bytes.push(escaped);
                    self.pos += 2;
                }
                Some(&c) => {
                    if c == b'\n' {
                        self.line += 1;
                    }
                    bytes.push(c);
                    self.pos += 1;
                }
            }
        }
        String::from_utf8(bytes).map_err(|_| self.error("string is not UTF-8"))
    }

    /// A name or number: everything up to the next blank or punctuation.
    fn word(&mut self) -> Result<String, MetadataError> {
        let start = self.pos;
        while self
            .text
            .get(self.pos)
            .is_some_and(|&c| is_word_byte(c) && c != 0)
        {
            self.pos += 1;
        }
        let word = std::str::from_utf8(&self.text[start..self.pos])
            .map_err(|_| self.error("name is not UTF-8"))?;
        Ok(word.to_string())
    }
}
