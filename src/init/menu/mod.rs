//! The boot menu: a list of entries with a default and a countdown, the keys GRUB users
//! expect (arrows, digits, Enter, `e` to edit the command line), and `r`/`s` for rescan
//! and rescue. Locked (`kboot.lock`, an untrusted console) it only chooses, boots and
//! rescans: no editing, no rescue prompt.
//!
//! `Menu` (here) is a pure state machine (`handle` a `Key`, get an `Outcome`) and
//! `render` a pure function of its state, so both are tested without a terminal;
//! `run` drives it on the consoles. The terminal side (which consoles, raw mode,
//! drawing on all of them, reading keys from any of them, the one-second tick) is in
//! `console`; bytes become keys in `keys`.
//!
//! Why not `dialoguer` (which issue 5 names): its prompts (`Select::interact_on`) draw
//! on one `console::Term` and block in `Term::read_key` on that one terminal until a
//! key arrives. kboot must draw on every console the kernel was given (`console=tty0
//! console=ttyS0`), take the first key from any of them, and advance a countdown once
//! a second while nobody types; none of that fits a blocking read on a single
//! terminal, and editing the command line in place (GRUB's `e`) is not a dialoguer
//! prompt either. The screen here is a few lines of VT100; a small renderer does what
//! the issue asks where the library cannot.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

pub(crate) use super::keys::Key;
pub(crate) use run::run_menu;

mod render;
mod run;

/// Seconds to wait before booting the default when nobody can type and the command
/// line said to wait forever (`kboot.timeout=-1`): waiting forever would hang a
/// headless machine.
pub(crate) const NO_TERMINAL_WAIT_SECS: u64 = 5;

/// The width the menu is drawn for: serial consoles do not know their size, and 80
/// columns fit every terminal.
pub(crate) const SCREEN_WIDTH: usize = 80;

/// Entries listed at once; more scroll. With the lines around the list, the menu fits
/// the 24 lines of a VT100 or a default serial terminal.
const LIST_ROWS: usize = 10;

/// How often the countdown moves.
const TICK: Duration = Duration::from_secs(1);

/// One line of the menu, as the boot flow describes an entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MenuItem {
    pub title: String,
    /// Shown under the list for the selected entry: kernel, ramdisk, where it came from.
    pub detail: String,
    /// The command line the target gets unless the user edits it.
    pub cmdline: String,
    /// Why booting this entry failed last time; the menu marks it.
    pub problem: Option<String>,
    /// Why kboot cannot boot this entry at all (`chainloader (another boot loader)`):
    /// the menu marks it so, and never counts down to it.
    pub cannot_boot: Option<String>,
}

/// What the boot flow should do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Keep waiting for keys.
    Continue,
    /// Boot entry `index` with this command line (edited or not).
    Boot { index: usize, cmdline: String },
    /// Look for devices and entries again, then show the menu again.
    Rescan,
    /// Open the rescue prompt.
    Rescue,
}

/// `kboot.menu=`: when the menu is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum MenuMode {
    Always,
    /// Only when there is a choice (more than one entry).
    #[default]
    Auto,
    Never,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("kboot.menu={0:?} is not one of always, auto, never")]
pub(crate) struct BadMenuMode(String);

impl FromStr for MenuMode {
    type Err = BadMenuMode;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "always" => Ok(MenuMode::Always),
            "auto" => Ok(MenuMode::Auto),
            "never" => Ok(MenuMode::Never),
            other => Err(BadMenuMode(other.to_string())),
        }
    }
}

impl fmt::Display for MenuMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MenuMode::Always => "always",
            MenuMode::Auto => "auto",
            MenuMode::Never => "never",
        })
    }
}

/// Whether to show the menu at all (else the boot flow boots the default at once).
/// An entry that failed to boot always brings the menu back, whatever `kboot.menu=`
/// says: booting the same default again would loop, and the user needs to see why.
/// Otherwise a zero timeout means no menu, `never` means no menu, and `auto` shows it
/// only when there is a choice.
pub(crate) fn should_show(mode: MenuMode, entries: &[MenuItem], timeout_secs: i64) -> bool {
    if entries.is_empty() {
        return false;
    }
    if entries.iter().any(|e| e.problem.is_some()) {
        return true;
    }
    if timeout_secs == 0 {
        return false;
    }
    match mode {
        MenuMode::Always => true,
        MenuMode::Auto => entries.len() > 1,
        MenuMode::Never => false,
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Mode {
    Choosing,
    /// Editing the selected entry's command line; `cursor` counts chars, not bytes.
    Editing {
        line: Vec<char>,
        cursor: usize,
    },
}

/// The menu's state: entries, which is selected, the default and the countdown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Menu {
    items: Vec<MenuItem>,
    selected: usize,
    default: usize,
    /// Seconds left before the default boots; `None` once stopped or when waiting
    /// forever.
    countdown_secs: Option<u64>,
    mode: Mode,
    /// `kboot.lock`: `e` and `s` do nothing.
    locked: bool,
}

impl Menu {
    /// `timeout_secs`: `0` boots the default at once (see `boots_at_once`), negative
    /// waits forever, N counts N ticks. A default marked with a problem, or one kboot
    /// cannot boot, never counts down: booting it again unasked would loop.
    pub(crate) fn new(items: Vec<MenuItem>, default: usize, timeout_secs: i64) -> Self {
        let default = if default < items.len() { default } else { 0 };
        let default_failed = items
            .get(default)
            .is_some_and(|i| i.problem.is_some() || i.cannot_boot.is_some());
        let countdown_secs = if default_failed {
            None
        } else {
            u64::try_from(timeout_secs).ok()
        };
        Menu {
            items,
            selected: default,
            default,
            countdown_secs,
            mode: Mode::Choosing,
            locked: false,
        }
    }

    /// The menu for an untrusted console (`kboot.lock`): no editing, no rescue prompt.
    pub(crate) fn locked(mut self, locked: bool) -> Self {
        self.locked = locked;
        self
    }

    /// True when the default should boot without drawing anything (`timeout 0`).
    pub(crate) fn boots_at_once(&self) -> bool {
        self.countdown_secs == Some(0) && !self.items.is_empty()
    }

    pub(crate) fn default_index(&self) -> usize {
        self.default
    }

    pub(crate) fn items(&self) -> &[MenuItem] {
        &self.items
    }

    pub(crate) fn countdown_secs(&self) -> Option<u64> {
        self.countdown_secs
    }

    /// Booting the default entry with its own command line.
    pub(crate) fn boot_default(&self) -> Outcome {
        self.boot(self.default)
    }

    fn boot(&self, index: usize) -> Outcome {
        match self.items.get(index) {
            Some(item) => Outcome::Boot {
                index,
                cmdline: item.cmdline.clone(),
            },
            None => Outcome::Continue,
        }
    }

    pub(crate) fn handle(&mut self, key: Key) -> Outcome {
        if self.items.is_empty() {
            return Outcome::Rescue;
        }
        if key == Key::Tick {
            return self.tick();
        }
        // Any key stops the countdown, as in GRUB.
        self.countdown_secs = None;
        match &mut self.mode {
            Mode::Choosing => self.handle_choosing(key),
            Mode::Editing { line, cursor } => {
                match key {
                    Key::Enter | Key::CtrlX => {
                        return Outcome::Boot {
                            index: self.selected,
                            cmdline: line.iter().collect(),
                        }
                    }
                    Key::Escape => self.mode = Mode::Choosing,
                    Key::Char(c) => {
                        line.insert(*cursor, c);
                        *cursor += 1;
                    }
                    Key::Digit(d) => {
                        line.insert(*cursor, char::from(b'0' + d.min(9)));
                        *cursor += 1;
                    }
                    Key::Backspace if *cursor > 0 => {
                        *cursor -= 1;
                        line.remove(*cursor);
                    }
                    Key::Delete if *cursor < line.len() => {
                        line.remove(*cursor);
                    }
                    Key::Left => *cursor = cursor.saturating_sub(1),
                    Key::Right => *cursor = (*cursor + 1).min(line.len()),
                    Key::Home => *cursor = 0,
                    Key::End => *cursor = line.len(),
                    _ => {}
                }
                Outcome::Continue
            }
        }
    }

    fn tick(&mut self) -> Outcome {
        match self.countdown_secs {
            Some(left) if left <= 1 => {
                self.countdown_secs = Some(0);
                self.boot_default()
            }
            Some(left) => {
                self.countdown_secs = Some(left - 1);
                Outcome::Continue
            }
            None => Outcome::Continue,
        }
    }

    fn handle_choosing(&mut self, key: Key) -> Outcome {
        let last = self.items.len() - 1;
        match key {
            Key::Up => self.selected = self.selected.saturating_sub(1),
            Key::Down => self.selected = (self.selected + 1).min(last),
            Key::Home => self.selected = 0,
            Key::End => self.selected = last,
            Key::Enter => return self.boot(self.selected),
            // Digits number the entries from 1, as the list shows them.
            Key::Digit(d) if (1..=self.items.len()).contains(&usize::from(d)) => {
                self.selected = usize::from(d) - 1;
                return self.boot(self.selected);
            }
            Key::Char('e' | 's') if self.locked => {}
            Key::Char('e') => {
                let line: Vec<char> = self.items[self.selected].cmdline.chars().collect();
                self.mode = Mode::Editing {
                    cursor: line.len(),
                    line,
                };
            }
            Key::Char('r') => return Outcome::Rescan,
            Key::Char('s') => return Outcome::Rescue,
            _ => {}
        }
        Outcome::Continue
    }

    #[cfg(test)]
    pub(crate) fn is_editing(&self) -> bool {
        matches!(self.mode, Mode::Editing { .. })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
