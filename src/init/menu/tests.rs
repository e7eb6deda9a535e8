use super::render::{word_wrap, wrap};
use super::run::without_terminal;
use super::*;

fn item(n: u32) -> MenuItem {
    MenuItem {
        title: format!("Debian 6.1.0-{n}"),
        detail: format!("/boot/vmlinuz-6.1.0-{n} initrd /boot/initrd.img-6.1.0-{n}"),
        cmdline: format!("root=/dev/vda1 v={n}"),
        problem: None,
        cannot_boot: None,
    }
}

fn three(timeout_secs: i64) -> Menu {
    Menu::new(vec![item(3), item(2), item(1)], 0, timeout_secs)
}

fn boot(index: usize, cmdline: &str) -> Outcome {
    Outcome::Boot {
        index,
        cmdline: cmdline.into(),
    }
}

fn press(menu: &mut Menu, keys: &[Key]) -> Outcome {
    let mut last = Outcome::Continue;
    for &k in keys {
        last = menu.handle(k);
    }
    last
}

#[test]
fn countdown_ticks_to_the_default() {
    let mut menu = Menu::new(vec![item(3), item(2)], 1, 3);
    assert_eq!(menu.handle(Key::Tick), Outcome::Continue);
    assert_eq!(menu.countdown_secs(), Some(2));
    assert_eq!(menu.handle(Key::Tick), Outcome::Continue);
    assert_eq!(menu.handle(Key::Tick), boot(1, "root=/dev/vda1 v=2"));
}

#[test]
fn any_key_stops_the_countdown() {
    let mut menu = three(2);
    assert_eq!(menu.handle(Key::Escape), Outcome::Continue);
    assert_eq!(menu.countdown_secs(), None);
    for _ in 0..10 {
        assert_eq!(menu.handle(Key::Tick), Outcome::Continue);
    }
}

#[test]
fn negative_timeout_waits_forever_and_zero_boots_at_once() {
    let mut menu = three(-1);
    assert!(!menu.boots_at_once());
    assert_eq!(menu.handle(Key::Tick), Outcome::Continue);
    assert_eq!(menu.countdown_secs(), None);
    let menu = three(0);
    assert!(menu.boots_at_once());
    assert_eq!(menu.boot_default(), boot(0, "root=/dev/vda1 v=3"));
}

#[test]
fn a_failed_default_does_not_count_down() {
    let mut items = vec![item(3), item(2)];
    items[0].problem = Some("bad kernel".into());
    let mut menu = Menu::new(items, 0, 0);
    assert!(!menu.boots_at_once());
    assert_eq!(menu.handle(Key::Tick), Outcome::Continue);
    // It can still be chosen by hand.
    assert_eq!(menu.handle(Key::Enter), boot(0, "root=/dev/vda1 v=3"));
}

#[test]
fn arrows_move_and_stop_at_the_ends() {
    let mut menu = three(-1);
    assert_eq!(
        press(&mut menu, &[Key::Up, Key::Enter]),
        boot(0, "root=/dev/vda1 v=3")
    );
    let mut menu = three(-1);
    assert_eq!(
        press(&mut menu, &[Key::Down, Key::Down, Key::Down, Key::Enter]),
        boot(2, "root=/dev/vda1 v=1")
    );
    let mut menu = three(-1);
    assert_eq!(
        press(&mut menu, &[Key::Down, Key::Down, Key::Up, Key::Enter]),
        boot(1, "root=/dev/vda1 v=2")
    );
    let mut menu = three(-1);
    assert_eq!(
        press(&mut menu, &[Key::End, Key::Enter]),
        boot(2, "root=/dev/vda1 v=1")
    );
    let mut menu = three(-1);
    assert_eq!(
        press(&mut menu, &[Key::End, Key::Home, Key::Enter]),
        boot(0, "root=/dev/vda1 v=3")
    );
}

#[test]
fn a_digit_boots_that_entry_at_once() {
    let mut menu = three(5);
    assert_eq!(menu.handle(Key::Digit(2)), boot(1, "root=/dev/vda1 v=2"));
    let mut menu = three(5);
    assert_eq!(menu.handle(Key::Digit(3)), boot(2, "root=/dev/vda1 v=1"));
    // No entry 0 or 4: ignored, but the countdown stops.
    let mut menu = three(5);
    assert_eq!(menu.handle(Key::Digit(0)), Outcome::Continue);
    assert_eq!(menu.handle(Key::Digit(4)), Outcome::Continue);
    assert_eq!(menu.countdown_secs(), None);
}

#[test]
fn r_rescans_and_s_opens_rescue() {
    assert_eq!(three(5).handle(Key::Char('r')), Outcome::Rescan);
    assert_eq!(three(5).handle(Key::Char('s')), Outcome::Rescue);
    let mut menu = three(5);
    for key in [
        Key::Char('x'),
        Key::Escape,
        Key::CtrlX,
        Key::Left,
        Key::Delete,
    ] {
        assert_eq!(menu.handle(key), Outcome::Continue);
    }
}

#[test]
fn edit_inserts_at_the_cursor_and_enter_boots_the_edited_line() {
    let mut menu = three(5);
    assert_eq!(menu.handle(Key::Char('e')), Outcome::Continue);
    assert!(menu.is_editing());
    // Letters that are commands in the list are text here; digits too.
    let typed = [
        Key::Char(' '),
        Key::Char('r'),
        Key::Char('s'),
        Key::Char('e'),
        Key::Char('='),
        Key::Digit(1),
    ];
    assert_eq!(press(&mut menu, &typed), Outcome::Continue);
    assert_eq!(menu.handle(Key::Enter), boot(0, "root=/dev/vda1 v=3 rse=1"));
}

#[test]
fn edit_moves_the_cursor_and_erases() {
    let mut menu = three(-1);
    let keys = [
        Key::Down,
        Key::Char('e'),
        Key::Home,
        Key::Delete, // "oot=…"
        Key::Char('R'),
        Key::End,
        Key::Backspace, // "v="
        Key::Char('9'),
        Key::Left,
        Key::Left,
        Key::Left,
        Key::Backspace, // the space before "v=9"
        Key::Right,
        Key::Right,
        Key::Right,
        Key::Right, // stops at the end
        Key::Char('!'),
    ];
    assert_eq!(press(&mut menu, &keys), Outcome::Continue);
    assert_eq!(menu.handle(Key::CtrlX), boot(1, "Root=/dev/vda1v=9!"));
}

#[test]
fn backspace_at_start_and_delete_at_end_do_nothing() {
    let mut menu = three(-1);
    let keys = [
        Key::Char('e'),
        Key::Delete,
        Key::Home,
        Key::Backspace,
        Key::Left,
    ];
    assert_eq!(press(&mut menu, &keys), Outcome::Continue);
    assert_eq!(menu.handle(Key::Enter), boot(0, "root=/dev/vda1 v=3"));
}

#[test]
fn escape_leaves_the_editor_and_drops_the_edit() {
    let mut menu = three(5);
    let keys = [Key::Char('e'), Key::Char('x'), Key::Escape];
    assert_eq!(press(&mut menu, &keys), Outcome::Continue);
    assert!(!menu.is_editing());
    // The countdown stays stopped; the list works again.
    assert_eq!(menu.handle(Key::Tick), Outcome::Continue);
    assert_eq!(menu.handle(Key::Char('r')), Outcome::Rescan);
    assert_eq!(menu.handle(Key::Enter), boot(0, "root=/dev/vda1 v=3"));
}

#[test]
fn ticks_while_editing_do_not_boot() {
    let mut menu = three(1);
    menu.handle(Key::Char('e'));
    assert_eq!(menu.handle(Key::Tick), Outcome::Continue);
    assert!(menu.is_editing());
}

#[test]
fn an_out_of_range_default_falls_back_to_the_first_entry() {
    let menu = Menu::new(vec![item(3), item(2)], 7, 0);
    assert_eq!(menu.default_index(), 0);
    assert_eq!(menu.boot_default(), boot(0, "root=/dev/vda1 v=3"));
    let mut empty = Menu::new(Vec::new(), 0, 0);
    assert!(!empty.boots_at_once());
    assert_eq!(empty.handle(Key::Enter), Outcome::Rescue);
}

fn golden_items() -> Vec<MenuItem> {
    let mut items = vec![item(3), item(2), item(1)];
    items[1].problem = Some(
        "kernel /boot/vmlinuz-6.1.0-2 cannot be booted: 512 bytes is too short \
         for a bzImage header"
            .into(),
    );
    items
}

#[test]
fn renders_the_list_with_marker_default_failure_and_countdown() {
    let mut menu = Menu::new(golden_items(), 0, 5);
    menu.handle(Key::Tick);
    let v = env!("CARGO_PKG_VERSION");
    let bar = format!(" kboot {v}: choose what to boot ");
    let bar = format!("{bar:=^72}");
    let expected = vec![
        bar.as_str(),
        "",
        " > 1* Debian 6.1.0-3",
        "   2  Debian 6.1.0-2",
        "      failed: kernel /boot/vmlinuz-6.1.0-2 cannot be booted: 512 bytes",
        "      is too short for a bzImage header",
        "   3  Debian 6.1.0-1",
        "",
        " /boot/vmlinuz-6.1.0-3 initrd /boot/initrd.img-6.1.0-3",
        " root=/dev/vda1 v=3",
        "",
        " Booting Debian 6.1.0-3 in 4 s (any key stops)",
        " Up/Down/Home/End, 1-9: choose; Enter: boot; e: edit command line;",
        " r: rescan devices; s: rescue prompt",
    ];
    assert_eq!(menu.render(72), expected);
    assert_eq!(menu.cursor(72), None);
    assert!(menu.render(30).iter().all(|l| l.chars().count() <= 30));
}

#[test]
fn renders_the_selection_and_no_countdown_once_stopped() {
    let mut menu = Menu::new(golden_items(), 0, 5);
    menu.handle(Key::Down);
    let screen = menu.render(80);
    assert_eq!(screen[2], "   1* Debian 6.1.0-3");
    assert_eq!(screen[3], " > 2  Debian 6.1.0-2");
    assert_eq!(
        screen[8],
        " /boot/vmlinuz-6.1.0-2 initrd /boot/initrd.img-6.1.0-2"
    );
    assert_eq!(screen[9], " root=/dev/vda1 v=2");
    assert_eq!(screen[11], "");
}

#[test]
fn renders_the_editor_with_the_cursor_in_the_wrapped_line() {
    let mut menu = Menu::new(golden_items(), 0, 5);
    menu.handle(Key::Char('e'));
    for c in " console=ttyS0 console=tty0 quiet".chars() {
        menu.handle(Key::Char(c));
    }
    let v = env!("CARGO_PKG_VERSION");
    let bar = format!(" kboot {v}: edit the command line ");
    let bar = format!("{bar:=^40}");
    let expected = vec![
        bar.as_str(),
        "",
        " 1 Debian 6.1.0-3",
        "",
        " root=/dev/vda1 v=3 console=ttyS0 consol",
        " e=tty0 quiet",
        "",
        " Enter or Ctrl-X: boot with this command",
        " line; Escape: back to the list",
        " Left/Right/Home/End move;",
        " Backspace/Delete erase",
    ];
    assert_eq!(menu.render(40), expected);
    // 51 chars, 39 a line: row 4 + 1, column 1 + 12.
    assert_eq!(menu.cursor(40), Some((5, 13)));
    menu.handle(Key::Home);
    assert_eq!(menu.cursor(40), Some((4, 1)));
}

#[test]
fn without_a_terminal_the_default_boots_unless_it_failed() {
    let menu = Menu::new(vec![item(3), item(2)], 1, 0);
    assert_eq!(without_terminal(&menu, 0), boot(1, "root=/dev/vda1 v=2"));
    let mut items = vec![item(3), item(2)];
    items[1].problem = Some("gone".into());
    let menu = Menu::new(items, 1, 5);
    assert_eq!(without_terminal(&menu, 5), Outcome::Rescue);
}

#[test]
fn a_long_list_scrolls_with_the_selection() {
    let items: Vec<MenuItem> = (1..=14).map(item).collect();
    let mut menu = Menu::new(items, 0, -1);
    let screen = menu.render(80);
    assert_eq!(screen[2], " > 1* Debian 6.1.0-1");
    assert_eq!(screen[11], "   10  Debian 6.1.0-10");
    assert_eq!(screen[12], "     (4 more below)");
    for _ in 0..11 {
        menu.handle(Key::Down);
    }
    let screen = menu.render(80);
    assert_eq!(screen[2], "     (2 more above)");
    assert_eq!(screen[3], "   3  Debian 6.1.0-3");
    assert_eq!(screen[12], " > 12  Debian 6.1.0-12");
    assert_eq!(screen[13], "     (2 more below)");
    assert!(menu.render(80).len() <= 24);
}

#[test]
fn word_wrap_fills_lines_and_cuts_long_words() {
    assert_eq!(word_wrap("ab cd ef", " ", 6), vec![" ab cd", " ef"]);
    assert_eq!(word_wrap("abcdefgh", " ", 4), vec![" abc", " def", " gh"]);
    assert_eq!(word_wrap("", " ", 4), vec![" "]);
}

#[test]
fn a_cursor_after_a_full_line_has_a_row() {
    assert_eq!(wrap("abcd", " ", 5), vec![" abcd", " "]);
    assert_eq!(wrap("", " ", 5), vec![" "]);
    assert_eq!(wrap("abcde", " ", 5), vec![" abcd", " e"]);
}

#[test]
fn should_show_follows_mode_entries_and_timeout() {
    let one = vec![item(1)];
    let two = vec![item(2), item(1)];
    assert!(should_show(MenuMode::Auto, &two, 5));
    assert!(!should_show(MenuMode::Auto, &one, 5));
    assert!(should_show(MenuMode::Always, &one, 5));
    assert!(should_show(MenuMode::Always, &one, -1));
    assert!(!should_show(MenuMode::Never, &two, 5));
    assert!(!should_show(MenuMode::Auto, &two, 0));
    assert!(!should_show(MenuMode::Always, &one, 0));
    assert!(!should_show(MenuMode::Always, &[], 5));
    let mut failed = one.clone();
    failed[0].problem = Some("gone".into());
    assert!(should_show(MenuMode::Never, &failed, 0));
    assert!(should_show(MenuMode::Auto, &failed, 5));
}

#[test]
fn menu_mode_round_trips() {
    for mode in [MenuMode::Always, MenuMode::Auto, MenuMode::Never] {
        assert_eq!(mode.to_string().parse::<MenuMode>(), Ok(mode));
    }
    assert_eq!(
        "sometimes".parse::<MenuMode>(),
        Err(BadMenuMode("sometimes".into()))
    );
    assert_eq!(MenuMode::default(), MenuMode::Auto);
}

fn hostile_item() -> MenuItem {
    MenuItem {
        title: "evil\x1b[2J\nkboot: fake line".into(),
        detail: "/boot/vmlinuz-\u{202e}1 initrd none (grub.cfg)".into(),
        cmdline: "root=/dev/vda1 \u{9b}2J".into(),
        problem: Some("bad\rline".into()),
        cannot_boot: None,
    }
}

#[test]
fn titles_files_and_options_from_the_disk_are_rendered_escaped() {
    let menu = Menu::new(vec![hostile_item(), item(1)], 0, -1);
    let screen = menu.render(SCREEN_WIDTH);
    let text = screen.join("\n");
    assert!(
        text.contains(" > 1* evil\\x1b[2J\\nkboot: fake line"),
        "{text}"
    );
    assert!(text.contains("/boot/vmlinuz-\\u{202e}1"), "{text}");
    assert!(text.contains("root=/dev/vda1 \\u{9b}2J"), "{text}");
    assert!(text.contains("failed: bad\\rline"), "{text}");
    for line in &screen {
        assert!(
            !line.chars().any(|c| c.is_control() || c == '\u{202e}'),
            "{line:?}"
        );
    }
}

#[test]
fn the_editor_shows_control_characters_escaped_and_keeps_the_cursor_after_them() {
    let mut menu = Menu::new(vec![hostile_item()], 0, -1);
    press(&mut menu, &[Key::Char('e')]);
    let screen = menu.render(40);
    assert_eq!(screen[2], " 1 evil\\x1b[2J\\nkboot: fake line");
    assert_eq!(screen[4], " root=/dev/vda1 \\u{9b}2J");
    // 23 chars shown: the cursor sits after them, not after the 18 chars of the line.
    assert_eq!(menu.cursor(40), Some((4, 24)));
}

#[test]
fn a_locked_menu_neither_edits_nor_opens_the_rescue_prompt() {
    let mut menu = three(-1).locked(true);
    assert_eq!(press(&mut menu, &[Key::Char('e')]), Outcome::Continue);
    assert!(!menu.is_editing());
    assert_eq!(press(&mut menu, &[Key::Char('s')]), Outcome::Continue);
    // Typing what would have been an edit boots the entry's own command line.
    assert_eq!(
        press(&mut menu, &[Key::Char('e'), Key::Char('x'), Key::Enter]),
        boot(0, "root=/dev/vda1 v=3")
    );
    assert_eq!(press(&mut menu, &[Key::Char('r')]), Outcome::Rescan);
    let screen = menu.render(SCREEN_WIDTH).join("\n");
    assert!(
        !screen.contains("e: edit") && !screen.contains("s: rescue"),
        "{screen}"
    );
    assert!(
        screen.contains("kboot.lock: no editing, no rescue prompt"),
        "{screen}"
    );
    // Unlocked, the same keys edit and open the prompt.
    let mut menu = three(-1).locked(false);
    press(&mut menu, &[Key::Char('e')]);
    assert!(menu.is_editing());
    assert_eq!(press(&mut three(-1), &[Key::Char('s')]), Outcome::Rescue);
}

/// An entry kboot cannot boot is listed in its place with the reason, never counted
/// down to, and choosing it still goes to the boot flow (which says why and comes
/// back to the menu).
#[test]
fn an_entry_kboot_cannot_boot_is_marked_and_never_counted_down_to() {
    let mut items = vec![item(3), item(2)];
    items[0].title = "Windows Boot Manager".into();
    items[0].cannot_boot = Some("chainloader (another boot loader)".into());
    let menu = Menu::new(items.clone(), 1, 5);
    let screen = menu.render(80);
    let at = screen
        .iter()
        .position(|l| l.contains("Windows Boot Manager"))
        .unwrap();
    assert_eq!(
        screen[at + 1].trim(),
        "cannot boot: chainloader (another boot loader)"
    );
    assert_eq!(menu.countdown_secs(), Some(5));
    let mut menu = Menu::new(items, 0, 5);
    assert_eq!(menu.countdown_secs(), None);
    assert!(!menu.boots_at_once());
    assert_eq!(menu.handle(Key::Tick), Outcome::Continue);
    assert_eq!(menu.handle(Key::Enter), boot(0, "root=/dev/vda1 v=3"));
    assert_eq!(without_terminal(&menu, 0), Outcome::Rescue);
}
