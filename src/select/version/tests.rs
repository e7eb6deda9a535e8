use super::*;

fn sorted(names: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    v.sort_by(|a, b| compare(a, b));
    v
}

#[test]
fn numbers_compare_as_numbers() {
    assert_eq!(
        sorted(&[
            "6.1.0-56-cloud-amd64",
            "6.1.0-9-cloud-amd64",
            "6.1.0-10-cloud-amd64"
        ]),
        vec![
            "6.1.0-9-cloud-amd64",
            "6.1.0-10-cloud-amd64",
            "6.1.0-56-cloud-amd64"
        ]
    );
    assert_eq!(compare("5.10", "5.9"), Ordering::Greater);
    assert_eq!(compare("1.010", "1.9"), Ordering::Greater);
    assert_eq!(
        compare("1.01", "1.1"),
        Ordering::Less,
        "equal numbers fall back to bytes"
    );
}

#[test]
fn tilde_sorts_before_release() {
    assert_eq!(compare("6.1~rc1", "6.1"), Ordering::Less);
    assert_eq!(compare("6.1~rc1", "6.1~rc2"), Ordering::Less);
}

#[test]
fn letters_sort_before_punctuation() {
    assert_eq!(compare("1.0a", "1.0+"), Ordering::Less);
    assert_eq!(compare("1.0", "1.0a"), Ordering::Less);
}

#[test]
fn suffixes_only_break_ties() {
    assert_eq!(without_suffix(b"initrd-6.1.img"), "initrd-6.1".len());
    assert_eq!(without_suffix(b"a.tar.gz"), 1);
    assert_eq!(without_suffix(b"6.1.0"), 5);
    assert_eq!(compare("initrd-6.2.img", "initrd-6.10.img"), Ordering::Less);
}

/// The same list through GNU `sort -V` (coreutils 9.1), for agreement.
#[test]
fn agrees_with_coreutils_sort_v() {
    let input = [
        "vmlinuz-6.1.0-9-amd64",
        "vmlinuz-6.1.0-56-cloud-amd64",
        "vmlinuz-5.10.0-28-amd64",
        "vmlinuz-6.1.0-56-amd64",
        "vmlinuz-6.10.0~rc3",
        "vmlinuz-6.10.0",
        "vmlinuz-6.1.0-9-cloud-amd64",
    ];
    let out = std::process::Command::new("sort")
        .arg("-V")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            if let Some(mut stdin) = child.stdin.take() {
                stdin.write_all(input.join("\n").as_bytes())?;
                stdin.write_all(b"\n")?;
            }
            child.wait_with_output()
        })
        .expect("coreutils sort runs");
    let expected: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(sorted(&input), expected);
}
