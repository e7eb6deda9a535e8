use super::*;
use crate::init::cmdline::Cmdline;
use std::io::Cursor;

fn boot_with(cmdline: &str) -> Boot {
    let cmdline: Cmdline = match cmdline.parse() {
        Ok(c) => c,
        Err(never) => match never {},
    };
    Boot::new(cmdline, None)
}

#[test]
fn locked_there_is_no_prompt_the_console_is_not_read_and_the_boot_is_retried() {
    let boot = boot_with("kboot.lock");
    let mut input = Cursor::new(b"help\nlog\nretry\n".to_vec());
    prompt_on(&boot, &mut input, Duration::ZERO);
    assert_eq!(input.position(), 0, "no command was read");
    assert!(log::lines()
        .iter()
        .any(|l| l.contains("kboot.lock: no rescue prompt on this console; trying again in 0 s")));
}

#[test]
fn unlocked_the_prompt_reads_commands_until_retry() {
    let boot = boot_with("");
    let mut input = Cursor::new(b"\nretry\nhelp\n".to_vec());
    prompt_on(&boot, &mut input, Duration::ZERO);
    assert_eq!(input.position(), 7, "read up to and including `retry`");
}
