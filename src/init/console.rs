//! The menu's terminals: every console the kernel was given (`console=tty0
//! console=ttyS0` lists both in `/sys/class/tty/console/active`), each put in raw mode
//! for as long as the menu runs, each showing the same screen, any of them typing.
//! This is the only place the menu touches file descriptors; what to draw and what a
//! key means are decided in `menu`.
//!
//! The screen is drawn with a handful of VT100 sequences (cursor home and position,
//! erase line and below, hide and show the cursor), which the Linux console, every
//! serial terminal emulator and xterm understand, so no terminfo is needed and an
//! unset `TERM` is taken as VT100. Only `TERM=dumb` gets plain lines.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::fd::AsFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::termios::{self, InputFlags, LocalFlags, SetArg, SpecialCharacterIndices, Termios};

use super::keys::{Key, KeyDecoder};
use crate::printable::printable;

/// How long a lone ESC waits for the rest of a sequence before it counts as the Escape
/// key. A sequence's bytes arrive together even at 9600 baud (about 1 ms a byte).
pub(crate) const ESCAPE_PAUSE: Duration = Duration::from_millis(50);

/// The console names in `/sys/class/tty/console/active` (`tty0 ttyS0`, `hvc0`).
pub(crate) fn parse_active(text: &str) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for name in text.split_whitespace() {
        if !names.iter().any(|n| n == name) {
            names.push(name.to_string());
        }
    }
    names
}

/// The device nodes of the active consoles, or `/dev/console` when the kernel does
/// not say (no sysfs, or an empty list).
pub(crate) fn console_paths(sys_root: &Path, dev_root: &Path) -> Vec<PathBuf> {
    let active = std::fs::read_to_string(sys_root.join("class/tty/console/active"))
        .map(|text| parse_active(&text))
        .unwrap_or_default();
    if active.is_empty() {
        return vec![dev_root.join("console")];
    }
    active.iter().map(|name| dev_root.join(name)).collect()
}

/// Whether `TERM` allows cursor movement; unset means VT100, as the kernel's own
/// consoles and serial terminals are.
pub(crate) fn speaks_ansi(term: Option<&str>) -> bool {
    term != Some("dumb")
}

/// One console in raw mode. Dropping it puts the cursor below the menu, shows it and
/// restores the settings it had.
pub(crate) struct Terminal {
    file: File,
    saved: Termios,
    decoder: KeyDecoder,
    /// When the decoder started holding an unfinished sequence.
    pending_since: Option<Instant>,
    /// Cleared on hangup or a read error: the console still shows the menu if it can.
    readable: bool,
    /// Cleared on a write error.
    writable: bool,
}

impl Terminal {
    /// Takes over `file` if it is a terminal: raw mode (no echo, no line editing, no
    /// signals from Ctrl-C, no CR to LF), reads returning each byte as it arrives.
    /// Output processing stays on so other messages still get their CR.
    pub(crate) fn new(file: File) -> Result<Self, Errno> {
        let saved = termios::tcgetattr(file.as_fd())?;
        let mut raw = saved.clone();
        raw.local_flags
            .remove(LocalFlags::ICANON | LocalFlags::ECHO | LocalFlags::ISIG | LocalFlags::IEXTEN);
        raw.input_flags
            .remove(InputFlags::ICRNL | InputFlags::INLCR | InputFlags::IGNCR | InputFlags::IXON);
        raw.control_chars[SpecialCharacterIndices::VMIN as usize] = 1;
        raw.control_chars[SpecialCharacterIndices::VTIME as usize] = 0;
        termios::tcsetattr(file.as_fd(), SetArg::TCSANOW, &raw)?;
        Ok(Terminal {
            file,
            saved,
            decoder: KeyDecoder::new(),
            pending_since: None,
            readable: true,
            writable: true,
        })
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        // Best effort: a console that went away has nothing left to restore.
        let _ = termios::tcsetattr(self.file.as_fd(), SetArg::TCSADRAIN, &self.saved);
    }
}

/// A drawn screen: its lines and where the cursor is (row, column from 0), if shown.
type Screen = (Vec<String>, Option<(usize, usize)>);

/// Every terminal the menu runs on, with the screen last drawn on them.
pub(crate) struct Terminals {
    terminals: Vec<Terminal>,
    ansi: bool,
    /// The screen last drawn, so an unchanged screen is not sent again.
    shown: Option<Screen>,
}

impl Terminals {
    /// Opens the active consoles and keeps those that are terminals. Consoles that
    /// cannot be opened, or are not terminals, are left alone.
    pub(crate) fn open(sys_root: &Path, dev_root: &Path) -> Self {
        let terminals = console_paths(sys_root, dev_root)
            .into_iter()
            .filter_map(|path| {
                // O_NOCTTY: showing a menu must not make this PID 1's controlling tty.
                let file = OpenOptions::new()
                    .read(true)
                    .write(true)
                    .custom_flags(libc::O_NOCTTY)
                    .open(&path)
                    .ok()?;
                Terminal::new(file).ok()
            })
            .collect();
        Self::new(
            terminals,
            speaks_ansi(std::env::var("TERM").ok().as_deref()),
        )
    }

    pub(crate) fn new(terminals: Vec<Terminal>, ansi: bool) -> Self {
        Terminals {
            terminals,
            ansi,
            shown: None,
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.terminals.is_empty()
    }

    /// True while some terminal can still deliver keys.
    pub(crate) fn can_read(&self) -> bool {
        self.terminals.iter().any(|t| t.readable)
    }

    /// Shows `lines` on every terminal, with the cursor at `cursor` (row, column from
    /// 0) or hidden; nothing is sent when the screen has not changed.
    pub(crate) fn draw(&mut self, lines: &[String], cursor: Option<(usize, usize)>) {
        let first = match &self.shown {
            Some((shown_lines, shown_cursor))
                if shown_lines == lines && *shown_cursor == cursor =>
            {
                return
            }
            Some(_) => false,
            None => true,
        };
        let bytes = screen_bytes(lines, cursor, first, self.ansi);
        for terminal in self.terminals.iter_mut().filter(|t| t.writable) {
            if terminal.file.write_all(&bytes).is_err() {
                terminal.writable = false;
            }
        }
        self.shown = Some((lines.to_vec(), cursor));
    }

    /// Waits until keys arrive on any terminal or `deadline` passes, and returns the
    /// keys (none at the deadline). Unfinished escape sequences wait `ESCAPE_PAUSE` at
    /// most, then count as Escape.
    pub(crate) fn wait_for_keys(&mut self, deadline: Instant) -> Vec<Key> {
        loop {
            let now = Instant::now();
            let mut wake = deadline;
            for t in &self.terminals {
                if let Some(since) = t.pending_since {
                    wake = wake.min(since + ESCAPE_PAUSE);
                }
            }
            let mut keys = self.flush_stale_sequences(now);
            if !keys.is_empty() {
                return keys;
            }
            if now >= wake {
                return keys;
            }
            let readable: Vec<usize> = (0..self.terminals.len())
                .filter(|&i| self.terminals[i].readable)
                .collect();
            let wait = wake - now;
            if readable.is_empty() {
                std::thread::sleep(wait);
                continue;
            }
            let events = {
                let mut fds: Vec<PollFd> = readable
                    .iter()
                    .map(|&i| PollFd::new(self.terminals[i].file.as_fd(), PollFlags::POLLIN))
                    .collect();
                // Round up, so a wait of less than a millisecond does not spin.
                let millis = wait.as_millis().saturating_add(1);
                let timeout = PollTimeout::try_from(millis).unwrap_or(PollTimeout::MAX);
                match poll(&mut fds, timeout) {
                    Ok(0) | Err(Errno::EINTR) => continue,
                    Ok(_) => {}
                    // A poll that fails on the descriptors we gave it will fail again.
                    Err(_) => {
                        for &i in &readable {
                            self.terminals[i].readable = false;
                        }
                        continue;
                    }
                }
                fds.iter()
                    .map(|fd| fd.revents().unwrap_or(PollFlags::empty()))
                    .collect::<Vec<_>>()
            };
            for (&i, revents) in readable.iter().zip(events) {
                let terminal = &mut self.terminals[i];
                if revents.contains(PollFlags::POLLIN) {
                    keys.extend(read_keys(terminal));
                } else if revents
                    .intersects(PollFlags::POLLHUP | PollFlags::POLLERR | PollFlags::POLLNVAL)
                {
                    terminal.readable = false;
                }
            }
            if !keys.is_empty() {
                return keys;
            }
        }
    }

    fn flush_stale_sequences(&mut self, now: Instant) -> Vec<Key> {
        let mut keys = Vec::new();
        for t in &mut self.terminals {
            if t.pending_since
                .is_some_and(|since| now >= since + ESCAPE_PAUSE)
            {
                keys.extend(t.decoder.flush());
                t.pending_since = None;
            }
        }
        keys
    }
}

impl Drop for Terminals {
    fn drop(&mut self) {
        if !self.ansi {
            return;
        }
        // Leave the cursor visible on the line below the menu, so what kboot prints
        // next follows it.
        if let Some((lines, _)) = &self.shown {
            let bytes = format!("\x1b[{};1H\x1b[?25h", lines.len() + 1);
            for t in self.terminals.iter_mut().filter(|t| t.writable) {
                let _ = t.file.write_all(bytes.as_bytes());
            }
        }
    }
}

fn read_keys(terminal: &mut Terminal) -> Vec<Key> {
    let mut buf = [0u8; 64];
    match terminal.file.read(&mut buf) {
        // EOF on a terminal: the other side hung up.
        Ok(0) => {
            terminal.readable = false;
            Vec::new()
        }
        Ok(n) => {
            let keys = terminal.decoder.feed(&buf[..n]);
            terminal.pending_since = if terminal.decoder.has_pending() {
                terminal.pending_since.or(Some(Instant::now()))
            } else {
                None
            };
            keys
        }
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::Interrupted | io::ErrorKind::WouldBlock
            ) =>
        {
            Vec::new()
        }
        Err(_) => {
            terminal.readable = false;
            Vec::new()
        }
    }
}

/// The bytes that show `lines` with the cursor at `cursor` (hidden when `None`). The
/// first draw clears the screen; later ones overwrite it line by line and erase what
/// is left, which does not flicker on a slow serial line.
pub(crate) fn screen_bytes(
    lines: &[String],
    cursor: Option<(usize, usize)>,
    first: bool,
    ansi: bool,
) -> Vec<u8> {
    let mut out = String::new();
    if !ansi {
        if !first {
            out.push_str("\r\n");
        }
        for line in lines {
            out.push_str(&printable(line));
            out.push_str("\r\n");
        }
        return out.into_bytes();
    }
    out.push_str(if first {
        "\x1b[?25l\x1b[H\x1b[2J"
    } else {
        "\x1b[?25l\x1b[H"
    });
    for (i, line) in lines.iter().enumerate() {
        // The lines are text (`Menu::render` escapes what came from the disks); this
        // makes sure no control character in them can act on the terminal.
        out.push_str(&printable(line));
        out.push_str("\x1b[K");
        if i + 1 < lines.len() {
            out.push_str("\r\n");
        }
    }
    out.push_str("\x1b[J");
    if let Some((row, column)) = cursor {
        out.push_str(&format!("\x1b[{};{}H\x1b[?25h", row + 1, column + 1));
    }
    out.into_bytes()
}

#[cfg(test)]
mod tests;
