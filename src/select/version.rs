//! Version ordering as `sort -V` (GNU filevercmp) does it, so `6.1.0-56` sorts after
//! `6.1.0-9` and `5.10.0-rc1` handling matches what users see from coreutils.
//!
//! The comparison works on alternating runs of non-digits and digits. Non-digit runs
//! compare character by character with `~` before everything (even the end of the
//! string), then letters, then other characters; digit runs compare as numbers.
//! Like filevercmp, a trailing file suffix (`.img`, `.tar.gz`) is set aside first and
//! only breaks ties.

use std::cmp::Ordering;

fn order(c: Option<u8>) -> i32 {
    match c {
        None => 0,
        Some(b'~') => -1,
        Some(c) if c.is_ascii_digit() => 0,
        Some(c) if c.is_ascii_alphabetic() => i32::from(c),
        Some(c) => i32::from(c) + 256,
    }
}

/// Debian's `verrevcmp`: the core of both `dpkg --compare-versions` and `sort -V`.
fn verrevcmp(a: &[u8], b: &[u8]) -> Ordering {
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        // Non-digit prefix.
        while (i < a.len() && !a[i].is_ascii_digit()) || (j < b.len() && !b[j].is_ascii_digit()) {
            let ac = order(a.get(i).copied().filter(|c| !c.is_ascii_digit()));
            let bc = order(b.get(j).copied().filter(|c| !c.is_ascii_digit()));
            if ac != bc {
                return ac.cmp(&bc);
            }
            if i < a.len() && !a[i].is_ascii_digit() {
                i += 1;
            }
            if j < b.len() && !b[j].is_ascii_digit() {
                j += 1;
            }
        }
        // Digit run: skip leading zeros, then the longer run is larger, else the first
        // differing digit decides.
        while i < a.len() && a[i] == b'0' {
            i += 1;
        }
        while j < b.len() && b[j] == b'0' {
            j += 1;
        }
        let mut first_diff = Ordering::Equal;
        while i < a.len() && a[i].is_ascii_digit() && j < b.len() && b[j].is_ascii_digit() {
            if first_diff == Ordering::Equal {
                first_diff = a[i].cmp(&b[j]);
            }
            i += 1;
            j += 1;
        }
        if i < a.len() && a[i].is_ascii_digit() {
            return Ordering::Greater;
        }
        if j < b.len() && b[j].is_ascii_digit() {
            return Ordering::Less;
        }
        if first_diff != Ordering::Equal {
            return first_diff;
        }
    }
    Ordering::Equal
}

/// Length of `s` without its file suffix: the longest tail matching
/// `(\.[A-Za-z~][A-Za-z0-9~]*)*`.
fn without_suffix(s: &[u8]) -> usize {
    let mut end = s.len();
    let mut i = s.len();
    // Walk back over `[A-Za-z0-9~]*` runs that start with `.` and a letter or `~`.
    while i > 0 {
        let mut k = i;
        while k > 0 && (s[k - 1].is_ascii_alphanumeric() || s[k - 1] == b'~') {
            k -= 1;
        }
        if k > 0 && s[k - 1] == b'.' && k < i && (s[k].is_ascii_alphabetic() || s[k] == b'~') {
            end = k - 1;
            i = k - 1;
        } else {
            break;
        }
    }
    end
}

/// Compares two names as `sort -V` orders them.
pub fn compare(a: &str, b: &str) -> Ordering {
    if a == b {
        return Ordering::Equal;
    }
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (a_end, b_end) = (without_suffix(a), without_suffix(b));
    let by_stem = if a_end == a.len() && b_end == b.len() {
        verrevcmp(a, b)
    } else {
        verrevcmp(&a[..a_end], &b[..b_end])
    };
    by_stem.then_with(|| verrevcmp(a, b)).then_with(|| a.cmp(b))
}

#[cfg(test)]
mod tests {
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
}
