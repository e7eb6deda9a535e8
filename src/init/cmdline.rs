//! The kernel command line as kboot reads it (`/proc/cmdline`), and the command line
//! it hands to the kernel it boots.
//!
//! Splitting follows the kernel's own `next_arg()` (lib/cmdline.c): words are separated
//! by white space, double quotes group white space into a word, and a value that starts
//! with a quote loses that quote and its closing one (`a="b c"` is `a` = `b c`).
//! Everything kboot does not consume is kept, in order and as written, for the target.

use std::fmt;
use std::str::FromStr;

use crate::devices::spec::DeviceSpec;
pub(crate) use crate::kexec::KexecMethod;

use super::menu::MenuMode;

/// One word of the command line: `param` or `param=value`, with the text as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Word {
    pub param: String,
    pub value: Option<String>,
    /// The word exactly as it stood, quotes included, so it can be passed on unchanged.
    pub raw: String,
}

/// What kboot understood from its command line.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Cmdline {
    pub root: Option<DeviceSpec>,
    pub boot: Option<DeviceSpec>,
    pub kernel: Option<String>,
    pub ramdisk: Option<String>,
    /// `kboot.module=`, repeatable, in order: a multiboot module's file, then its
    /// arguments (`kboot.module="/boot/vmlinuz-V root=..."`). With `kernel=` (Xen).
    pub modules: Vec<String>,
    pub rootfstype: Vec<String>,
    pub rootflags: Option<String>,
    pub rootwait: bool,
    pub rootdelay_secs: Option<u32>,
    pub read_write: bool,
    pub init: Option<String>,
    pub consoles: Vec<String>,
    /// Seconds the menu counts down; 0 boots the default at once, -1 waits for ever.
    pub timeout_secs: Option<i64>,
    /// When the menu shows (`kboot.menu=`).
    pub menu: MenuMode,
    pub default_entry: Option<String>,
    pub kexec: KexecMethod,
    pub append: Option<String>,
    pub debug: bool,
    /// `kboot.lock`: the console is not trusted. No command-line editing in the menu and
    /// no rescue prompt; a failed boot comes back to the menu or waits and retries.
    pub lock: bool,
    /// Words for the target kernel: everything but `boot=`, `kernel=`, `ramdisk=` and
    /// `kboot.*`, in their original order and spelling.
    pub passthrough: Vec<Word>,
    /// Arguments after `--` (for the target's init), kept verbatim.
    pub init_args: Option<String>,
    /// Problems found while parsing; each is reported once, none stops the boot.
    pub warnings: Vec<String>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum CmdlineError {
    #[error("{param}={value}: {reason}")]
    BadValue {
        param: String,
        value: String,
        reason: String,
    },
}

/// Splits a command line into words as the kernel does. Returns the words and, if
/// present, the text after a lone `--`.
pub(crate) fn split(line: &str) -> (Vec<Word>, Option<String>) {
    let mut words = Vec::new();
    let mut rest = line.trim_start();
    while !rest.is_empty() {
        let mut in_quote = false;
        let mut end = rest.len();
        for (i, c) in rest.char_indices() {
            if c == '"' {
                in_quote = !in_quote;
            } else if c.is_whitespace() && !in_quote {
                end = i;
                break;
            }
        }
        let raw = &rest[..end];
        if raw == "--" {
            let after = rest[end..].trim();
            return (words, Some(after.to_string()));
        }
        words.push(word_from_raw(raw));
        rest = rest[end..].trim_start();
    }
    (words, None)
}

fn word_from_raw(raw: &str) -> Word {
    // A quote that opens the whole word is dropped along with its partner (`"a b"`).
    let unquoted = match raw.strip_prefix('"') {
        Some(inner) => inner.strip_suffix('"').unwrap_or(inner),
        None => raw,
    };
    let (param, value) = match unquoted.split_once('=') {
        Some((p, v)) => {
            let v = match v.strip_prefix('"') {
                Some(inner) => inner.strip_suffix('"').unwrap_or(inner),
                None => v,
            };
            (p.to_string(), Some(v.to_string()))
        }
        None => (unquoted.to_string(), None),
    };
    Word {
        param,
        value,
        raw: raw.to_string(),
    }
}

fn parse_secs(word: &Word) -> Result<u32, CmdlineError> {
    let value = word.value.clone().unwrap_or_default();
    value.parse::<u32>().map_err(|_| CmdlineError::BadValue {
        param: word.param.clone(),
        value,
        reason: "expected a whole number of seconds".into(),
    })
}

fn parse_spec(word: &Word) -> Result<DeviceSpec, CmdlineError> {
    let value = word.value.clone().unwrap_or_default();
    value
        .parse::<DeviceSpec>()
        .map_err(|e| CmdlineError::BadValue {
            param: word.param.clone(),
            value,
            reason: e.to_string(),
        })
}

impl Cmdline {
    /// Reads one word into `self`; returns whether the word is kboot's alone.
    fn take(&mut self, word: &Word) -> Result<bool, CmdlineError> {
        let value = || word.value.clone().unwrap_or_default();
        match word.param.as_str() {
            "root" => self.root = Some(parse_spec(word)?),
            "boot" => {
                self.boot = Some(parse_spec(word)?);
                return Ok(true);
            }
            "kernel" => {
                self.kernel = Some(value());
                return Ok(true);
            }
            "ramdisk" => {
                self.ramdisk = Some(value());
                return Ok(true);
            }
            "rootfstype" => {
                self.rootfstype = value()
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect()
            }
            "rootflags" => self.rootflags = Some(value()),
            "rootwait" => self.rootwait = true,
            "rootdelay" => self.rootdelay_secs = Some(parse_secs(word)?),
            "ro" => self.read_write = false,
            "rw" => self.read_write = true,
            "init" => self.init = Some(value()),
            "console" => self.consoles.push(value()),
            "kboot.timeout" => {
                let value = value();
                self.timeout_secs = match value.parse::<i64>() {
                    Ok(n) if n >= -1 => Some(n),
                    _ => {
                        return Err(CmdlineError::BadValue {
                            param: word.param.clone(),
                            value,
                            reason: "expected seconds, 0 (no menu wait) or -1 (wait for ever)"
                                .into(),
                        })
                    }
                }
            }
            "kboot.menu" => {
                self.menu = value()
                    .parse::<MenuMode>()
                    .map_err(|e| CmdlineError::BadValue {
                        param: word.param.clone(),
                        value: value(),
                        reason: e.to_string(),
                    })?
            }
            "kboot.default" => self.default_entry = Some(value()),
            "kboot.module" => self.modules.push(value()),
            "kboot.append" => self.append = Some(value()),
            "kboot.debug" => self.debug = true,
            "kboot.lock" => {
                self.lock = match word.value.as_deref() {
                    None | Some("1" | "yes" | "on" | "true") => true,
                    Some("0" | "no" | "off" | "false") => false,
                    Some(other) => {
                        // A security switch that cannot be read fails closed.
                        self.warnings.push(format!(
                            "kboot.lock={other}: expected no value, 1 or 0; locked anyway"
                        ));
                        true
                    }
                };
                return Ok(true);
            }
            "kboot.kexec" => {
                self.kexec = match value().as_str() {
                    "auto" => KexecMethod::Auto,
                    "file" => KexecMethod::File,
                    "load" => KexecMethod::Load,
                    other => {
                        return Err(CmdlineError::BadValue {
                            param: word.param.clone(),
                            value: other.to_string(),
                            reason: "expected auto, file or load".into(),
                        })
                    }
                }
            }
            p if p.starts_with("kboot.") => {
                self.warnings
                    .push(format!("unknown option {} ignored", word.raw));
                return Ok(true);
            }
            _ => {}
        }
        Ok(word.param.starts_with("kboot."))
    }

    /// The command line for the target kernel: what kboot did not consume, then
    /// `kboot.append`, then `-- init args` if there were any.
    pub(crate) fn target_cmdline(&self) -> String {
        let mut parts: Vec<&str> = self.passthrough.iter().map(|w| w.raw.as_str()).collect();
        if let Some(extra) = self.append.as_deref().filter(|s| !s.trim().is_empty()) {
            parts.push(extra.trim());
        }
        if let Some(args) = &self.init_args {
            parts.push("--");
            if !args.is_empty() {
                parts.push(args);
            }
        }
        parts.join(" ")
    }
}

impl FromStr for Cmdline {
    type Err = std::convert::Infallible;

    /// Never fails: a bad value becomes a warning and the option is left unset, so a
    /// typo cannot stop the machine from reaching the menu or the rescue prompt.
    fn from_str(line: &str) -> Result<Self, Self::Err> {
        let (words, init_args) = split(line);
        let mut cmdline = Cmdline {
            init_args,
            ..Cmdline::default()
        };
        for word in words {
            match cmdline.take(&word) {
                Ok(true) => {}
                Ok(false) => cmdline.passthrough.push(word),
                Err(e) => {
                    cmdline.warnings.push(format!("{e}; option ignored"));
                    if !word.param.starts_with("kboot.")
                        && !matches!(word.param.as_str(), "boot" | "kernel" | "ramdisk")
                    {
                        cmdline.passthrough.push(word);
                    }
                }
            }
        }
        if cmdline.kernel.is_none() && !cmdline.modules.is_empty() {
            cmdline.warnings.push(
                "kboot.module= without kernel= is ignored: name the multiboot kernel (kernel=/boot/xen.gz)"
                    .to_string(),
            );
        }
        Ok(cmdline)
    }
}

impl fmt::Display for Word {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
