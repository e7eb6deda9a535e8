//! The crate's one glob matcher, fnmatch(3) without flags: kmod matches
//! `modules.alias` patterns with it, and systemd-boot matches `loader.conf`'s
//! `default` against entry ids with it. Bytes, not characters: `?` matches one byte
//! (ids and modaliases are ASCII).

/// fnmatch(3) with no flags, as kmod matches aliases: `*`, `?`, `[...]` with ranges and
/// `!`/`^` negation, and `\` escaping the next character. `*` also matches `/`.
pub(crate) fn fnmatch(pattern: &str, text: &str) -> bool {
    let pattern = pattern.as_bytes();
    let text = text.as_bytes();
    let (mut p, mut t) = (0, 0);
    // Where to resume after the last '*': (pattern index after '*', text index).
    let mut backtrack: Option<(usize, usize)> = None;
    while t < text.len() {
        let step = match pattern.get(p) {
            Some(b'*') => {
                backtrack = Some((p + 1, t));
                p += 1;
                continue;
            }
            Some(b'?') => Some(p + 1),
            Some(b'[') => match match_bracket(pattern, p, text[t]) {
                Some((true, next)) => Some(next),
                Some((false, _)) => None,
                // An unclosed '[' is an ordinary character.
                None => (text[t] == b'[').then_some(p + 1),
            },
            Some(b'\\') if p + 1 < pattern.len() => (pattern[p + 1] == text[t]).then_some(p + 2),
            Some(&literal) => (literal == text[t]).then_some(p + 1),
            None => None,
        };
        match (step, backtrack) {
            (Some(next), _) => {
                p = next;
                t += 1;
            }
            (None, Some((star_p, star_t))) => {
                p = star_p;
                t = star_t + 1;
                backtrack = Some((star_p, star_t + 1));
            }
            (None, None) => return false,
        }
    }
    pattern[p..].iter().all(|&byte| byte == b'*')
}

/// Matches `byte` against the bracket expression starting at `pattern[open]` (`[`).
/// Returns (matched, index after `]`), or None when the bracket is not closed.
fn match_bracket(pattern: &[u8], open: usize, byte: u8) -> Option<(bool, usize)> {
    let mut i = open + 1;
    let negated = matches!(pattern.get(i), Some(b'!') | Some(b'^'));
    if negated {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    loop {
        let low = *pattern.get(i)?;
        // A ']' right after '[' or '[!' is a literal member.
        if low == b']' && !first {
            return Some((matched != negated, i + 1));
        }
        first = false;
        if pattern.get(i + 1) == Some(&b'-') && pattern.get(i + 2).is_some_and(|&c| c != b']') {
            let high = pattern[i + 2];
            matched |= low <= byte && byte <= high;
            i += 3;
        } else {
            matched |= low == byte;
            i += 1;
        }
    }
}

#[cfg(test)]
mod tests;
