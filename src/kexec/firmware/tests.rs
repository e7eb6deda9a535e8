use super::*;
use crate::bytes::le32;

#[test]
fn systab_prefers_acpi20() {
    let systab = "MPS=0xfc9b0\nACPI20=0x7fb7e014\nACPI=0x7fb7e000\nSMBIOS=0x7f9b1000\n";
    assert_eq!(parse_systab_rsdp(systab), Some(0x7fb7_e014));
    assert_eq!(parse_systab_rsdp("ACPI=0xf5a40\n"), Some(0xf_5a40));
    assert_eq!(parse_systab_rsdp("SMBIOS=0x1\n"), None);
    assert_eq!(acpi_rsdp(Path::new("/nonexistent")), None);
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
    assert_eq!(acpi_rsdp(root.path()), Some(0xfc00_0000));
    let efi = root.path().join("sys/firmware/efi");
    std::fs::create_dir_all(&efi).unwrap();
    std::fs::write(efi.join("systab"), "ACPI20=0x7fb7e014\n").unwrap();
    assert_eq!(acpi_rsdp(root.path()), Some(0x7fb7_e014), "EFI's wins");
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
    // The RSDP line alone (no root table's line): its address, no copy.
    assert_eq!(rsdp_copy(root.path(), 0xfc00_0000), None);
    assert_eq!(acpi_rsdp(root.path()), Some(0xfc00_0000));
    // boot_params with 0 (a PVH-booted 6.1 kernel) do not hide the log's.
    let params = root.path().join("sys/kernel/boot_params");
    std::fs::create_dir_all(&params).unwrap();
    std::fs::write(params.join("data"), vec![0u8; 4096]).unwrap();
    assert_eq!(acpi_rsdp(root.path()), Some(0xfc00_0000));
}

/// What a Xen PVH domU's kernel logs (Linux 6.1 under Xen 4.17, libxl's tables).
const XEN_PVH_LOG: [&str; 4] = [
    "6,86,4681681,-;ACPI: Early table checksum verification disabled",
    "6,87,4682040,-;ACPI: RSDP 0x00000000FC008000 000024 (v02 Xen   )",
    "6,88,4682428,-;ACPI: XSDT 0x00000000FC007F50 000034 (v01 Xen    HVM      00000000 HVML 00000000)",
    "6,89,4683150,-;ACPI: FACP 0x00000000FC007D60 00010C (v05 Xen    HVM      00000000 HVML 00000000)",
];

#[test]
fn the_kernel_log_gives_what_a_fresh_rsdp_needs() {
    let mut scan = LogScan::default();
    let done: Vec<bool> = XEN_PVH_LOG[..3].iter().map(|r| scan.feed(r)).collect();
    assert_eq!(done, [false, false, true]);
    assert_eq!(
        scan.finish(),
        Some(AcpiRoot {
            rsdp_addr: 0xfc00_8000,
            copy: Some(RsdpCopy {
                revision: 2,
                oem_id: *b"Xen   ",
                xsdt_addr: Some(0xfc00_7f50),
                rsdt_addr: None,
            }),
        })
    );
    // An ACPI 1.0 machine: the RSDT's line.
    let mut scan = LogScan::default();
    scan.feed("ACPI: RSDP 0x00000000000F5A40 000014 (v00 BOCHS )");
    assert!(scan
        .feed("ACPI: RSDT 0x000000003FFE2345 000034 (v01 BOCHS  BXPC     00000001 BXPC 00000001)"));
    let copy = scan.finish().unwrap().copy.unwrap();
    assert_eq!(copy.rsdt_addr, Some(0x3ffe_2345));
    assert_eq!(copy.oem_id, *b"BOCHS ");
    // No root table's line within reach: the address alone.
    let mut scan = LogScan::default();
    scan.feed(XEN_PVH_LOG[1]);
    let mut fed = 0;
    while !scan.feed("6,90,1,-;something else") {
        fed += 1;
    }
    assert_eq!(fed + 1, KMSG_RECORDS_AFTER_RSDP);
    assert_eq!(
        scan.finish(),
        Some(AcpiRoot {
            rsdp_addr: 0xfc00_8000,
            copy: None
        })
    );
}

fn sums_to_zero(bytes: &[u8]) -> bool {
    bytes.iter().fold(0u8, |sum, b| sum.wrapping_add(*b)) == 0
}

#[test]
fn a_fresh_rsdp_has_the_acpi_layout_and_both_checksums() {
    let copy = RsdpCopy {
        revision: 2,
        oem_id: *b"Xen   ",
        xsdt_addr: Some(0xfc00_7f50),
        rsdt_addr: Some(0xfc00_7f00),
    };
    let b = copy.bytes();
    assert_eq!(b.len(), 36);
    assert_eq!(&b[0..8], b"RSD PTR ");
    assert_eq!(&b[9..15], b"Xen   ");
    assert_eq!(b[15], 2, "revision");
    assert_eq!(le32(&b, 16), 0xfc00_7f00, "rsdt_address");
    assert_eq!(le32(&b, 20), 36, "length");
    assert_eq!(le64(&b, 24), 0xfc00_7f50, "xsdt_address");
    assert!(sums_to_zero(&b[..20]), "checksum over the first 20 bytes");
    assert!(sums_to_zero(&b), "extended checksum over all 36");
    assert_eq!(&b[33..36], [0, 0, 0], "reserved");

    let v1 = RsdpCopy {
        revision: 0,
        oem_id: *b"BOCHS ",
        xsdt_addr: None,
        rsdt_addr: Some(0x3ffe_2345),
    }
    .bytes();
    assert_eq!(v1.len(), 20);
    assert_eq!(v1[15], 0);
    assert_eq!(le32(&v1, 16), 0x3ffe_2345);
    assert!(sums_to_zero(&v1));
}

/// Whatever gave the address (a PVH-booted kernel's boot_params have it too), the copy
/// comes from the log lines of that same RSDP.
#[test]
fn a_copy_comes_from_the_log_lines_of_the_same_rsdp() {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("dev")).unwrap();
    std::fs::write(root.path().join("dev/kmsg"), XEN_PVH_LOG.join("\n")).unwrap();
    let params = root.path().join("sys/kernel/boot_params");
    std::fs::create_dir_all(&params).unwrap();
    let mut page = vec![0u8; 4096];
    page[0x70..0x78].copy_from_slice(&0xfc00_8000u64.to_le_bytes());
    std::fs::write(params.join("data"), &page).unwrap();
    assert_eq!(acpi_rsdp(root.path()), Some(0xfc00_8000));
    let copy = rsdp_copy(root.path(), 0xfc00_8000).unwrap();
    assert_eq!(copy.xsdt_addr, Some(0xfc00_7f50));
    assert_eq!(
        rsdp_copy(root.path(), 0xf_5a40),
        None,
        "another RSDP's lines"
    );
}
