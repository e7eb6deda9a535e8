use super::*;

#[test]
fn plain_text_is_borrowed_unchanged() {
    let text = "Fedora Linux (6.8.5) root=UUID=1234 quiet C:\\path é 日本";
    assert!(matches!(printable(text), Cow::Borrowed(t) if t == text));
    assert_eq!(Printable(text).to_string(), text);
}

#[test]
fn screen_clearing_escape_and_forged_line_are_shown_escaped() {
    assert_eq!(
        printable("a\x1b[2J\nkboot: fake line\r\tz"),
        "a\\x1b[2J\\nkboot: fake line\\r\\tz"
    );
}

#[test]
fn c0_del_c1_and_csi_are_escaped() {
    assert_eq!(printable("\0\x07\x7f"), "\\x00\\x07\\x7f");
    assert_eq!(printable("\u{80}\u{9b}2J\u{9f}"), "\\u{80}\\u{9b}2J\\u{9f}");
}

#[test]
fn bidi_overrides_and_isolates_are_escaped() {
    assert_eq!(
        printable("x\u{202a}\u{202e}gnp.exe\u{2066}\u{2069}"),
        "x\\u{202a}\\u{202e}gnp.exe\\u{2066}\\u{2069}"
    );
    // Neighbours of the ranges are ordinary text.
    assert_eq!(
        printable("\u{2029}\u{202f}\u{2065}\u{206a}"),
        "\u{2029}\u{202f}\u{2065}\u{206a}"
    );
}

#[test]
fn escaped_text_has_nothing_left_to_escape() {
    let once = printable("\x1b]0;title\x07\u{9b}").into_owned();
    assert_eq!(printable(&once), once);
}
