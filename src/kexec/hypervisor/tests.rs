use super::*;

#[test]
fn sys_hypervisor_shapes_give_the_guest_type() {
    let xen = Some("xen\n");
    assert_eq!(
        parse_sys_hypervisor(xen, Some("PV\n")),
        Some(XenGuestType::Pv)
    );
    assert_eq!(
        parse_sys_hypervisor(xen, Some("HVM\n")),
        Some(XenGuestType::Hvm)
    );
    assert_eq!(
        parse_sys_hypervisor(xen, Some("PVH\n")),
        Some(XenGuestType::Pvh)
    );
    // Before guest_type existed (Linux < 4.14), or an Arm domain's "Xen".
    assert_eq!(parse_sys_hypervisor(xen, None), Some(XenGuestType::Unknown));
    assert_eq!(
        parse_sys_hypervisor(xen, Some("Xen\n")),
        Some(XenGuestType::Unknown)
    );
    assert_eq!(
        parse_sys_hypervisor(None, None),
        None,
        "no /sys/hypervisor/type"
    );
    assert_eq!(parse_sys_hypervisor(Some("kvm\n"), Some("PVH\n")), None);
}

#[test]
fn cpuid_signature_is_xens_vendor_string_in_ebx_ecx_edx() {
    let word = |s: &[u8]| u32::from_le_bytes(s.try_into().unwrap());
    assert!(is_xen_signature(
        word(b"XenV"),
        word(b"MMXe"),
        word(b"nVMM")
    ));
    assert!(!is_xen_signature(
        word(b"KVMK"),
        word(b"VMKV"),
        word(b"M\0\0\0")
    ));
}

#[test]
fn detect_reads_the_guest_type_under_a_sysfs_root() {
    let sys = tempfile::tempdir().unwrap();
    let hypervisor = sys.path().join("hypervisor");
    std::fs::create_dir_all(&hypervisor).unwrap();
    std::fs::write(hypervisor.join("type"), "xen\n").unwrap();
    std::fs::write(hypervisor.join("guest_type"), "PVH\n").unwrap();
    assert_eq!(detect(sys.path()), Hypervisor::Xen(XenGuestType::Pvh));
    std::fs::write(hypervisor.join("guest_type"), "PV\n").unwrap();
    assert_eq!(detect(sys.path()), Hypervisor::Xen(XenGuestType::Pv));
    std::fs::write(hypervisor.join("type"), "s390\n").unwrap();
    assert_eq!(detect(sys.path()), Hypervisor::NotXen);
}
