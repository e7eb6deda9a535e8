//! LVM2's text metadata: the volume group description every PV's metadata area holds.
//!
//! The format (lvm2 `lib/config/config.c`, `lib/format_text/import_vsn1.c`) is a tree:
//! `name { ... }` sections and `key = value` settings, where a value is a string
//! (`"..."`, with `\"` and `\\` escapes), an integer, or an array `[ v, v, ... ]` that
//! may span lines; `#` starts a comment. [`ConfigTree`] parses that generically (with a
//! `Display` that writes it back), and [`VolumeGroup`] reads the parts kboot needs to
//! map logical volumes: PVs, LVs and their segments. See section 2 of
//! `storage-formats.md`.

use std::fmt;
use std::str::FromStr;

use thiserror::Error;

#[derive(Debug, Error, PartialEq, Eq)]
pub(crate) enum MetadataError {
    #[error("metadata text line {line}: {what}")]
    Syntax { line: usize, what: String },
    #[error("metadata has no volume group section")]
    NoVolumeGroup,
    #[error("metadata {path}: missing {key}")]
    Missing { path: String, key: &'static str },
    #[error("metadata {path}: {key} should be {expected}")]
    WrongType {
        path: String,
        key: &'static str,
        expected: &'static str,
    },
    #[error("metadata {path}: {what}")]
    Invalid { path: String, what: String },
}

/// A setting's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Value {
    String(String),
    Int(i64),
    Array(Vec<Value>),
}

/// What a name in a section stands for: a value or a nested section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Node {
    Value(Value),
    Section(ConfigTree),
}

/// A section's contents, in file order (order matters: LVM writes `pv0`, `pv1`, ...
/// and segments in order, and the VG is the first top-level section).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ConfigTree {
    pub entries: Vec<(String, Node)>,
}

impl ConfigTree {
    pub(crate) fn get(&self, key: &str) -> Option<&Node> {
        self.entries.iter().find(|(k, _)| k == key).map(|(_, n)| n)
    }

    pub(crate) fn value(&self, key: &str) -> Option<&Value> {
        match self.get(key) {
            Some(Node::Value(v)) => Some(v),
            _ => None,
        }
    }

    pub(crate) fn section(&self, key: &str) -> Option<&ConfigTree> {
        match self.get(key) {
            Some(Node::Section(s)) => Some(s),
            _ => None,
        }
    }

    /// The nested sections, in order.
    pub(crate) fn sections(&self) -> impl Iterator<Item = (&str, &ConfigTree)> {
        self.entries.iter().filter_map(|(k, n)| match n {
            Node::Section(s) => Some((k.as_str(), s)),
            Node::Value(_) => None,
        })
    }
}

// ---------------------------------------------------------------------------
// Tokenizer and parser

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Str(String),
    Equals,
    Open,
    Close,
    ArrayOpen,
    ArrayClose,
    Comma,
}

struct Lexer<'a> {
    text: &'a [u8],
    pos: usize,
    line: usize,
}

fn is_word_byte(b: u8) -> bool {
    !b.is_ascii_whitespace() && !matches!(b, b'{' | b'}' | b'[' | b']' | b'=' | b',' | b'"' | b'#')
}

impl<'a> Lexer<'a> {
    fn error(&self, what: impl Into<String>) -> MetadataError {
        MetadataError::Syntax {
            line: self.line,
            what: what.into(),
        }
    }

    /// The next token and the line it starts on, or `None` at the end.
    fn next_token(&mut self) -> Result<Option<(Token, usize)>, MetadataError> {
        loop {
            let Some(&b) = self.text.get(self.pos) else {
                return Ok(None);
            };
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
        let line = self.line;
        let b = self.text[self.pos];
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
            let s = String::from_utf8(bytes).map_err(|_| self.error("string is not UTF-8"))?;
            return Ok(Some((Token::Str(s), line)));
        }
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
        Ok(Some((Token::Word(word.to_string()), line)))
    }
}

struct Parser<'a> {
    lexer: Lexer<'a>,
    peeked: Option<Option<(Token, usize)>>,
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
                Some((Token::Open, _)) => {
                    let inner = self.section(true)?;
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
                let mut items = Vec::new();
                loop {
                    if self.peek()? == Some(&Token::ArrayClose) {
                        self.next()?;
                        return Ok(Value::Array(items));
                    }
                    items.push(self.value()?);
                    match self.next()? {
                        Some((Token::Comma, _)) => {}
                        Some((Token::ArrayClose, _)) => return Ok(Value::Array(items)),
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
            lexer: Lexer {
                text: text.as_bytes(),
                pos: 0,
                line: 1,
            },
            peeked: None,
        };
        parser.section(false)
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Int(n) => write!(f, "{n}"),
            Value::String(s) => {
                f.write_str("\"")?;
                for c in s.chars() {
                    if c == '"' || c == '\\' {
                        f.write_str("\\")?;
                    }
                    write!(f, "{c}")?;
                }
                f.write_str("\"")
            }
            Value::Array(items) => {
                f.write_str("[")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_str("]")
            }
        }
    }
}

impl ConfigTree {
    fn write_indented(&self, f: &mut fmt::Formatter<'_>, depth: usize) -> fmt::Result {
        let indent = "\t".repeat(depth);
        for (key, node) in &self.entries {
            match node {
                Node::Value(v) => writeln!(f, "{indent}{key} = {v}")?,
                Node::Section(s) => {
                    writeln!(f, "{indent}{key} {{")?;
                    s.write_indented(f, depth + 1)?;
                    writeln!(f, "{indent}}}")?;
                }
            }
        }
        Ok(())
    }
}

/// Writes the tree in LVM's layout (tabs, one setting per line); parsing the output
/// gives back the same tree.
impl fmt::Display for ConfigTree {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_indented(f, 0)
    }
}

// ---------------------------------------------------------------------------
// The volume group

/// A PV as the VG metadata lists it (`physical_volumes { pv0 { ... } }`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PvRef {
    /// The metadata's own name for it (`pv0`), which segments refer to.
    pub name: String,
    /// The PV UUID as LVM prints it (`xxxxxx-xxxx-...`).
    pub id: String,
    /// The device path when the metadata was written; only a hint.
    pub device_hint: Option<String>,
    pub dev_size_sectors: u64,
    pub pe_start_sectors: u64,
    pub pe_count: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SegmentKind {
    /// `striped` (a linear segment is striped with one stripe): each stripe is a PV
    /// name and the first extent on it.
    Striped {
        stripe_size_sectors: Option<u64>,
        stripes: Vec<(String, u64)>,
    },
    /// Anything else (thin, thin-pool, raid1, mirror, cache, snapshot, vdo, or a
    /// striped segment with flags kboot does not know): kboot does not map these.
    Other { type_name: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Segment {
    pub start_extent: u64,
    pub extent_count: u64,
    pub kind: SegmentKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LogicalVolume {
    pub name: String,
    pub id: String,
    pub status: Vec<String>,
    /// Sorted by `start_extent`.
    pub segments: Vec<Segment>,
}

impl LogicalVolume {
    /// Hidden LVs (no `VISIBLE` status) are parts of other LVs: raid images, thin
    /// pool data, mirror logs.
    pub(crate) fn visible(&self) -> bool {
        self.status.iter().any(|s| s == "VISIBLE")
    }

    #[cfg(test)]
    pub(crate) fn extent_count(&self) -> Option<u64> {
        self.segments
            .iter()
            .try_fold(0u64, |sum, s| sum.checked_add(s.extent_count))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct VolumeGroup {
    pub name: String,
    pub id: String,
    pub seqno: u64,
    pub extent_size_sectors: u64,
    pub status: Vec<String>,
    pub physical_volumes: Vec<PvRef>,
    pub logical_volumes: Vec<LogicalVolume>,
}

impl VolumeGroup {
    pub(crate) fn pv(&self, name: &str) -> Option<&PvRef> {
        self.physical_volumes.iter().find(|p| p.name == name)
    }

    pub(crate) fn lv(&self, name: &str) -> Option<&LogicalVolume> {
        self.logical_volumes.iter().find(|l| l.name == name)
    }
}

fn get_str<'t>(
    tree: &'t ConfigTree,
    path: &str,
    key: &'static str,
) -> Result<&'t str, MetadataError> {
    match tree.value(key) {
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(MetadataError::WrongType {
            path: path.to_string(),
            key,
            expected: "a string",
        }),
        None => Err(MetadataError::Missing {
            path: path.to_string(),
            key,
        }),
    }
}

fn get_u64(tree: &ConfigTree, path: &str, key: &'static str) -> Result<u64, MetadataError> {
    match tree.value(key) {
        Some(Value::Int(n)) => u64::try_from(*n).map_err(|_| MetadataError::WrongType {
            path: path.to_string(),
            key,
            expected: "a non-negative number",
        }),
        Some(_) => Err(MetadataError::WrongType {
            path: path.to_string(),
            key,
            expected: "a number",
        }),
        None => Err(MetadataError::Missing {
            path: path.to_string(),
            key,
        }),
    }
}

fn get_opt_u64(
    tree: &ConfigTree,
    path: &str,
    key: &'static str,
) -> Result<Option<u64>, MetadataError> {
    match tree.get(key) {
        None => Ok(None),
        Some(_) => get_u64(tree, path, key).map(Some),
    }
}

fn get_string_list(
    tree: &ConfigTree,
    path: &str,
    key: &'static str,
) -> Result<Vec<String>, MetadataError> {
    let wrong = || MetadataError::WrongType {
        path: path.to_string(),
        key,
        expected: "a list of strings",
    };
    match tree.value(key) {
        None => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| match v {
                Value::String(s) => Ok(s.clone()),
                _ => Err(wrong()),
            })
            .collect(),
        Some(_) => Err(wrong()),
    }
}

fn parse_pv(name: &str, tree: &ConfigTree, path: &str) -> Result<PvRef, MetadataError> {
    Ok(PvRef {
        name: name.to_string(),
        id: get_str(tree, path, "id")?.to_string(),
        device_hint: tree.value("device").and_then(|v| match v {
            Value::String(s) => Some(s.clone()),
            _ => None,
        }),
        dev_size_sectors: get_opt_u64(tree, path, "dev_size")?.unwrap_or(0),
        pe_start_sectors: get_u64(tree, path, "pe_start")?,
        pe_count: get_u64(tree, path, "pe_count")?,
    })
}

fn parse_segment(tree: &ConfigTree, path: &str) -> Result<Segment, MetadataError> {
    let start_extent = get_u64(tree, path, "start_extent")?;
    let extent_count = get_u64(tree, path, "extent_count")?;
    let type_name = get_str(tree, path, "type")?;
    // "striped" is the only type kboot maps; "linear" appears in very old metadata.
    // A type with "+FLAG" needs a feature kboot does not have, so it is not mapped.
    let kind = if type_name == "striped" || type_name == "linear" {
        let stripe_count = get_opt_u64(tree, path, "stripe_count")?.unwrap_or(1);
        let stripe_size_sectors = get_opt_u64(tree, path, "stripe_size")?;
        let invalid = |what: String| MetadataError::Invalid {
            path: path.to_string(),
            what,
        };
        let Some(Value::Array(items)) = tree.value("stripes") else {
            return Err(MetadataError::WrongType {
                path: path.to_string(),
                key: "stripes",
                expected: "a list",
            });
        };
        if items.len() % 2 != 0 {
            return Err(invalid(
                "stripes should be pairs of PV name and extent".into(),
            ));
        }
        let stripes = items
            .chunks(2)
            .map(|pair| match pair {
                [Value::String(pv), Value::Int(pe)] if *pe >= 0 => Ok((pv.clone(), *pe as u64)),
                _ => Err(invalid(format!("bad stripe entry {pair:?}"))),
            })
            .collect::<Result<Vec<_>, _>>()?;
        if stripes.len() as u64 != stripe_count || stripes.is_empty() {
            return Err(invalid(format!(
                "stripe_count = {stripe_count} but {} stripes listed",
                stripes.len()
            )));
        }
        SegmentKind::Striped {
            stripe_size_sectors,
            stripes,
        }
    } else {
        SegmentKind::Other {
            type_name: type_name.to_string(),
        }
    };
    Ok(Segment {
        start_extent,
        extent_count,
        kind,
    })
}

fn parse_lv(name: &str, tree: &ConfigTree, path: &str) -> Result<LogicalVolume, MetadataError> {
    let mut segments = tree
        .sections()
        .filter(|(k, _)| k.starts_with("segment"))
        .map(|(k, s)| parse_segment(s, &format!("{path}/{k}")))
        .collect::<Result<Vec<_>, _>>()?;
    segments.sort_by_key(|s| s.start_extent);
    Ok(LogicalVolume {
        name: name.to_string(),
        id: get_str(tree, path, "id")?.to_string(),
        status: get_string_list(tree, path, "status")?,
        segments,
    })
}

impl VolumeGroup {
    /// Reads the VG from a parsed metadata text: its first top-level section.
    pub(crate) fn from_tree(tree: &ConfigTree) -> Result<Self, MetadataError> {
        let (name, vg) = tree.sections().next().ok_or(MetadataError::NoVolumeGroup)?;
        let path = name;
        let mut physical_volumes = Vec::new();
        if let Some(pvs) = vg.section("physical_volumes") {
            for (pv_name, pv) in pvs.sections() {
                physical_volumes.push(parse_pv(pv_name, pv, &format!("{path}/{pv_name}"))?);
            }
        }
        let mut logical_volumes = Vec::new();
        if let Some(lvs) = vg.section("logical_volumes") {
            for (lv_name, lv) in lvs.sections() {
                logical_volumes.push(parse_lv(lv_name, lv, &format!("{path}/{lv_name}"))?);
            }
        }
        let extent_size_sectors = get_u64(vg, path, "extent_size")?;
        if extent_size_sectors == 0 {
            return Err(MetadataError::Invalid {
                path: path.to_string(),
                what: "extent_size is 0".into(),
            });
        }
        Ok(VolumeGroup {
            name: name.to_string(),
            id: get_str(vg, path, "id")?.to_string(),
            seqno: get_u64(vg, path, "seqno")?,
            extent_size_sectors,
            status: get_string_list(vg, path, "status")?,
            physical_volumes,
            logical_volumes,
        })
    }
}

impl FromStr for VolumeGroup {
    type Err = MetadataError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        VolumeGroup::from_tree(&text.parse()?)
    }
}

/// The VG name and seqno of a metadata text, without reading PVs and LVs: enough to
/// pick the newest copy.
pub(crate) fn name_and_seqno(text: &str) -> Result<(String, u64), MetadataError> {
    let tree: ConfigTree = text.parse()?;
    let (name, vg) = tree.sections().next().ok_or(MetadataError::NoVolumeGroup)?;
    Ok((name.to_string(), get_u64(vg, name, "seqno")?))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) mod tests;
