//! Bytes from a terminal in raw mode become menu keys. Terminals send arrows and the
//! editing keys as escape sequences (ECMA-48 CSI `ESC [ … final`, and the VT100
//! "application mode" SS3 `ESC O final`), and a serial line may hand them over a byte
//! at a time, so the decoder keeps what it has not finished and takes more later.
//! A lone ESC cannot be told from the start of a sequence until a short pause has
//! passed with nothing after it: the caller waits (`console::ESCAPE_PAUSE`) and then
//! calls `flush`.

const ESC: u8 = 0x1b;

/// What the user did, decoded from the terminal by `KeyDecoder`, or `Tick`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Key {
    Up,
    Down,
    Home,
    End,
    Enter,
    Digit(u8),
    Char(char),
    Backspace,
    Delete,
    Left,
    Right,
    Escape,
    CtrlX,
    /// One second passed.
    Tick,
}

/// Turns terminal bytes into keys, keeping unfinished sequences between calls.
#[derive(Debug, Default)]
pub(crate) struct KeyDecoder {
    pending: Vec<u8>,
    /// The last byte was CR: an LF right after it is the same Enter (CR LF terminals).
    after_cr: bool,
}

enum Step {
    /// A key (or nothing, for bytes that mean nothing here) from this many bytes.
    Done(Option<Key>, usize),
    /// The bytes so far may be the start of a longer sequence.
    NeedMore,
}

impl KeyDecoder {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// The keys these bytes complete, in order.
    pub(crate) fn feed(&mut self, bytes: &[u8]) -> Vec<Key> {
        self.pending.extend_from_slice(bytes);
        self.drain(false)
    }

    /// True while a sequence (or a lone ESC) is unfinished.
    pub(crate) fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// After a pause with no more bytes: an unfinished ESC is the Escape key, and the
    /// bytes after it are plain keys; an unfinished UTF-8 character is dropped.
    pub(crate) fn flush(&mut self) -> Vec<Key> {
        self.drain(true)
    }

    fn drain(&mut self, flushing: bool) -> Vec<Key> {
        let mut keys = Vec::new();
        while !self.pending.is_empty() {
            match decode(&self.pending) {
                Step::Done(key, used) => {
                    let lf_after_cr = self.after_cr && self.pending[0] == b'\n';
                    self.after_cr = self.pending[0] == b'\r';
                    self.pending.drain(..used);
                    if let Some(key) = key.filter(|_| !lf_after_cr) {
                        keys.push(key);
                    }
                }
                Step::NeedMore if !flushing => break,
                Step::NeedMore => {
                    self.after_cr = false;
                    if self.pending[0] == ESC {
                        keys.push(Key::Escape);
                        self.pending.remove(0);
                    } else {
                        // An unfinished UTF-8 character: nothing to show for it.
                        self.pending.clear();
                    }
                }
            }
        }
        keys
    }
}

fn decode(bytes: &[u8]) -> Step {
    let Some(&first) = bytes.first() else {
        return Step::NeedMore;
    };
    let key = match first {
        ESC => return decode_escape(bytes),
        b'\r' | b'\n' => Key::Enter,
        0x7f | 0x08 => Key::Backspace,
        0x18 => Key::CtrlX,
        // Ctrl-A and Ctrl-E, as in GRUB's editor and readline.
        0x01 => Key::Home,
        0x05 => Key::End,
        b'0'..=b'9' => Key::Digit(first - b'0'),
        0x20..=0x7e => Key::Char(char::from(first)),
        0x80..=0xff => return decode_utf8(bytes),
        _ => return Step::Done(None, 1),
    };
    Step::Done(Some(key), 1)
}

/// `ESC [ params final`, `ESC O final`, or ESC followed by something else (then ESC
/// is the Escape key on its own and the next byte starts afresh).
fn decode_escape(bytes: &[u8]) -> Step {
    match bytes.get(1) {
        None => Step::NeedMore,
        Some(b'[') => {
            // Parameter and intermediate bytes are 0x20..=0x3f; the final byte ends it.
            let Some(end) = bytes[2..].iter().position(|b| !(0x20..=0x3f).contains(b)) else {
                return Step::NeedMore;
            };
            let final_at = 2 + end;
            let params = &bytes[2..final_at];
            let key = match bytes[final_at] {
                // VT220 keys: 1 and 7 Home, 4 and 8 End, 3 Delete (rxvt and the
                // Linux console use 1/4, xterm 7/8 in some modes).
                b'~' => match params {
                    b"1" | b"7" => Some(Key::Home),
                    b"4" | b"8" => Some(Key::End),
                    b"3" => Some(Key::Delete),
                    _ => None,
                },
                other => cursor_key(other),
            };
            Step::Done(key, final_at + 1)
        }
        Some(b'O') => match bytes.get(2) {
            None => Step::NeedMore,
            Some(&b) => Step::Done(cursor_key(b), 3),
        },
        Some(_) => Step::Done(Some(Key::Escape), 1),
    }
}

/// The final byte of a cursor key, the same after `ESC [` and `ESC O` (the
/// terminal's two cursor-key modes).
fn cursor_key(final_byte: u8) -> Option<Key> {
    match final_byte {
        b'A' => Some(Key::Up),
        b'B' => Some(Key::Down),
        b'C' => Some(Key::Right),
        b'D' => Some(Key::Left),
        b'H' => Some(Key::Home),
        b'F' => Some(Key::End),
        _ => None,
    }
}

fn decode_utf8(bytes: &[u8]) -> Step {
    let len = match bytes[0] {
        0xc2..=0xdf => 2,
        0xe0..=0xef => 3,
        0xf0..=0xf4 => 4,
        _ => return Step::Done(None, 1),
    };
    if bytes.len() < len {
        // A continuation byte that does not fit cannot become valid later.
        if bytes[1..].iter().any(|b| b & 0xc0 != 0x80) {
            return Step::Done(None, 1);
        }
        return Step::NeedMore;
    }
    match std::str::from_utf8(&bytes[..len])
        .ok()
        .and_then(|s| s.chars().next())
    {
        Some(c) if !c.is_control() => Step::Done(Some(Key::Char(c)), len),
        _ => Step::Done(None, 1),
    }
}

#[cfg(test)]
mod tests;
