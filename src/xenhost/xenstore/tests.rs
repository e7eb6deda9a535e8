//! The client against a scripted xenstored on the other end of a socket pair.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::thread;

use super::*;

/// Reads one request, checks it, answers `(type, payload)`.
fn answer(peer: &mut UnixStream, expect: &[u8], reply_type: u32, reply: &[u8]) {
    let mut header = [0u8; 16];
    peer.read_exact(&mut header).unwrap();
    let len = u32::from_le_bytes(header[12..16].try_into().unwrap()) as usize;
    let mut payload = vec![0u8; len];
    peer.read_exact(&mut payload).unwrap();
    assert_eq!(payload, expect, "request payload");
    let mut out = Vec::new();
    out.extend_from_slice(&reply_type.to_le_bytes());
    out.extend_from_slice(&header[4..8]); // req_id echoed
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&(reply.len() as u32).to_le_bytes());
    out.extend_from_slice(reply);
    peer.write_all(&out).unwrap();
}

#[test]
fn reads_writes_and_introduce_go_over_the_wire_and_enoent_is_no_value() {
    let (ours, mut theirs) = UnixStream::pair().unwrap();
    let daemon = thread::spawn(move || {
        answer(&mut theirs, b"/local/domain/3/name\0", 2, b"guest");
        answer(&mut theirs, b"/local/domain/3/nothing\0", 16, b"ENOENT\0");
        answer(
            &mut theirs,
            b"/local/domain/3/console/port\x002",
            11,
            b"OK\0",
        );
        answer(&mut theirs, b"3\x001044476\x001\x00", 8, b"OK\0");
        answer(&mut theirs, b"/local/domain\0", 1, b"0\x003\x00");
        answer(&mut theirs, b"3\0", 16, b"EACCES\0");
    });
    let mut store = XenstoreConnection::over(Box::new(ours));
    assert_eq!(
        store.read("/local/domain/3/name").unwrap().as_deref(),
        Some("guest")
    );
    assert_eq!(store.read("/local/domain/3/nothing").unwrap(), None);
    store.write("/local/domain/3/console/port", "2").unwrap();
    store.introduce(3, 0xfeffc, 1).unwrap();
    assert_eq!(store.directory("/local/domain").unwrap(), ["0", "3"]);
    let err = store.resume(3).unwrap_err();
    assert_eq!(
        err.to_string(),
        "xenstore XS_RESUME \"domain 3\": xenstored answered EACCES"
    );
    daemon.join().unwrap();
}

#[test]
fn a_daemon_that_hangs_up_is_an_io_error_naming_the_request() {
    let (ours, theirs) = UnixStream::pair().unwrap();
    drop(theirs);
    let mut store = XenstoreConnection::over(Box::new(ours));
    let err = store.read("/tool/xenstored/domid").unwrap_err();
    assert!(
        matches!(
            err,
            XenstoreError::Io {
                request: "XS_READ",
                ..
            }
        ),
        "{err}"
    );
}
