use super::*;

/// The address alone, as every protocol but PVH takes it.
fn rsdp_only(root: &Path) -> Option<u64> {
    acpi_root(root, false).0
}

#[test]
fn systab_prefers_acpi20() {
    let systab = "MPS=0xfc9b0\nACPI20=0x7fb7e014\nACPI=0x7fb7e000\nSMBIOS=0x7f9b1000\n";
    assert_eq!(parse_systab_rsdp(systab), Some(0x7fb7_e014));
    assert_eq!(parse_systab_rsdp("ACPI=0xf5a40\n"), Some(0xf_5a40));
    assert_eq!(parse_systab_rsdp("SMBIOS=0x1\n"), None);
    assert_eq!(rsdp_only(Path::new("/nonexistent")), None);
}

#[test]
fn boot_params_give_the_rsdp_at_offset_0x70_when_set() {
    let mut page = vec![0u8; 4096];
    assert_eq!(parse_boot_params_rsdp(&page), None, "0 means not given");
    page[0x70..0x78].copy_from_slice(&0xf_5a40u64.to_le_bytes());
    assert_eq!(parse_boot_params_rsdp(&page), Some(0xf_5a40));
    assert_eq!(parse_boot_params_rsdp(&page[..0x77]), None);
}

#[test]
fn acpi_rsdp_falls_back_from_the_efi_systab_to_the_running_kernels_boot_params() {
    let root = tempfile::tempdir().unwrap();
    let params = root.path().join("sys/kernel/boot_params");
    std::fs::create_dir_all(&params).unwrap();
    let mut page = vec![0u8; 4096];
    page[0x70..0x78].copy_from_slice(&0xfc00_0000u64.to_le_bytes());
    std::fs::write(params.join("data"), &page).unwrap();
    assert_eq!(rsdp_only(root.path()), Some(0xfc00_0000));
    let efi = root.path().join("sys/firmware/efi");
    std::fs::create_dir_all(&efi).unwrap();
    std::fs::write(efi.join("systab"), "ACPI20=0x7fb7e014\n").unwrap();
    assert_eq!(rsdp_only(root.path()), Some(0x7fb7_e014), "EFI's wins");
}

#[test]
fn the_kernel_log_gives_the_rsdp_line() {
    let record = "6,87,123456,-;ACPI: RSDP 0x00000000000F5A40 000014 (v00 BOCHS )\n";
    assert_eq!(parse_log_rsdp(record), Some(0xf_5a40));
    let dmesg = "[    0.000000] ACPI: Early table checksum verification disabled\n\
                 [    0.000000] ACPI: RSDP 0x00000000FC000000 000024 (v02 Xen   )\n";
    assert_eq!(parse_log_rsdp(dmesg), Some(0xfc00_0000));
    assert_eq!(parse_log_rsdp("ACPI: RSDT 0x000000003FFE2345\n"), None);
    assert_eq!(parse_log_rsdp("ACPI: RSDP 0xZZ\n"), None);
}

#[test]
fn without_efi_or_boot_params_the_rsdp_comes_from_the_kernel_log() {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("dev")).unwrap();
    std::fs::write(
        root.path().join("dev/kmsg"),
        "6,1,0,-;Linux version 6.1.0\n6,87,1,-;ACPI: RSDP 0x00000000FC000000 000024 (v02 Xen   )\n",
    )
    .unwrap();
    assert_eq!(rsdp_only(root.path()), Some(0xfc00_0000));
    // boot_params with 0 (a PVH-booted 6.1 kernel) do not hide the log's.
    let params = root.path().join("sys/kernel/boot_params");
    std::fs::create_dir_all(&params).unwrap();
    std::fs::write(params.join("data"), vec![0u8; 4096]).unwrap();
    assert_eq!(rsdp_only(root.path()), Some(0xfc00_0000));
}

/// Whatever gave the address (a PVH-booted kernel's boot_params have it too), the copy
/// comes from the log lines of that same RSDP.
#[test]
fn a_fresh_acpi_root_comes_from_the_log_lines_of_the_same_rsdp() {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("dev")).unwrap();
    std::fs::write(
        root.path().join("dev/kmsg"),
        "6,87,1,-;ACPI: RSDP 0x00000000FC008000 000024 (v02 Xen   )\n\
         6,88,2,-;ACPI: XSDT 0x00000000FC007F50 000034 (v01 Xen    HVM      00000000 HVML 00000000)\n\
         6,89,3,-;ACPI: FACP 0x00000000FC007D60 00010C (v05 Xen    HVM      00000000 HVML 00000000)\n\
         6,90,4,-;ACPI: APIC 0x00000000FC007E70 000034 (v02 Xen    HVM      00000000 HVML 00000000)\n\
         6,91,5,-;ACPI: Reserving FACP table memory at [mem 0xfc007d60-0xfc007e6b]\n",
    )
    .unwrap();
    let params = root.path().join("sys/kernel/boot_params");
    std::fs::create_dir_all(&params).unwrap();
    let mut page = vec![0u8; 4096];
    page[0x70..0x78].copy_from_slice(&0xfc00_8000u64.to_le_bytes());
    std::fs::write(params.join("data"), &page).unwrap();
    assert_eq!(rsdp_only(root.path()), Some(0xfc00_8000));
    let (rsdp, copy) = acpi_root(root.path(), true);
    assert_eq!(rsdp, Some(0xfc00_8000));
    assert_eq!(copy.unwrap().tables, [0xfc00_7d60, 0xfc00_7e70]);
    assert_eq!(acpi_root(root.path(), false), (Some(0xfc00_8000), None));
    page[0x70..0x78].copy_from_slice(&0xf_5a40u64.to_le_bytes());
    std::fs::write(params.join("data"), &page).unwrap();
    assert_eq!(
        acpi_root(root.path(), true),
        (Some(0xf_5a40), None),
        "another RSDP's lines"
    );
    // Boot parameters at 0 (a PVH-booted Linux 6.1): one read of the log gives both.
    std::fs::write(params.join("data"), vec![0u8; 4096]).unwrap();
    let (rsdp, copy) = acpi_root(root.path(), true);
    assert_eq!(rsdp, Some(0xfc00_8000));
    assert_eq!(copy.unwrap().tables, [0xfc00_7d60, 0xfc00_7e70]);
}
