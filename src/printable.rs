//! Text read from a disk (labels, partition names, file names, titles, command lines)
//! on its way to a terminal: control characters are shown escaped, so a crafted name
//! cannot clear the screen, move the cursor, forge a `kboot:` line with a newline or
//! reverse what follows it. Everything else, backslashes included, is shown as it is:
//! on good input the text does not change. `--json` output does not need this (serde
//! escapes control characters itself).
//!
//! What is escaped: C0 controls and DEL (`\n`, `\r`, `\t`, else `\x1b`), C1 controls
//! (U+0080–U+009F, among them the one-character CSI U+009B) and the bidirectional
//! embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069) as `\u{9b}`.

use std::borrow::Cow;
use std::fmt::{self, Write};

/// Whether `c` must not reach a terminal as it is.
fn needs_escape(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// Writes `c` as its escape (`needs_escape(c)` holds).
fn write_escaped(out: &mut impl Write, c: char) -> fmt::Result {
    match c {
        '\n' => out.write_str("\\n"),
        '\r' => out.write_str("\\r"),
        '\t' => out.write_str("\\t"),
        c if u32::from(c) < 0x80 => write!(out, "\\x{:02x}", u32::from(c)),
        c => write!(out, "\\u{{{:x}}}", u32::from(c)),
    }
}

/// `text` with its control characters escaped; borrowed when there are none.
pub(crate) fn printable(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    // Writing into a String cannot fail.
    let _ = write!(out, "{}", Printable(text));
    Cow::Owned(out)
}

/// `printable` as a `Display`, for format strings: `format!("booting {}", Printable(&title))`.
pub(crate) struct Printable<'a>(pub(crate) &'a str);

impl fmt::Display for Printable<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.0;
        while let Some(at) = rest.find(needs_escape) {
            f.write_str(&rest[..at])?;
            let Some(c) = rest[at..].chars().next() else {
                break;
            };
            write_escaped(f, c)?;
            rest = &rest[at + c.len_utf8()..];
        }
        f.write_str(rest)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
