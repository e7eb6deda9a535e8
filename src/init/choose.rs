//! The default entry: what `kboot.default=` names, and how long the menu waits.

use crate::fnmatch::fnmatch;
use crate::select::BootEntry;

/// Default seconds to wait when there is a choice and `kboot.timeout=` is not given.
pub(crate) const DEFAULT_TIMEOUT_SECS: i64 = 5;

/// Which entry `kboot.default=` names: a 1-based position, else the first entry whose
/// version, title, id or kernel path equals the text, else the first one a glob
/// (`*`, `?`) matches.
pub(crate) fn default_index(entries: &[BootEntry], wanted: Option<&str>) -> Option<usize> {
    let Some(wanted) = wanted else { return Some(0) };
    if let Ok(n) = wanted.parse::<usize>() {
        return (1..=entries.len()).contains(&n).then(|| n - 1);
    }
    let names = |e: &BootEntry| {
        [
            e.version.clone(),
            Some(e.title.clone()),
            e.id.clone(),
            Some(e.kernel.clone()),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<String>>()
    };
    entries
        .iter()
        .position(|e| names(e).iter().any(|n| n == wanted))
        .or_else(|| {
            entries
                .iter()
                .position(|e| names(e).iter().any(|n| fnmatch(wanted, n)))
        })
}

#[cfg(test)]
mod tests;
