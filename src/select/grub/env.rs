//! The grubenv block (`/boot/grub/grubenv`) that `grub-editenv` writes and the
//! generated grub.cfg's `load_env` reads.

use std::fmt;
use std::str::FromStr;

use super::{GrubError, Vars};

const ENV_HEADER: &str = "# GRUB Environment Block\n";
/// grub-editenv pads the block with `#` to this size.
const ENV_BLOCK_BYTES: usize = 1024;

/// `/boot/grub/grubenv`: `key=value` lines after a header, padded with `#`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct GrubEnv {
    /// In file order.
    pub vars: Vec<(String, String)>,
    /// The comment lines after the header (grub-editenv writes a warning).
    pub comments: Vec<String>,
}

impl GrubEnv {
    #[cfg(test)]
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.vars
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The variables a generated grub.cfg's `load_env` would see, minus `next_entry`.
    pub(crate) fn boot_vars(&self) -> Vars {
        self.vars
            .iter()
            .filter(|(k, _)| k != "next_entry")
            .cloned()
            .collect()
    }
}

impl FromStr for GrubEnv {
    type Err = GrubError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let body = text
            .strip_prefix(ENV_HEADER)
            .ok_or(GrubError::NotEnvBlock)?;
        let mut env = GrubEnv::default();
        for line in body.split('\n') {
            if line.starts_with('#') {
                if !line.trim_end_matches('#').is_empty() {
                    env.comments.push(line.to_string());
                }
                continue;
            }
            if let Some((key, value)) = line.split_once('=') {
                env.vars.push((key.to_string(), unescape_env(value)));
            }
        }
        Ok(env)
    }
}

/// grub-editenv writes `\` and newline in values as `\\` and `\` + newline.
fn unescape_env(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.extend(chars.next()),
            c => out.push(c),
        }
    }
    out
}

impl fmt::Display for GrubEnv {
    /// The block as grub-editenv writes it, padded to 1024 bytes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut text = String::from(ENV_HEADER);
        for c in &self.comments {
            text.push_str(c);
            text.push('\n');
        }
        for (k, v) in &self.vars {
            text.push_str(k);
            text.push('=');
            text.push_str(&v.replace('\\', "\\\\").replace('\n', "\\\n"));
            text.push('\n');
        }
        let padding = ENV_BLOCK_BYTES.saturating_sub(text.len());
        text.extend(std::iter::repeat_n('#', padding));
        f.write_str(&text)
    }
}
