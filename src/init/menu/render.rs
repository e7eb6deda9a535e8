//! Drawing the menu: the list with its marks and countdown, and the command-line
//! editor, as plain lines of at most a given width (the console layer adds the
//! escape sequences). Text from the disks (titles, files, command lines) and the line
//! being edited are shown with their control characters escaped (`crate::printable`).

use super::{Menu, Mode, LIST_ROWS};
use crate::printable::{printable, Printable};

impl Menu {
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
                &format!(" {marker} {}{star} {}", i + 1, Printable(&item.title)),
                width,
            ));
            if let Some(reason) = &item.cannot_boot {
                lines.extend(word_wrap(
                    &format!("cannot boot: {}", Printable(reason)),
                    "      ",
                    width,
                ));
            } else if let Some(problem) = &item.problem {
                lines.extend(word_wrap(
                    &format!("failed: {}", Printable(problem)),
                    "      ",
                    width,
                ));
            }
        }
        if shown < self.items.len() {
            lines.push(format!("     ({} more below)", self.items.len() - shown));
        }
        lines.push(String::new());
        if let Some(item) = self.items.get(self.selected) {
            lines.extend(word_wrap(&printable(&item.detail), " ", width));
            lines.extend(word_wrap(&printable(&item.cmdline), " ", width));
        }
        lines.push(String::new());
        match (self.countdown_secs, self.items.get(self.default)) {
            (Some(left), Some(item)) => lines.extend(word_wrap(
                &format!(
                    "Booting {} in {left} s (any key stops)",
                    Printable(&item.title)
                ),
                " ",
                width,
            )),
            _ => lines.push(String::new()),
        }
        let help = if self.locked {
            [
                "Up/Down/Home/End, 1-9: choose; Enter: boot; r: rescan devices",
                "(kboot.lock: no editing, no rescue prompt)",
            ]
        } else {
            [
                "Up/Down/Home/End, 1-9: choose; Enter: boot; e: edit command line;",
                "r: rescan devices; s: rescue prompt",
            ]
        };
        for help in help {
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
            fit(
                &format!(" {} {}", self.selected + 1, Printable(title)),
                width,
            ),
            String::new(),
        ];
        let text: String = line.iter().collect();
        lines.extend(wrap(&printable(&text), " ", width));
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
            Mode::Editing { line, cursor } => {
                // Lines hold `width - 1` chars after a one-space indent (see `wrap`);
                // the editor's text starts on row 4. An escaped character takes the
                // room of its escape.
                let before: String = line.iter().take(*cursor).collect();
                let shown = printable(&before).chars().count();
                let per_line = width - 1;
                Some((4 + shown / per_line, 1 + shown % per_line))
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
pub(super) fn word_wrap(text: &str, indent: &str, width: usize) -> Vec<String> {
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
pub(super) fn wrap(text: &str, indent: &str, width: usize) -> Vec<String> {
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
