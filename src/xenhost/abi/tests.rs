//! Layouts checked against a C program compiled with Xen 4.17.7's public headers
//! (`offsetof`/`sizeof`: xen_domctl 144 bytes, union at 16; getdomaininfo domain @0,
//! flags @4; evtchn_alloc_unbound 8 bytes, port @4; xen_hvm_param 16 bytes, value @8).

use super::*;

#[test]
fn domctl_request_puts_cmd_version_and_domain_in_the_header_and_zeroes_the_union() {
    let buf = domctl_request(DomctlCmd::SoftReset, 0x15, 7);
    assert_eq!(buf.len(), 144);
    assert_eq!(&buf[0..4], &79u32.to_le_bytes());
    assert_eq!(&buf[4..8], &0x15u32.to_le_bytes());
    assert_eq!(&buf[8..10], &7u16.to_le_bytes());
    assert!(buf[10..].iter().all(|&b| b == 0));
}

#[test]
fn domctl_commands_have_the_header_numbers() {
    assert_eq!(DomctlCmd::PauseDomain as u32, 3);
    assert_eq!(DomctlCmd::UnpauseDomain as u32, 4);
    assert_eq!(DomctlCmd::GetDomainInfo as u32, 5);
    assert_eq!(DomctlCmd::SoftReset as u32, 79);
}

#[test]
fn domain_info_is_read_from_the_union_at_offset_16() {
    let mut buf = vec![0u8; DOMCTL_BYTES];
    buf[16..18].copy_from_slice(&9u16.to_le_bytes());
    // shutdown (bit 2) | hvm_guest (bit 1) | paused (bit 3, not read), reason 5 in
    // bits 16-23.
    let flags: u32 = (5 << 16) | 0b1110;
    buf[20..24].copy_from_slice(&flags.to_le_bytes());
    let info = decode_domain_info(&buf);
    assert_eq!(info.domid, 9);
    assert_eq!(info.shutdown_reason(), Some(5));
    assert!(info.hvm_container());
    assert!(!info.dying());
}

#[test]
fn a_running_domain_has_no_shutdown_reason_even_with_a_stale_code() {
    // After domain_resume Xen sets shutdown_code to SHUTDOWN_CODE_INVALID (~0): the
    // code bits are all ones while the shutdown bit is clear.
    let info = DomainInfo {
        domid: 3,
        flags: 0xffff_0000 | (1 << 5),
    };
    assert_eq!(info.shutdown_reason(), None);
}

#[test]
fn dying_is_bit_0() {
    let info = DomainInfo { domid: 3, flags: 1 };
    assert!(info.dying());
}

#[test]
fn alloc_unbound_request_has_dom_then_remote_dom_and_the_port_comes_back_at_4() {
    let buf = alloc_unbound_request(5, 0);
    assert_eq!(buf, [5, 0, 0, 0, 0, 0, 0, 0]);
    let reply = [5, 0, 0, 0, 3, 0, 0, 0];
    assert_eq!(alloc_unbound_port(&reply), 3);
}

#[test]
fn hvm_param_request_has_domid_index_and_value() {
    let buf = hvm_param_request(5, HvmParam::ConsoleEvtchn, 0x1122_3344_5566_7788);
    assert_eq!(buf.len(), 16);
    assert_eq!(&buf[0..2], &5u16.to_le_bytes());
    assert_eq!(&buf[2..4], &[0, 0]);
    assert_eq!(&buf[4..8], &18u32.to_le_bytes());
    assert_eq!(&buf[8..16], &0x1122_3344_5566_7788u64.to_le_bytes());
    assert_eq!(hvm_param_value(&buf), 0x1122_3344_5566_7788);
}

#[test]
fn hvm_params_have_the_header_numbers() {
    assert_eq!(HvmParam::StorePfn as u32, 1);
    assert_eq!(HvmParam::StoreEvtchn as u32, 2);
    assert_eq!(HvmParam::ConsolePfn as u32, 17);
    assert_eq!(HvmParam::ConsoleEvtchn as u32, 18);
}

#[test]
fn xen_version_splits_major_and_minor() {
    let v = XenVersion::from_hypercall((4 << 16) | 17);
    assert_eq!(
        v,
        XenVersion {
            major: 4,
            minor: 17
        }
    );
    assert_eq!(v.to_string(), "4.17");
}

#[test]
fn xen_4_17_speaks_domctl_interface_0x15_and_unknown_releases_none() {
    let v = |major, minor| XenVersion { major, minor };
    assert_eq!(domctl_interface_version(v(4, 17)), Some(0x15));
    assert_eq!(domctl_interface_version(v(4, 16)), Some(0x14));
    assert_eq!(domctl_interface_version(v(4, 20)), Some(0x17));
    assert_eq!(domctl_interface_version(v(4, 15)), None);
    assert_eq!(domctl_interface_version(v(4, 21)), None);
}
