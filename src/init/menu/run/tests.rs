use super::*;
use crate::init::console::Terminal;
use nix::pty::openpty;
use nix::sys::termios::{tcgetattr, LocalFlags};
use std::fs::File;
use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// The user's side of one console: what they see, and a keyboard.
struct UserSide {
    keyboard: File,
    seen: Arc<Mutex<Vec<u8>>>,
}

impl UserSide {
    fn seen_text(&self) -> String {
        let seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        String::from_utf8_lossy(&seen).into_owned()
    }

    /// Waits until the screen has shown `text`, then forgets what was seen.
    fn wait_for(&self, text: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !self.seen_text().contains(text) {
            assert!(
                Instant::now() < deadline,
                "{text:?} never shown; screen: {:?}",
                self.seen_text()
            );
            thread::sleep(Duration::from_millis(5));
        }
        self.seen.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }

    fn type_bytes(&mut self, bytes: &[u8]) {
        self.keyboard.write_all(bytes).expect("write to pty master");
    }
}

/// A pty pair: the kboot side as a `Terminal`, the user side reading the screen in
/// a thread (so kboot's writes never fill the pty buffer).
fn console() -> (Terminal, UserSide, File) {
    let pty = openpty(None, None).expect("openpty");
    let master = File::from(pty.master);
    let slave = File::from(pty.slave);
    let slave_again = slave.try_clone().expect("dup slave");
    let terminal = Terminal::new(slave).expect("raw mode on the pty");
    let seen = Arc::new(Mutex::new(Vec::new()));
    let mut screen = master.try_clone().expect("dup master");
    let sink = Arc::clone(&seen);
    thread::spawn(move || {
        let mut buf = [0u8; 4096];
        // Ends with EIO once every slave descriptor is closed.
        while let Ok(n @ 1..) = screen.read(&mut buf) {
            sink.lock()
                .unwrap_or_else(|p| p.into_inner())
                .extend_from_slice(&buf[..n]);
        }
    });
    let user = UserSide {
        keyboard: master,
        seen,
    };
    (terminal, user, slave_again)
}

fn items() -> Vec<MenuItem> {
    ["6.1.0-3", "6.1.0-2", "6.1.0-1"]
        .iter()
        .map(|v| MenuItem {
            title: format!("Debian {v}"),
            detail: format!("/boot/vmlinuz-{v}"),
            cmdline: format!("root=/dev/vda1 ver={v}"),
            problem: None,
            cannot_boot: None,
        })
        .collect()
}

fn start(terminals: Vec<Terminal>, timeout_secs: i64, tick: Duration) -> JoinHandle<Outcome> {
    thread::spawn(move || {
        let mut menu = Menu::new(items(), 0, timeout_secs);
        let mut terminals = Terminals::new(terminals, true);
        drive(&mut menu, &mut terminals, tick)
    })
}

fn boot(index: usize, cmdline: &str) -> Outcome {
    Outcome::Boot {
        index,
        cmdline: cmdline.into(),
    }
}

#[test]
fn pty_arrow_down_and_enter_boot_the_second_entry() {
    let (terminal, mut user, _) = console();
    let menu = start(vec![terminal], -1, TICK);
    user.wait_for("choose what to boot");
    // Split as a slow serial line might deliver it.
    user.type_bytes(b"\x1b[");
    thread::sleep(Duration::from_millis(10));
    user.type_bytes(b"B");
    user.wait_for(" > 2  Debian 6.1.0-2");
    user.type_bytes(b"\r");
    assert_eq!(
        menu.join().expect("menu thread"),
        boot(1, "root=/dev/vda1 ver=6.1.0-2")
    );
}

#[test]
fn pty_countdown_boots_the_default_without_a_key() {
    let (terminal, user, _) = console();
    let menu = start(vec![terminal], 3, Duration::from_millis(30));
    user.wait_for("Booting Debian 6.1.0-3 in 3 s (any key stops)");
    assert_eq!(
        menu.join().expect("menu thread"),
        boot(0, "root=/dev/vda1 ver=6.1.0-3")
    );
}

#[test]
fn pty_a_key_stops_the_countdown() {
    let (terminal, mut user, _) = console();
    // 50 ticks of 20 ms: a second for the key to land before the default boots.
    let menu = start(vec![terminal], 50, Duration::from_millis(20));
    user.wait_for("in 50 s");
    user.type_bytes(b"\x1b[B");
    user.wait_for(" > 2");
    // Many ticks later the menu still waits.
    thread::sleep(Duration::from_millis(200));
    assert!(!menu.is_finished());
    assert!(!user.seen_text().contains("Booting"));
    user.type_bytes(b"3");
    assert_eq!(
        menu.join().expect("menu thread"),
        boot(2, "root=/dev/vda1 ver=6.1.0-1")
    );
}

#[test]
fn pty_edit_escape_back_then_edit_and_ctrl_x() {
    let (terminal, mut user, _) = console();
    let menu = start(vec![terminal], 5, TICK);
    user.wait_for("choose what to boot");
    user.type_bytes(b"e");
    user.wait_for("edit the command line");
    // A lone ESC becomes Escape after the pause: back to the list.
    user.type_bytes(b"\x1b");
    user.wait_for("choose what to boot");
    user.type_bytes(b"e");
    user.wait_for("root=/dev/vda1 ver=6.1.0-3");
    user.type_bytes(b" quiet\x7f\x7ft\x1b[D\x1b[3~");
    user.wait_for("ver=6.1.0-3 qui");
    user.type_bytes(b"\x18");
    assert_eq!(
        menu.join().expect("menu thread"),
        boot(0, "root=/dev/vda1 ver=6.1.0-3 qui")
    );
}

#[test]
fn pty_every_console_shows_the_menu_and_the_first_key_anywhere_wins() {
    let (serial, serial_user, _) = console();
    let (vga, mut vga_user, _) = console();
    let menu = start(vec![serial, vga], -1, TICK);
    serial_user.wait_for("choose what to boot");
    vga_user.wait_for("choose what to boot");
    vga_user.type_bytes(b"\x1b[B");
    // The selection moves on both screens.
    serial_user.wait_for(" > 2  Debian 6.1.0-2");
    vga_user.type_bytes(b"r");
    assert_eq!(menu.join().expect("menu thread"), Outcome::Rescan);
}

#[test]
fn pty_raw_mode_is_restored_when_the_menu_ends() {
    let (terminal, mut user, slave) = console();
    let before = tcgetattr(&slave).expect("tcgetattr");
    assert!(!before.local_flags.contains(LocalFlags::ICANON));
    let menu = start(vec![terminal], -1, TICK);
    user.wait_for("choose what to boot");
    user.type_bytes(b"s");
    assert_eq!(menu.join().expect("menu thread"), Outcome::Rescue);
    let after = tcgetattr(&slave).expect("tcgetattr");
    assert!(after
        .local_flags
        .contains(LocalFlags::ICANON | LocalFlags::ECHO));
}
