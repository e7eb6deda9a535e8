//! Running the menu on the consoles: draw it on every terminal, feed it keys and
//! ticks until it has an outcome, or wait and boot the default when nobody can type.

use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

use super::super::console::Terminals;
use super::super::log;
use super::{Key, Menu, MenuItem, Outcome, NO_TERMINAL_WAIT_SECS, SCREEN_WIDTH, TICK};

/// Shows the menu on every console and returns what the user chose, or the default
/// when the countdown runs out. `timeout_secs`: `0` boots the default at once without
/// drawing, negative waits for a key, N waits N seconds. With no terminal to draw on
/// it waits the timeout and boots the default (or opens the rescue prompt if the
/// default already failed). `locked` (`kboot.lock`): no editing, no rescue key.
pub(crate) fn run_menu(
    items: &[MenuItem],
    default: usize,
    timeout_secs: i64,
    locked: bool,
) -> Outcome {
    let mut menu = Menu::new(items.to_vec(), default, timeout_secs).locked(locked);
    if items.is_empty() {
        return Outcome::Rescue;
    }
    if menu.boots_at_once() {
        return menu.boot_default();
    }
    let mut terminals = Terminals::open(Path::new("/sys"), Path::new("/dev"));
    if terminals.is_empty() {
        return without_terminal(&menu, timeout_secs);
    }
    drive(&mut menu, &mut terminals, TICK)
}

/// Nobody can type: wait as a menu would have, then boot the default. A default that
/// failed already goes to the rescue prompt instead, which retries on its own when no
/// one answers, so a broken entry is never booted in a tight loop.
pub(super) fn without_terminal(menu: &Menu, timeout_secs: i64) -> Outcome {
    let Some(item) = menu.items().get(menu.default_index()) else {
        return Outcome::Rescue;
    };
    if item.problem.is_some() || item.cannot_boot.is_some() {
        return Outcome::Rescue;
    }
    let wait_secs = u64::try_from(timeout_secs).unwrap_or(NO_TERMINAL_WAIT_SECS);
    log::say(format!(
        "no terminal to show the menu on; booting {} in {wait_secs} s",
        item.title
    ));
    thread::sleep(Duration::from_secs(wait_secs));
    menu.boot_default()
}

/// The menu's loop: draw, wait for keys or the next tick, apply them.
fn drive(menu: &mut Menu, terminals: &mut Terminals, tick: Duration) -> Outcome {
    let mut next_tick = Instant::now() + tick;
    loop {
        terminals.draw(&menu.render(SCREEN_WIDTH), menu.cursor(SCREEN_WIDTH));
        if !terminals.can_read() && menu.countdown_secs().is_none() {
            // Every console hung up and nothing counts down: stop waiting.
            return without_terminal(menu, 0);
        }
        for key in terminals.wait_for_keys(next_tick) {
            let outcome = menu.handle(key);
            if outcome != Outcome::Continue {
                return outcome;
            }
        }
        if Instant::now() >= next_tick {
            next_tick += tick;
            let outcome = menu.handle(Key::Tick);
            if outcome != Outcome::Continue {
                return outcome;
            }
        }
    }
}

/// The real IO path (raw mode, drawing, poll, key decoding, ticks) on pseudo-terminal
/// pairs: the test types on the master side as a user at a serial console would and
/// reads the screen there.
#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
