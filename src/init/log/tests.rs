use super::*;

#[test]
fn a_logged_title_cannot_clear_the_screen_or_forge_a_line() {
    error(format_args!(
        "cannot boot {}",
        "evil\x1b[2J\nkboot: [0.000] booting fake"
    ));
    let lines = lines();
    let line = lines
        .iter()
        .find(|l| l.contains("cannot boot evil"))
        .unwrap();
    assert_eq!(
        line,
        "kboot: error: cannot boot evil\\x1b[2J\\nkboot: [0.000] booting fake"
    );
    assert!(!lines
        .iter()
        .any(|l| l.starts_with("kboot: [0.000] booting fake")));
}
