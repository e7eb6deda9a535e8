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
pub(crate) fn compare(a: &str, b: &str) -> Ordering {
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
mod tests;
