//! kboot's console messages. Every line starts `kboot: `; progress lines carry the
//! seconds since /init started. Each line is also kept in memory and in
//! `/run/kboot.log` so the rescue prompt can show it.
//!
//! A message is one line: its control characters are shown escaped
//! (`crate::printable`), so a name or title from a disk quoted in it cannot clear the
//! screen or forge a line of its own. kboot's messages never hold newlines themselves.

use std::fmt::Display;

use crate::printable::printable;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

struct Log {
    lines: Vec<String>,
    file: Option<File>,
}

static START: OnceLock<Instant> = OnceLock::new();
static LOG: Mutex<Log> = Mutex::new(Log {
    lines: Vec::new(),
    file: None,
});

/// Marks the start of the clock; call first thing.
pub(crate) fn start() {
    START.get_or_init(Instant::now);
}

/// Seconds since `start`.
pub(crate) fn elapsed_secs() -> f64 {
    START.get_or_init(Instant::now).elapsed().as_secs_f64()
}

/// Starts writing the log to `path` too (once /run exists), with the lines so far.
pub(crate) fn open_file(path: &Path) {
    let Ok(mut file) = OpenOptions::new().create(true).append(true).open(path) else {
        return;
    };
    let mut log = LOG.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    for line in &log.lines {
        let _ = writeln!(file, "{line}");
    }
    log.file = Some(file);
}

fn emit(line: String) {
    // The console may be gone or broken; a failed write must not stop the boot.
    let _ = writeln!(std::io::stderr(), "{line}");
    let mut log = LOG.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(file) = log.file.as_mut() {
        let _ = writeln!(file, "{line}");
    }
    log.lines.push(line);
}

/// A message as its line shows it: control characters escaped.
fn body(message: impl Display) -> String {
    let text = message.to_string();
    printable(&text).into_owned()
}

/// A progress line: `kboot: [1.234] message`.
pub(crate) fn say(message: impl Display) {
    emit(format!("kboot: [{:.3}] {}", elapsed_secs(), body(message)));
}

/// A failure: `kboot: error: message`.
pub(crate) fn error(message: impl Display) {
    emit(format!("kboot: error: {}", body(message)));
}

/// Something odd that does not stop the boot.
pub(crate) fn warn(message: impl Display) {
    emit(format!("kboot: warning: {}", body(message)));
}

/// Every line so far.
pub(crate) fn lines() -> Vec<String> {
    LOG.lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .lines
        .clone()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
