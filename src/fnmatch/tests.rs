use super::*;

#[test]
fn fnmatch_follows_fnmatch_rules() {
    assert!(fnmatch(
        "pci:v00001AF4d*sv*",
        "pci:v00001AF4d00001001sv00001AF4"
    ));
    assert!(fnmatch("a?c", "abc"));
    assert!(!fnmatch("a?c", "ac"));
    assert!(fnmatch("*", ""));
    assert!(fnmatch("a*b*c", "a/x/b/y/c"));
    assert!(!fnmatch("a*b*c", "a/x/b/y/d"));
    assert!(fnmatch("x[0-9A-F]y", "xBy"));
    assert!(!fnmatch("x[!0-9]y", "x5y"));
    assert!(fnmatch("x[^0-9]y", "xay"));
    assert!(fnmatch("x[]]y", "x]y"));
    assert!(fnmatch("a\\*", "a*"));
    assert!(!fnmatch("a\\*", "ab"));
    assert!(fnmatch("a[b", "a[b"));
    assert!(!fnmatch("abc", "abcd"));
}

/// loader.conf `default` patterns as systemd-boot matches them against entry ids.
#[test]
fn loader_conf_default_globs_match_entry_ids() {
    assert!(fnmatch("fedora-*", "fedora-6.5"));
    assert!(fnmatch("*6.5.6*", "abc-6.5.6-300.fc39"));
    assert!(fnmatch("a?c", "abc"));
    assert!(!fnmatch("a?c", "abbc"));
    assert!(!fnmatch("fedora-*", "debian-6.1"));
    assert!(fnmatch("exact", "exact"));
    assert!(!fnmatch("@saved", "fedora"));
}
