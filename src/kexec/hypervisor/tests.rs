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

#[test]
fn xen_scratch_in_iomem_places_the_grant_table_outside_ram() {
    // A PVH domU of Xen 4.17 with 512 MiB, the kboot kernel (ZONE_DEVICE).
    let iomem = "00000000-00000fff : Reserved\n\
                 00001000-0009ffff : System RAM\n\
                 000a0000-000fffff : Reserved\n\
                 00100000-1fffffff : System RAM\n\
                 \x20 01000000-01a00000 : Kernel code\n\
                 20000000-27ffffff : Xen scratch\n\
                 fc000000-fc008fff : ACPI Tables\n";
    assert_eq!(
        parse_grant_space(iomem),
        Some(GrantSpace::Scratch {
            start: 0x2000_0000,
            end: 0x2800_0000
        })
    );
}

#[test]
fn no_xen_scratch_means_the_grant_table_sits_in_ram() {
    let iomem = "00001000-0009ffff : System RAM\n00100000-1fffffff : System RAM\n";
    assert_eq!(parse_grant_space(iomem), Some(GrantSpace::Ram));
    // A nested range of that name is not the kernel's scratch space.
    let nested = "00100000-1fffffff : System RAM\n  10000000-10ffffff : Xen scratch\n";
    assert_eq!(parse_grant_space(nested), Some(GrantSpace::Ram));
}

#[test]
fn iomem_without_addresses_tells_nothing() {
    // Read without root, every range is zero.
    let iomem = "00000000-00000000 : System RAM\n00000000-00000000 : Xen scratch\n";
    assert_eq!(parse_grant_space(iomem), None);
    assert_eq!(parse_grant_space(""), None);
    assert_eq!(parse_grant_space("garbage\n : \nx-y : Xen scratch\n"), None);
}
