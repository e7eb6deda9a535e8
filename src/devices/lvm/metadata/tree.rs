//! The generic tree of LVM's config syntax: `name { ... }` sections and
//! `key = value` settings, in file order, and writing it back in LVM's layout.

use std::fmt;

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
