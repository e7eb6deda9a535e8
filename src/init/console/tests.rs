use super::*;

#[test]
fn active_consoles_in_order_without_repeats() {
    assert_eq!(parse_active("tty0 ttyS0\n"), ["tty0", "ttyS0"]);
    assert_eq!(parse_active("hvc0\n"), ["hvc0"]);
    assert_eq!(parse_active("ttyS0 ttyS0"), ["ttyS0"]);
    assert!(parse_active("\n").is_empty());
}

#[test]
fn console_paths_from_sysfs_or_dev_console() {
    let sys = tempfile::tempdir().expect("tempdir");
    let dev = Path::new("/dev");
    assert_eq!(
        console_paths(sys.path(), dev),
        [PathBuf::from("/dev/console")]
    );
    let dir = sys.path().join("class/tty/console");
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::write(dir.join("active"), "tty0 ttyS0\n").expect("write");
    assert_eq!(
        console_paths(sys.path(), dev),
        [PathBuf::from("/dev/tty0"), PathBuf::from("/dev/ttyS0")]
    );
    std::fs::write(dir.join("active"), "").expect("write");
    assert_eq!(
        console_paths(sys.path(), dev),
        [PathBuf::from("/dev/console")]
    );
}

#[test]
fn unset_term_is_vt100_and_only_dumb_is_plain() {
    assert!(speaks_ansi(None));
    assert!(speaks_ansi(Some("linux")));
    assert!(speaks_ansi(Some("vt100")));
    assert!(!speaks_ansi(Some("dumb")));
}

#[test]
fn screen_bytes_clear_once_then_overwrite() {
    let lines = vec!["a".to_string(), "b".to_string()];
    assert_eq!(
        screen_bytes(&lines, None, true, true),
        b"\x1b[?25l\x1b[H\x1b[2Ja\x1b[K\r\nb\x1b[K\x1b[J"
    );
    assert_eq!(
        screen_bytes(&lines, Some((1, 4)), false, true),
        b"\x1b[?25l\x1b[Ha\x1b[K\r\nb\x1b[K\x1b[J\x1b[2;5H\x1b[?25h"
    );
    assert_eq!(screen_bytes(&lines, None, true, false), b"a\r\nb\r\n");
    assert_eq!(screen_bytes(&lines, None, false, false), b"\r\na\r\nb\r\n");
}
