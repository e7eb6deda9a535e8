use super::*;
use std::io;

#[derive(Debug, thiserror::Error)]
enum Outer {
    #[error("superblock of /dev/vda unreadable")]
    Quiet(#[source] Middle),
    #[error("cannot read /boot/grub/grub.cfg: {0}")]
    Quoting(#[source] io::Error),
}

#[derive(Debug, thiserror::Error)]
#[error("cannot read 4096 bytes at offset 1024")]
struct Middle(#[source] io::Error);

#[test]
fn every_cause_in_the_chain_reaches_the_line() {
    let eio = io::Error::from_raw_os_error(libc::EIO);
    let error = Outer::Quiet(Middle(eio));
    assert_eq!(
        report(&error),
        "superblock of /dev/vda unreadable: cannot read 4096 bytes at offset 1024: \
         Input/output error (os error 5)"
    );
}

#[test]
fn a_cause_the_message_already_quotes_is_not_repeated() {
    let error = Outer::Quoting(io::Error::from_raw_os_error(libc::ENOENT));
    assert_eq!(
        report(&error),
        "cannot read /boot/grub/grub.cfg: No such file or directory (os error 2)"
    );
}
