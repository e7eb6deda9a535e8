//! The boot menu: a list of entries with a default and a countdown, the keys GRUB users
//! expect (arrows, digits, Enter, `e` to edit the command line), and `r`/`s` for rescan
//! and rescue.
//!
//! `Menu` is a pure state machine (`handle` a `Key`, get an `Outcome`) and `render` a
//! pure function of its state, so both are tested without a terminal. The terminal
//! side (which consoles, raw mode, drawing on all of them, reading keys from any of
//! them, the one-second tick) is in `console`; bytes become keys in `keys`.
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
use std::path::Path;
use std::str::FromStr;
use std::thread;
use std::time::{Duration, Instant};

use super::console::Terminals;
pub(crate) use super::keys::Key;
use super::log;

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
}

impl Menu {
    /// `timeout_secs`: `0` boots the default at once (see `boots_at_once`), negative
    /// waits forever, N counts N ticks. A default marked with a problem never counts
    /// down: booting it again unasked would loop.
    pub(crate) fn new(items: Vec<MenuItem>, default: usize, timeout_secs: i64) -> Self {
        let default = if default < items.len() { default } else { 0 };
        let default_failed = items.get(default).is_some_and(|i| i.problem.is_some());
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
        }
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

    /// The screen, one string per line, none longer than `width` chars. Plain text: the
    /// console layer adds the escape sequences.
    pub(crate) fn render(&self, width: usize) -> Vec<String> {
        let width = width.max(20);
        match &self.mode {
            Mode::Choosing => self.render_list(width),
            Mode::Editing { line, .. } => self.render_editor(width, line),
        }
    }

    fn title_bar(&self, width: usize, what: &str) -> String {
        let text = format!(" kboot {}: {what} ", env!("CARGO_PKG_VERSION"));
        fit(&format!("{text:=^width$}"), width)
    }

    fn render_list(&self, width: usize) -> Vec<String> {
        let mut lines = vec![self.title_bar(width, "choose what to boot"), String::new()];
        // A long list scrolls with the selection, so the screen fits a 24-line terminal.
        let first = (self.selected + 1).saturating_sub(LIST_ROWS);
        let shown = self.items.len().min(first + LIST_ROWS);
        if first > 0 {
            lines.push(format!("     ({first} more above)"));
        }
        for (i, item) in self.items.iter().enumerate().take(shown).skip(first) {
            let marker = if i == self.selected { '>' } else { ' ' };
            let star = if i == self.default { '*' } else { ' ' };
            lines.push(fit(
                &format!(" {marker} {}{star} {}", i + 1, item.title),
                width,
            ));
            if let Some(problem) = &item.problem {
                lines.extend(word_wrap(&format!("failed: {problem}"), "      ", width));
            }
        }
        if shown < self.items.len() {
            lines.push(format!("     ({} more below)", self.items.len() - shown));
        }
        lines.push(String::new());
        if let Some(item) = self.items.get(self.selected) {
            lines.extend(word_wrap(&item.detail, " ", width));
            lines.extend(word_wrap(&item.cmdline, " ", width));
        }
        lines.push(String::new());
        match (self.countdown_secs, self.items.get(self.default)) {
            (Some(left), Some(item)) => lines.extend(word_wrap(
                &format!("Booting {} in {left} s (any key stops)", item.title),
                " ",
                width,
            )),
            _ => lines.push(String::new()),
        }
        for help in [
            "Up/Down/Home/End, 1-9: choose; Enter: boot; e: edit command line;",
            "r: rescan devices; s: rescue prompt",
        ] {
            lines.extend(word_wrap(help, " ", width));
        }
        lines
    }

    fn render_editor(&self, width: usize, line: &[char]) -> Vec<String> {
        let title = self
            .items
            .get(self.selected)
            .map_or("", |i| i.title.as_str());
        let mut lines = vec![
            self.title_bar(width, "edit the command line"),
            String::new(),
            fit(&format!(" {} {title}", self.selected + 1), width),
            String::new(),
        ];
        let text: String = line.iter().collect();
        lines.extend(wrap(&text, " ", width));
        lines.push(String::new());
        for help in [
            "Enter or Ctrl-X: boot with this command line; Escape: back to the list",
            "Left/Right/Home/End move; Backspace/Delete erase",
        ] {
            lines.extend(word_wrap(help, " ", width));
        }
        lines
    }

    /// Where the terminal cursor belongs (0-based row and column on the rendered
    /// screen), when editing; `None` hides it.
    pub(crate) fn cursor(&self, width: usize) -> Option<(usize, usize)> {
        let width = width.max(20);
        match &self.mode {
            Mode::Choosing => None,
            Mode::Editing { cursor, .. } => {
                // Lines hold `width - 1` chars after a one-space indent (see `wrap`);
                // the editor's text starts on row 4.
                let per_line = width - 1;
                Some((4 + cursor / per_line, 1 + cursor % per_line))
            }
        }
    }

    #[cfg(test)]
    pub(crate) fn is_editing(&self) -> bool {
        matches!(self.mode, Mode::Editing { .. })
    }
}

/// Shows the menu on every console and returns what the user chose, or the default
/// when the countdown runs out. `timeout_secs`: `0` boots the default at once without
/// drawing, negative waits for a key, N waits N seconds. With no terminal to draw on
/// it waits the timeout and boots the default (or opens the rescue prompt if the
/// default already failed).
pub(crate) fn run_menu(items: &[MenuItem], default: usize, timeout_secs: i64) -> Outcome {
    let mut menu = Menu::new(items.to_vec(), default, timeout_secs);
    if items.is_empty() {
        return Outcome::Rescue;
    }
    if menu.boots_at_once() {
        return menu.boot_default();
    }
    let mut terminals = Terminals::open(Path::new("/sys"), Path::new("/dev"));
    if terminals.is_empty() {
        return without_terminal(&menu, timeout_secs);
    }
    drive(&mut menu, &mut terminals, TICK)
}

/// Nobody can type: wait as a menu would have, then boot the default. A default that
/// failed already goes to the rescue prompt instead, which retries on its own when no
/// one answers, so a broken entry is never booted in a tight loop.
fn without_terminal(menu: &Menu, timeout_secs: i64) -> Outcome {
    let Some(item) = menu.items().get(menu.default_index()) else {
        return Outcome::Rescue;
    };
    if item.problem.is_some() {
        return Outcome::Rescue;
    }
    let wait_secs = u64::try_from(timeout_secs).unwrap_or(NO_TERMINAL_WAIT_SECS);
    log::say(format!(
        "no terminal to show the menu on; booting {} in {wait_secs} s",
        item.title
    ));
    thread::sleep(Duration::from_secs(wait_secs));
    menu.boot_default()
}

/// The menu's loop: draw, wait for keys or the next tick, apply them.
fn drive(menu: &mut Menu, terminals: &mut Terminals, tick: Duration) -> Outcome {
    let mut next_tick = Instant::now() + tick;
    loop {
        terminals.draw(&menu.render(SCREEN_WIDTH), menu.cursor(SCREEN_WIDTH));
        if !terminals.can_read() && menu.countdown_secs().is_none() {
            // Every console hung up and nothing counts down: stop waiting.
            return without_terminal(menu, 0);
        }
        for key in terminals.wait_for_keys(next_tick) {
            let outcome = menu.handle(key);
            if outcome != Outcome::Continue {
                return outcome;
            }
        }
        if Instant::now() >= next_tick {
            next_tick += tick;
            let outcome = menu.handle(Key::Tick);
            if outcome != Outcome::Continue {
                return outcome;
            }
        }
    }
}

/// Cuts `text` to `width` chars.
fn fit(text: &str, width: usize) -> String {
    text.chars().take(width).collect()
}

/// Fills lines of at most `width` chars (with `indent`) word by word; a word longer
/// than a line is cut.
fn word_wrap(text: &str, indent: &str, width: usize) -> Vec<String> {
    let room = width.saturating_sub(indent.chars().count()).max(1);
    let mut lines = Vec::new();
    let mut current = String::new();
    let mut current_chars = 0;
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        let chars: Vec<char> = word.chars().collect();
        for piece in chars.chunks(room) {
            if current_chars > 0 && current_chars + 1 + piece.len() > room {
                lines.push(format!("{indent}{current}"));
                current.clear();
                current_chars = 0;
            }
            if current_chars > 0 {
                current.push(' ');
                current_chars += 1;
            }
            current.extend(piece);
            current_chars += piece.len();
        }
    }
    if current_chars > 0 || lines.is_empty() {
        lines.push(format!("{indent}{current}"));
    }
    lines
}

/// Splits `text` into lines of `width` chars each, including `indent`; an empty text is
/// still one (indented) line, where the editor's cursor sits.
fn wrap(text: &str, indent: &str, width: usize) -> Vec<String> {
    let per_line = width.saturating_sub(indent.chars().count()).max(1);
    let chars: Vec<char> = text.chars().collect();
    if chars.is_empty() {
        return vec![indent.to_string()];
    }
    let mut lines: Vec<String> = chars
        .chunks(per_line)
        .map(|chunk| format!("{indent}{}", chunk.iter().collect::<String>()))
        .collect();
    // A cursor just past a full last line needs a row to sit on.
    if chars.len().is_multiple_of(per_line) {
        lines.push(indent.to_string());
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(n: u32) -> MenuItem {
        MenuItem {
            title: format!("Debian 6.1.0-{n}"),
            detail: format!("/boot/vmlinuz-6.1.0-{n} initrd /boot/initrd.img-6.1.0-{n}"),
            cmdline: format!("root=/dev/vda1 v={n}"),
            problem: None,
        }
    }

    fn three(timeout_secs: i64) -> Menu {
        Menu::new(vec![item(3), item(2), item(1)], 0, timeout_secs)
    }

    fn boot(index: usize, cmdline: &str) -> Outcome {
        Outcome::Boot {
            index,
            cmdline: cmdline.into(),
        }
    }

    fn press(menu: &mut Menu, keys: &[Key]) -> Outcome {
        let mut last = Outcome::Continue;
        for &k in keys {
            last = menu.handle(k);
        }
        last
    }

    #[test]
    fn countdown_ticks_to_the_default() {
        let mut menu = Menu::new(vec![item(3), item(2)], 1, 3);
        assert_eq!(menu.handle(Key::Tick), Outcome::Continue);
        assert_eq!(menu.countdown_secs(), Some(2));
        assert_eq!(menu.handle(Key::Tick), Outcome::Continue);
        assert_eq!(menu.handle(Key::Tick), boot(1, "root=/dev/vda1 v=2"));
    }

    #[test]
    fn any_key_stops_the_countdown() {
        let mut menu = three(2);
        assert_eq!(menu.handle(Key::Escape), Outcome::Continue);
        assert_eq!(menu.countdown_secs(), None);
        for _ in 0..10 {
            assert_eq!(menu.handle(Key::Tick), Outcome::Continue);
        }
    }

    #[test]
    fn negative_timeout_waits_forever_and_zero_boots_at_once() {
        let mut menu = three(-1);
        assert!(!menu.boots_at_once());
        assert_eq!(menu.handle(Key::Tick), Outcome::Continue);
        assert_eq!(menu.countdown_secs(), None);
        let menu = three(0);
        assert!(menu.boots_at_once());
        assert_eq!(menu.boot_default(), boot(0, "root=/dev/vda1 v=3"));
    }

    #[test]
    fn a_failed_default_does_not_count_down() {
        let mut items = vec![item(3), item(2)];
        items[0].problem = Some("bad kernel".into());
        let mut menu = Menu::new(items, 0, 0);
        assert!(!menu.boots_at_once());
        assert_eq!(menu.handle(Key::Tick), Outcome::Continue);
        // It can still be chosen by hand.
        assert_eq!(menu.handle(Key::Enter), boot(0, "root=/dev/vda1 v=3"));
    }

    #[test]
    fn arrows_move_and_stop_at_the_ends() {
        let mut menu = three(-1);
        assert_eq!(
            press(&mut menu, &[Key::Up, Key::Enter]),
            boot(0, "root=/dev/vda1 v=3")
        );
        let mut menu = three(-1);
        assert_eq!(
            press(&mut menu, &[Key::Down, Key::Down, Key::Down, Key::Enter]),
            boot(2, "root=/dev/vda1 v=1")
        );
        let mut menu = three(-1);
        assert_eq!(
            press(&mut menu, &[Key::Down, Key::Down, Key::Up, Key::Enter]),
            boot(1, "root=/dev/vda1 v=2")
        );
        let mut menu = three(-1);
        assert_eq!(
            press(&mut menu, &[Key::End, Key::Enter]),
            boot(2, "root=/dev/vda1 v=1")
        );
        let mut menu = three(-1);
        assert_eq!(
            press(&mut menu, &[Key::End, Key::Home, Key::Enter]),
            boot(0, "root=/dev/vda1 v=3")
        );
    }

    #[test]
    fn a_digit_boots_that_entry_at_once() {
        let mut menu = three(5);
        assert_eq!(menu.handle(Key::Digit(2)), boot(1, "root=/dev/vda1 v=2"));
        let mut menu = three(5);
        assert_eq!(menu.handle(Key::Digit(3)), boot(2, "root=/dev/vda1 v=1"));
        // No entry 0 or 4: ignored, but the countdown stops.
        let mut menu = three(5);
        assert_eq!(menu.handle(Key::Digit(0)), Outcome::Continue);
        assert_eq!(menu.handle(Key::Digit(4)), Outcome::Continue);
        assert_eq!(menu.countdown_secs(), None);
    }

    #[test]
    fn r_rescans_and_s_opens_rescue() {
        assert_eq!(three(5).handle(Key::Char('r')), Outcome::Rescan);
        assert_eq!(three(5).handle(Key::Char('s')), Outcome::Rescue);
        let mut menu = three(5);
        for key in [
            Key::Char('x'),
            Key::Escape,
            Key::CtrlX,
            Key::Left,
            Key::Delete,
        ] {
            assert_eq!(menu.handle(key), Outcome::Continue);
        }
    }

    #[test]
    fn edit_inserts_at_the_cursor_and_enter_boots_the_edited_line() {
        let mut menu = three(5);
        assert_eq!(menu.handle(Key::Char('e')), Outcome::Continue);
        assert!(menu.is_editing());
        // Letters that are commands in the list are text here; digits too.
        let typed = [
            Key::Char(' '),
            Key::Char('r'),
            Key::Char('s'),
            Key::Char('e'),
            Key::Char('='),
            Key::Digit(1),
        ];
        assert_eq!(press(&mut menu, &typed), Outcome::Continue);
        assert_eq!(menu.handle(Key::Enter), boot(0, "root=/dev/vda1 v=3 rse=1"));
    }

    #[test]
    fn edit_moves_the_cursor_and_erases() {
        let mut menu = three(-1);
        let keys = [
            Key::Down,
            Key::Char('e'),
            Key::Home,
            Key::Delete, // "oot=…"
            Key::Char('R'),
            Key::End,
            Key::Backspace, // "v="
            Key::Char('9'),
            Key::Left,
            Key::Left,
            Key::Left,
            Key::Backspace, // the space before "v=9"
            Key::Right,
            Key::Right,
            Key::Right,
            Key::Right, // stops at the end
            Key::Char('!'),
        ];
        assert_eq!(press(&mut menu, &keys), Outcome::Continue);
        assert_eq!(menu.handle(Key::CtrlX), boot(1, "Root=/dev/vda1v=9!"));
    }

    #[test]
    fn backspace_at_start_and_delete_at_end_do_nothing() {
        let mut menu = three(-1);
        let keys = [
            Key::Char('e'),
            Key::Delete,
            Key::Home,
            Key::Backspace,
            Key::Left,
        ];
        assert_eq!(press(&mut menu, &keys), Outcome::Continue);
        assert_eq!(menu.handle(Key::Enter), boot(0, "root=/dev/vda1 v=3"));
    }

    #[test]
    fn escape_leaves_the_editor_and_drops_the_edit() {
        let mut menu = three(5);
        let keys = [Key::Char('e'), Key::Char('x'), Key::Escape];
        assert_eq!(press(&mut menu, &keys), Outcome::Continue);
        assert!(!menu.is_editing());
        // The countdown stays stopped; the list works again.
        assert_eq!(menu.handle(Key::Tick), Outcome::Continue);
        assert_eq!(menu.handle(Key::Char('r')), Outcome::Rescan);
        assert_eq!(menu.handle(Key::Enter), boot(0, "root=/dev/vda1 v=3"));
    }

    #[test]
    fn ticks_while_editing_do_not_boot() {
        let mut menu = three(1);
        menu.handle(Key::Char('e'));
        assert_eq!(menu.handle(Key::Tick), Outcome::Continue);
        assert!(menu.is_editing());
    }

    #[test]
    fn an_out_of_range_default_falls_back_to_the_first_entry() {
        let menu = Menu::new(vec![item(3), item(2)], 7, 0);
        assert_eq!(menu.default_index(), 0);
        assert_eq!(menu.boot_default(), boot(0, "root=/dev/vda1 v=3"));
        let mut empty = Menu::new(Vec::new(), 0, 0);
        assert!(!empty.boots_at_once());
        assert_eq!(empty.handle(Key::Enter), Outcome::Rescue);
    }

    fn golden_items() -> Vec<MenuItem> {
        let mut items = vec![item(3), item(2), item(1)];
        items[1].problem = Some(
            "kernel /boot/vmlinuz-6.1.0-2 cannot be booted: 512 bytes is too short \
             for a bzImage header"
                .into(),
        );
        items
    }

    #[test]
    fn renders_the_list_with_marker_default_failure_and_countdown() {
        let mut menu = Menu::new(golden_items(), 0, 5);
        menu.handle(Key::Tick);
        let v = env!("CARGO_PKG_VERSION");
        let bar = format!(" kboot {v}: choose what to boot ");
        let bar = format!("{bar:=^72}");
        let expected = vec![
            bar.as_str(),
            "",
            " > 1* Debian 6.1.0-3",
            "   2  Debian 6.1.0-2",
            "      failed: kernel /boot/vmlinuz-6.1.0-2 cannot be booted: 512 bytes",
            "      is too short for a bzImage header",
            "   3  Debian 6.1.0-1",
            "",
            " /boot/vmlinuz-6.1.0-3 initrd /boot/initrd.img-6.1.0-3",
            " root=/dev/vda1 v=3",
            "",
            " Booting Debian 6.1.0-3 in 4 s (any key stops)",
            " Up/Down/Home/End, 1-9: choose; Enter: boot; e: edit command line;",
            " r: rescan devices; s: rescue prompt",
        ];
        assert_eq!(menu.render(72), expected);
        assert_eq!(menu.cursor(72), None);
        assert!(menu.render(30).iter().all(|l| l.chars().count() <= 30));
    }

    #[test]
    fn renders_the_selection_and_no_countdown_once_stopped() {
        let mut menu = Menu::new(golden_items(), 0, 5);
        menu.handle(Key::Down);
        let screen = menu.render(80);
        assert_eq!(screen[2], "   1* Debian 6.1.0-3");
        assert_eq!(screen[3], " > 2  Debian 6.1.0-2");
        assert_eq!(
            screen[8],
            " /boot/vmlinuz-6.1.0-2 initrd /boot/initrd.img-6.1.0-2"
        );
        assert_eq!(screen[9], " root=/dev/vda1 v=2");
        assert_eq!(screen[11], "");
    }

    #[test]
    fn renders_the_editor_with_the_cursor_in_the_wrapped_line() {
        let mut menu = Menu::new(golden_items(), 0, 5);
        menu.handle(Key::Char('e'));
        for c in " console=ttyS0 console=tty0 quiet".chars() {
            menu.handle(Key::Char(c));
        }
        let v = env!("CARGO_PKG_VERSION");
        let bar = format!(" kboot {v}: edit the command line ");
        let bar = format!("{bar:=^40}");
        let expected = vec![
            bar.as_str(),
            "",
            " 1 Debian 6.1.0-3",
            "",
            " root=/dev/vda1 v=3 console=ttyS0 consol",
            " e=tty0 quiet",
            "",
            " Enter or Ctrl-X: boot with this command",
            " line; Escape: back to the list",
            " Left/Right/Home/End move;",
            " Backspace/Delete erase",
        ];
        assert_eq!(menu.render(40), expected);
        // 51 chars, 39 a line: row 4 + 1, column 1 + 12.
        assert_eq!(menu.cursor(40), Some((5, 13)));
        menu.handle(Key::Home);
        assert_eq!(menu.cursor(40), Some((4, 1)));
    }

    #[test]
    fn without_a_terminal_the_default_boots_unless_it_failed() {
        let menu = Menu::new(vec![item(3), item(2)], 1, 0);
        assert_eq!(without_terminal(&menu, 0), boot(1, "root=/dev/vda1 v=2"));
        let mut items = vec![item(3), item(2)];
        items[1].problem = Some("gone".into());
        let menu = Menu::new(items, 1, 5);
        assert_eq!(without_terminal(&menu, 5), Outcome::Rescue);
    }

    #[test]
    fn a_long_list_scrolls_with_the_selection() {
        let items: Vec<MenuItem> = (1..=14).map(item).collect();
        let mut menu = Menu::new(items, 0, -1);
        let screen = menu.render(80);
        assert_eq!(screen[2], " > 1* Debian 6.1.0-1");
        assert_eq!(screen[11], "   10  Debian 6.1.0-10");
        assert_eq!(screen[12], "     (4 more below)");
        for _ in 0..11 {
            menu.handle(Key::Down);
        }
        let screen = menu.render(80);
        assert_eq!(screen[2], "     (2 more above)");
        assert_eq!(screen[3], "   3  Debian 6.1.0-3");
        assert_eq!(screen[12], " > 12  Debian 6.1.0-12");
        assert_eq!(screen[13], "     (2 more below)");
        assert!(menu.render(80).len() <= 24);
    }

    #[test]
    fn word_wrap_fills_lines_and_cuts_long_words() {
        assert_eq!(word_wrap("ab cd ef", " ", 6), vec![" ab cd", " ef"]);
        assert_eq!(word_wrap("abcdefgh", " ", 4), vec![" abc", " def", " gh"]);
        assert_eq!(word_wrap("", " ", 4), vec![" "]);
    }

    #[test]
    fn a_cursor_after_a_full_line_has_a_row() {
        assert_eq!(wrap("abcd", " ", 5), vec![" abcd", " "]);
        assert_eq!(wrap("", " ", 5), vec![" "]);
        assert_eq!(wrap("abcde", " ", 5), vec![" abcd", " e"]);
    }

    #[test]
    fn should_show_follows_mode_entries_and_timeout() {
        let one = vec![item(1)];
        let two = vec![item(2), item(1)];
        assert!(should_show(MenuMode::Auto, &two, 5));
        assert!(!should_show(MenuMode::Auto, &one, 5));
        assert!(should_show(MenuMode::Always, &one, 5));
        assert!(should_show(MenuMode::Always, &one, -1));
        assert!(!should_show(MenuMode::Never, &two, 5));
        assert!(!should_show(MenuMode::Auto, &two, 0));
        assert!(!should_show(MenuMode::Always, &one, 0));
        assert!(!should_show(MenuMode::Always, &[], 5));
        let mut failed = one.clone();
        failed[0].problem = Some("gone".into());
        assert!(should_show(MenuMode::Never, &failed, 0));
        assert!(should_show(MenuMode::Auto, &failed, 5));
    }

    #[test]
    fn menu_mode_round_trips() {
        for mode in [MenuMode::Always, MenuMode::Auto, MenuMode::Never] {
            assert_eq!(mode.to_string().parse::<MenuMode>(), Ok(mode));
        }
        assert_eq!(
            "sometimes".parse::<MenuMode>(),
            Err(BadMenuMode("sometimes".into()))
        );
        assert_eq!(MenuMode::default(), MenuMode::Auto);
    }
}

/// The real IO path (raw mode, drawing, poll, key decoding, ticks) on pseudo-terminal
/// pairs: the test types on the master side as a user at a serial console would and
/// reads the screen there.
#[cfg(test)]
mod pty_tests {
    use super::*;
    use crate::init::console::Terminal;
    use nix::pty::openpty;
    use nix::sys::termios::{tcgetattr, LocalFlags};
    use std::fs::File;
    use std::io::{Read, Write};
    use std::sync::{Arc, Mutex};
    use std::thread::JoinHandle;

    /// The user's side of one console: what they see, and a keyboard.
    struct UserSide {
        keyboard: File,
        seen: Arc<Mutex<Vec<u8>>>,
    }

    impl UserSide {
        fn seen_text(&self) -> String {
            let seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
            String::from_utf8_lossy(&seen).into_owned()
        }

        /// Waits until the screen has shown `text`, then forgets what was seen.
        fn wait_for(&self, text: &str) {
            let deadline = Instant::now() + Duration::from_secs(10);
            while !self.seen_text().contains(text) {
                assert!(
                    Instant::now() < deadline,
                    "{text:?} never shown; screen: {:?}",
                    self.seen_text()
                );
                thread::sleep(Duration::from_millis(5));
            }
            self.seen.lock().unwrap_or_else(|p| p.into_inner()).clear();
        }

        fn type_bytes(&mut self, bytes: &[u8]) {
            self.keyboard.write_all(bytes).expect("write to pty master");
        }
    }

    /// A pty pair: the kboot side as a `Terminal`, the user side reading the screen in
    /// a thread (so kboot's writes never fill the pty buffer).
    fn console() -> (Terminal, UserSide, File) {
        let pty = openpty(None, None).expect("openpty");
        let master = File::from(pty.master);
        let slave = File::from(pty.slave);
        let slave_again = slave.try_clone().expect("dup slave");
        let terminal = Terminal::new(slave).expect("raw mode on the pty");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let mut screen = master.try_clone().expect("dup master");
        let sink = Arc::clone(&seen);
        thread::spawn(move || {
            let mut buf = [0u8; 4096];
            // Ends with EIO once every slave descriptor is closed.
            while let Ok(n @ 1..) = screen.read(&mut buf) {
                sink.lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .extend_from_slice(&buf[..n]);
            }
        });
        let user = UserSide {
            keyboard: master,
            seen,
        };
        (terminal, user, slave_again)
    }

    fn items() -> Vec<MenuItem> {
        ["6.1.0-3", "6.1.0-2", "6.1.0-1"]
            .iter()
            .map(|v| MenuItem {
                title: format!("Debian {v}"),
                detail: format!("/boot/vmlinuz-{v}"),
                cmdline: format!("root=/dev/vda1 ver={v}"),
                problem: None,
            })
            .collect()
    }

    fn start(terminals: Vec<Terminal>, timeout_secs: i64, tick: Duration) -> JoinHandle<Outcome> {
        thread::spawn(move || {
            let mut menu = Menu::new(items(), 0, timeout_secs);
            let mut terminals = Terminals::new(terminals, true);
            drive(&mut menu, &mut terminals, tick)
        })
    }

    fn boot(index: usize, cmdline: &str) -> Outcome {
        Outcome::Boot {
            index,
            cmdline: cmdline.into(),
        }
    }

    #[test]
    fn pty_arrow_down_and_enter_boot_the_second_entry() {
        let (terminal, mut user, _) = console();
        let menu = start(vec![terminal], -1, TICK);
        user.wait_for("choose what to boot");
        // Split as a slow serial line might deliver it.
        user.type_bytes(b"\x1b[");
        thread::sleep(Duration::from_millis(10));
        user.type_bytes(b"B");
        user.wait_for(" > 2  Debian 6.1.0-2");
        user.type_bytes(b"\r");
        assert_eq!(
            menu.join().expect("menu thread"),
            boot(1, "root=/dev/vda1 ver=6.1.0-2")
        );
    }

    #[test]
    fn pty_countdown_boots_the_default_without_a_key() {
        let (terminal, user, _) = console();
        let menu = start(vec![terminal], 3, Duration::from_millis(30));
        user.wait_for("Booting Debian 6.1.0-3 in 3 s (any key stops)");
        assert_eq!(
            menu.join().expect("menu thread"),
            boot(0, "root=/dev/vda1 ver=6.1.0-3")
        );
    }

    #[test]
    fn pty_a_key_stops_the_countdown() {
        let (terminal, mut user, _) = console();
        // 50 ticks of 20 ms: a second for the key to land before the default boots.
        let menu = start(vec![terminal], 50, Duration::from_millis(20));
        user.wait_for("in 50 s");
        user.type_bytes(b"\x1b[B");
        user.wait_for(" > 2");
        // Many ticks later the menu still waits.
        thread::sleep(Duration::from_millis(200));
        assert!(!menu.is_finished());
        assert!(!user.seen_text().contains("Booting"));
        user.type_bytes(b"3");
        assert_eq!(
            menu.join().expect("menu thread"),
            boot(2, "root=/dev/vda1 ver=6.1.0-1")
        );
    }

    #[test]
    fn pty_edit_escape_back_then_edit_and_ctrl_x() {
        let (terminal, mut user, _) = console();
        let menu = start(vec![terminal], 5, TICK);
        user.wait_for("choose what to boot");
        user.type_bytes(b"e");
        user.wait_for("edit the command line");
        // A lone ESC becomes Escape after the pause: back to the list.
        user.type_bytes(b"\x1b");
        user.wait_for("choose what to boot");
        user.type_bytes(b"e");
        user.wait_for("root=/dev/vda1 ver=6.1.0-3");
        user.type_bytes(b" quiet\x7f\x7ft\x1b[D\x1b[3~");
        user.wait_for("ver=6.1.0-3 qui");
        user.type_bytes(b"\x18");
        assert_eq!(
            menu.join().expect("menu thread"),
            boot(0, "root=/dev/vda1 ver=6.1.0-3 qui")
        );
    }

    #[test]
    fn pty_every_console_shows_the_menu_and_the_first_key_anywhere_wins() {
        let (serial, serial_user, _) = console();
        let (vga, mut vga_user, _) = console();
        let menu = start(vec![serial, vga], -1, TICK);
        serial_user.wait_for("choose what to boot");
        vga_user.wait_for("choose what to boot");
        vga_user.type_bytes(b"\x1b[B");
        // The selection moves on both screens.
        serial_user.wait_for(" > 2  Debian 6.1.0-2");
        vga_user.type_bytes(b"r");
        assert_eq!(menu.join().expect("menu thread"), Outcome::Rescan);
    }

    #[test]
    fn pty_raw_mode_is_restored_when_the_menu_ends() {
        let (terminal, mut user, slave) = console();
        let before = tcgetattr(&slave).expect("tcgetattr");
        assert!(!before.local_flags.contains(LocalFlags::ICANON));
        let menu = start(vec![terminal], -1, TICK);
        user.wait_for("choose what to boot");
        user.type_bytes(b"s");
        assert_eq!(menu.join().expect("menu thread"), Outcome::Rescue);
        let after = tcgetattr(&slave).expect("tcgetattr");
        assert!(after
            .local_flags
            .contains(LocalFlags::ICANON | LocalFlags::ECHO));
    }
}
