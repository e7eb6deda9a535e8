use super::*;

fn keys(bytes: &[u8]) -> Vec<Key> {
    let mut decoder = KeyDecoder::new();
    let mut keys = decoder.feed(bytes);
    keys.extend(decoder.flush());
    keys
}

/// What `ESC [ A`...`F` and `ESC O A`...`F` both decode to.
const CURSOR_KEYS: [Key; 6] = [
    Key::Up,
    Key::Down,
    Key::Right,
    Key::Left,
    Key::Home,
    Key::End,
];

#[test]
fn arrows_in_both_cursor_modes() {
    assert_eq!(keys(b"\x1b[A\x1b[B\x1b[C\x1b[D\x1b[H\x1b[F"), CURSOR_KEYS);
    assert_eq!(keys(b"\x1bOA\x1bOB\x1bOC\x1bOD\x1bOH\x1bOF"), CURSOR_KEYS);
}

#[test]
fn vt220_home_end_delete() {
    assert_eq!(
        keys(b"\x1b[1~\x1b[4~\x1b[3~\x1b[7~\x1b[8~"),
        [Key::Home, Key::End, Key::Delete, Key::Home, Key::End]
    );
}

#[test]
fn unknown_sequences_are_swallowed_whole() {
    // Page Up, F5, Shift-Tab: nothing, and no stray '[' or '~' as text.
    assert_eq!(keys(b"\x1b[5~\x1b[15~\x1b[Zx"), [Key::Char('x')]);
    // Ctrl-Up still moves up.
    assert_eq!(keys(b"\x1b[1;5A"), [Key::Up]);
    assert_eq!(keys(b"\x1bOP"), []);
}

#[test]
fn enter_backspace_ctrl_x_and_text() {
    assert_eq!(
        keys(b"\r\x7f\x08\x18\x01\x05a 7~"),
        [
            Key::Enter,
            Key::Backspace,
            Key::Backspace,
            Key::CtrlX,
            Key::Home,
            Key::End,
            Key::Char('a'),
            Key::Char(' '),
            Key::Digit(7),
            Key::Char('~'),
        ]
    );
    // Tab, Ctrl-C and NUL mean nothing here.
    assert_eq!(keys(b"\t\x03\x00"), []);
}

#[test]
fn cr_lf_is_one_enter_but_lf_alone_and_two_crs_are_each_enter() {
    assert_eq!(keys(b"\r\n"), [Key::Enter]);
    assert_eq!(keys(b"\n\n"), [Key::Enter, Key::Enter]);
    assert_eq!(keys(b"\r\r"), [Key::Enter, Key::Enter]);
    let mut decoder = KeyDecoder::new();
    assert_eq!(decoder.feed(b"\r"), [Key::Enter]);
    assert_eq!(decoder.feed(b"\n"), []);
}

#[test]
fn sequences_split_across_reads() {
    let mut decoder = KeyDecoder::new();
    assert_eq!(decoder.feed(b"\x1b"), []);
    assert!(decoder.has_pending());
    assert_eq!(decoder.feed(b"["), []);
    assert_eq!(decoder.feed(b"A"), [Key::Up]);
    assert!(!decoder.has_pending());
    assert_eq!(decoder.feed(b"x\x1b[3"), [Key::Char('x')]);
    assert_eq!(decoder.feed(b"~\x1bO"), [Key::Delete]);
    assert_eq!(decoder.feed(b"B"), [Key::Down]);
    // Byte by byte.
    let mut got = Vec::new();
    for b in b"\x1b[4~\x1b[D" {
        got.extend(decoder.feed(&[*b]));
    }
    assert_eq!(got, [Key::End, Key::Left]);
}

#[test]
fn a_lone_escape_waits_for_the_pause() {
    let mut decoder = KeyDecoder::new();
    assert_eq!(decoder.feed(b"\x1b"), []);
    assert_eq!(decoder.flush(), [Key::Escape]);
    assert!(!decoder.has_pending());
    // Escape then '[' typed slowly: Escape, then the text.
    assert_eq!(decoder.feed(b"\x1b["), []);
    assert_eq!(decoder.flush(), [Key::Escape, Key::Char('[')]);
    // Escape followed at once by another key (Alt-x): Escape, then x.
    assert_eq!(decoder.feed(b"\x1bx"), [Key::Escape, Key::Char('x')]);
    assert_eq!(decoder.feed(b"\x1b\x1b"), [Key::Escape]);
    assert_eq!(decoder.flush(), [Key::Escape]);
}

#[test]
fn utf8_text_split_across_reads() {
    let mut decoder = KeyDecoder::new();
    let bytes = "é€".as_bytes();
    assert_eq!(decoder.feed(&bytes[..1]), []);
    assert_eq!(decoder.feed(&bytes[1..3]), [Key::Char('é')]);
    assert_eq!(decoder.feed(&bytes[3..]), [Key::Char('€')]);
    // Broken sequences are dropped without eating what follows.
    assert_eq!(keys(b"\xc3a\xffb"), [Key::Char('a'), Key::Char('b')]);
    assert_eq!(keys(b"\xe2\x82"), []);
}
