use super::*;

#[test]
fn table_lines_round_trip() {
    for line in [
        "kernel/a/b.ko: kernel/c.ko kernel/d.ko",
        "kernel/a/b.ko:",
        "alias pci:v*d*sv*sd*bc01sc08i02* nvme",
        "softdep btrfs pre: crypto-crc32c sha256 post: xor",
        "softdep x post: y",
    ] {
        let shown = if line.starts_with("alias") {
            line.parse::<AliasLine>().unwrap().to_string()
        } else if line.starts_with("softdep") {
            line.parse::<SoftdepLine>().unwrap().to_string()
        } else {
            line.parse::<DepLine>().unwrap().to_string()
        };
        assert_eq!(shown, line);
    }
}

#[test]
fn softdep_names_before_pre_or_post_are_ignored_like_kmod() {
    let line: SoftdepLine = "softdep cifs gcm".parse().unwrap();
    assert_eq!(line.softdep, Softdep::default());
    let line: SoftdepLine = "softdep x junk pre: a".parse().unwrap();
    assert_eq!(line.softdep.pre, ["a"]);
}

#[test]
fn bad_dep_line_is_an_error_with_its_line_number() {
    let error = parse_modules_dep("a.ko:\nno colon here\n").unwrap_err();
    assert!(
        matches!(
            error,
            ModulesError::BadLine {
                file: "modules.dep",
                line_number: 2,
                ..
            }
        ),
        "{error:?}"
    );
}
