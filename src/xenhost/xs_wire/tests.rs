use super::*;

#[test]
fn message_types_have_the_xs_wire_numbers() {
    assert_eq!(XsType::Directory as u32, 1);
    assert_eq!(XsType::Read as u32, 2);
    assert_eq!(XsType::Introduce as u32, 8);
    assert_eq!(XsType::Write as u32, 11);
    assert_eq!(XsType::Error as u32, 16);
    assert_eq!(XsType::Resume as u32, 18);
}

#[test]
fn a_read_is_a_16_byte_header_then_the_nul_terminated_path() {
    let buf = encode(&path_request(XsType::Read, "/local/domain/3/name"), 7).unwrap();
    assert_eq!(&buf[0..4], &2u32.to_le_bytes());
    assert_eq!(&buf[4..8], &7u32.to_le_bytes());
    assert_eq!(&buf[8..12], &0u32.to_le_bytes());
    assert_eq!(&buf[12..16], &21u32.to_le_bytes());
    assert_eq!(&buf[16..], b"/local/domain/3/name\0");
}

#[test]
fn a_write_has_the_path_terminated_and_the_value_not() {
    let request = write_request("/local/domain/3/console/port", "2");
    assert_eq!(request.kind, XsType::Write);
    assert_eq!(request.payload, b"/local/domain/3/console/port\x002");
}

#[test]
fn introduce_sends_domid_gfn_and_port_in_decimal_each_terminated() {
    let request = introduce_request(3, 0xfeffc, 1);
    assert_eq!(request.kind, XsType::Introduce);
    assert_eq!(request.payload, b"3\x001044476\x001\x00");
}

#[test]
fn resume_sends_the_domid() {
    assert_eq!(resume_request(12).payload, b"12\0");
}

#[test]
fn a_payload_over_4096_bytes_is_refused_before_sending() {
    let long = "x".repeat(4096);
    let err = encode(&path_request(XsType::Read, &long), 1).unwrap_err();
    assert_eq!(
        err,
        XsWireError::TooLong {
            kind: "XS_READ",
            len: 4097
        }
    );
}

#[test]
fn a_reply_header_longer_than_the_limit_is_refused() {
    let mut header = [0u8; HEADER_BYTES];
    header[12..16].copy_from_slice(&4097u32.to_le_bytes());
    assert!(matches!(
        decode_header(&header),
        Err(XsWireError::TooLong { len: 4097, .. })
    ));
}

#[test]
fn an_error_reply_gives_the_errno_name() {
    let header = XsHeader {
        kind: 16,
        req_id: 1,
        len: 7,
    };
    let err = check_reply(XsType::Read, 1, header, b"ENOENT\0".to_vec()).unwrap_err();
    assert_eq!(err, XsWireError::Refused("ENOENT".into()));
    assert_eq!(err.to_string(), "xenstored answered ENOENT");
}

#[test]
fn a_reply_of_another_type_or_request_is_refused() {
    let header = XsHeader {
        kind: 15,
        req_id: 1,
        len: 0,
    };
    assert!(matches!(
        check_reply(XsType::Read, 1, header, vec![]),
        Err(XsWireError::UnexpectedType { found: 15, .. })
    ));
    let header = XsHeader {
        kind: 2,
        req_id: 9,
        len: 0,
    };
    assert!(matches!(
        check_reply(XsType::Read, 1, header, vec![]),
        Err(XsWireError::UnexpectedRequestId { sent: 1, found: 9 })
    ));
}

#[test]
fn a_good_reply_gives_its_payload_and_directories_split_on_nul() {
    let header = XsHeader {
        kind: 1,
        req_id: 4,
        len: 6,
    };
    let payload = check_reply(XsType::Directory, 4, header, b"0\x003\x0012\x00".to_vec()).unwrap();
    assert_eq!(directory_names(&payload), ["0", "3", "12"]);
}
