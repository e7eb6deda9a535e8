use super::*;

#[test]
fn test_expressions() {
    let t = |s: &str| test(&s.split(' ').map(str::to_string).collect::<Vec<_>>());
    assert_eq!(t("a = a -a b != c"), Some(true));
    assert_eq!(t("a = b -o ! x = y"), Some(true));
    assert_eq!(t("a = b -o -z x"), Some(false));
    assert_eq!(t("-n x -a -f /etc/passwd"), None);
    assert_eq!(t("-n"), Some(true));
}
