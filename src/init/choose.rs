//! Picking one entry: the only one, the default after a countdown, or the user's
//! choice typed on the console. The full menu is its own issue; this is the plain list.

use std::io::{self, BufRead, Write};
use std::os::fd::AsFd;

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

use crate::select::BootEntry;

/// Default seconds to wait when there is a choice and `kboot.timeout=` is not given.
pub const DEFAULT_TIMEOUT_SECS: u32 = 5;

/// Which entry `kboot.default=` names: a 1-based position, else the first entry whose
/// version, title or kernel path equals the text.
pub fn default_index(entries: &[BootEntry], wanted: Option<&str>) -> Option<usize> {
    let Some(wanted) = wanted else { return Some(0) };
    if let Ok(n) = wanted.parse::<usize>() {
        return (1..=entries.len()).contains(&n).then(|| n - 1);
    }
    entries.iter().position(|e| {
        e.version.as_deref() == Some(wanted) || e.title == wanted || e.kernel == wanted
    })
}

/// Parses what the user typed: empty = the default, else a 1-based number.
pub fn parse_choice(typed: &str, count: usize, default: usize) -> Option<usize> {
    let typed = typed.trim();
    if typed.is_empty() {
        return Some(default);
    }
    typed
        .parse::<usize>()
        .ok()
        .filter(|n| (1..=count).contains(n))
        .map(|n| n - 1)
}

/// Shows the entries and returns the chosen index. With one entry or a zero timeout
/// it returns the default at once; with no input by the deadline, the default too.
pub fn choose(entries: &[BootEntry], default: usize, timeout_secs: u32) -> usize {
    if entries.len() <= 1 || timeout_secs == 0 {
        return default;
    }
    let mut out = io::stderr();
    for (i, e) in entries.iter().enumerate() {
        let mark = if i == default { '*' } else { ' ' };
        let _ = writeln!(out, "kboot: {mark}{}) {}  [{}]", i + 1, e.title, e.kernel);
    }
    loop {
        let _ = write!(
            out,
            "kboot: boot which? [1-{}, Enter = {}, booting it in {timeout_secs} s] ",
            entries.len(),
            default + 1
        );
        let _ = out.flush();
        let stdin = io::stdin();
        let ms = u16::try_from(timeout_secs.saturating_mul(1000)).unwrap_or(u16::MAX);
        let mut fds = [PollFd::new(stdin.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, PollTimeout::from(ms)) {
            Ok(n) if n > 0 => {}
            // Timeout, or no usable console: take the default.
            _ => {
                let _ = writeln!(out);
                return default;
            }
        }
        let mut line = String::new();
        match stdin.lock().read_line(&mut line) {
            Ok(0) | Err(_) => return default,
            Ok(_) => {}
        }
        if let Some(i) = parse_choice(&line, entries.len(), default) {
            return i;
        }
        let _ = writeln!(
            out,
            "kboot: {:?} is not one of 1-{}",
            line.trim(),
            entries.len()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::select::Source;
    use std::path::PathBuf;

    fn entry(version: &str) -> BootEntry {
        BootEntry {
            title: format!("Linux {version}"),
            id: None,
            version: Some(version.into()),
            fs_root: PathBuf::from("/mnt/root"),
            kernel: format!("/boot/vmlinuz-{version}"),
            ramdisks: Vec::new(),
            cmdline: String::new(),
            source: Source::Scan,
            missing: Vec::new(),
        }
    }

    #[test]
    fn default_by_number_version_title_or_path() {
        let entries = [entry("6.2"), entry("6.1")];
        assert_eq!(default_index(&entries, None), Some(0));
        assert_eq!(default_index(&entries, Some("2")), Some(1));
        assert_eq!(default_index(&entries, Some("3")), None);
        assert_eq!(default_index(&entries, Some("6.1")), Some(1));
        assert_eq!(default_index(&entries, Some("Linux 6.2")), Some(0));
        assert_eq!(default_index(&entries, Some("/boot/vmlinuz-6.1")), Some(1));
        assert_eq!(default_index(&entries, Some("nope")), None);
    }

    #[test]
    fn typed_choices() {
        assert_eq!(parse_choice("\n", 3, 1), Some(1));
        assert_eq!(parse_choice(" 3 \n", 3, 0), Some(2));
        assert_eq!(parse_choice("4", 3, 0), None);
        assert_eq!(parse_choice("0", 3, 0), None);
        assert_eq!(parse_choice("x", 3, 0), None);
    }

    #[test]
    fn single_entry_or_zero_timeout_needs_no_input() {
        assert_eq!(choose(&[entry("6.1")], 0, 5), 0);
        assert_eq!(choose(&[entry("6.2"), entry("6.1")], 1, 0), 1);
    }
}
