//! How an error reaches the user: its message, then each cause in its `source()`
//! chain, so an `EIO` from a disk under a superblock error is not lost. Messages in
//! this crate may already quote their source (`cannot read X: {source}`); a cause
//! whose text the line already holds is not repeated.

use std::error::Error;
use std::fmt;

/// One line: the error and every cause not yet in the line, joined by `": "`.
pub(crate) fn report(error: &dyn Error) -> String {
    let mut line = error.to_string();
    let mut cause = error.source();
    while let Some(inner) = cause {
        let text = inner.to_string();
        if !text.is_empty() && !line.contains(&text) {
            line.push_str(": ");
            line.push_str(&text);
        }
        cause = inner.source();
    }
    line
}

/// `report` as a `Display`, for format strings: `format!("cannot start md0: {}", Chain(&e))`.
pub(crate) struct Chain<'a>(pub(crate) &'a dyn Error);

impl fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&report(self.0))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
