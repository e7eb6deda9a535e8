//! The rescue prompt: what a user at the console can do when booting failed. With
//! `kboot.lock` (a console nobody should command) there is no prompt: kboot waits and
//! tries booting again, which brings the menu back with the failed entries marked.

use crate::report::Chain;
use std::io::{self, BufRead, Write};
use std::path::Path;
use std::thread;
use std::time::Duration;

use crate::devices::blockdev;
use crate::kexec::syscall;

use super::{log, Boot};

const HELP: &str = "commands: retry (try booting again), devices (list block devices), \
log (show kboot's messages), reboot, poweroff, help";

/// How long to wait before retrying when nobody can type (no console input).
const NO_CONSOLE_RETRY_SECS: u64 = 30;

/// Runs the prompt until the user asks to retry. Reboot and power off do not return.
/// Locked, waits and returns (a retry) without reading the console.
pub(crate) fn prompt(boot: &Boot) {
    prompt_on(
        boot,
        &mut io::stdin().lock(),
        Duration::from_secs(NO_CONSOLE_RETRY_SECS),
    );
}

/// `prompt` reading commands from `input`; `retry_wait` is how long to wait before a
/// retry when nobody can (or may) type.
fn prompt_on(boot: &Boot, input: &mut impl BufRead, retry_wait: Duration) {
    if boot.cmdline.lock {
        log::say(format!(
            "kboot.lock: no rescue prompt on this console; trying again in {} s",
            retry_wait.as_secs()
        ));
        thread::sleep(retry_wait);
        return;
    }
    log::say(format!("rescue prompt: {HELP}"));
    loop {
        let mut out = io::stderr();
        let _ = write!(out, "kboot> ");
        let _ = out.flush();
        let mut line = String::new();
        match input.read_line(&mut line) {
            Ok(0) | Err(_) => {
                log::say(format!(
                    "no console input; retrying in {} s",
                    retry_wait.as_secs()
                ));
                thread::sleep(retry_wait);
                return;
            }
            Ok(_) => {}
        }
        match line.trim() {
            "" => {}
            "retry" => return,
            "help" | "?" => println_err(HELP),
            "log" => {
                for l in log::lines() {
                    println_err(&l);
                }
            }
            "devices" => list_devices(boot),
            "reboot" => log::error(syscall::restart()),
            "poweroff" | "halt" => log::error(syscall::power_off()),
            other => println_err(&format!("kboot: unknown command {other:?}; {HELP}")),
        }
    }
}

fn println_err(text: &str) {
    let _ = writeln!(io::stderr(), "{text}");
}

fn list_devices(boot: &Boot) {
    match blockdev::scan(&boot.sys_root, &boot.dev_root) {
        Ok(devices) if devices.is_empty() => {
            println_err("kboot: no block devices (is the disk driver loaded?)")
        }
        Ok(devices) => {
            for d in devices {
                println_err(&d.blkid_line());
            }
        }
        Err(e) => log::error(Chain(&e)),
    }
    let _ = Path::new("/");
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
