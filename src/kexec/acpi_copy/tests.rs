use super::*;
use crate::bytes::{le32, le64};

/// What Linux 6.1 logs in a Xen 4.17 PVH domU built by libxl, as /dev/kmsg records.
const XEN_PVH_LOG: [&str; 10] = [
    "6,86,4681681,-;ACPI: Early table checksum verification disabled",
    "6,87,4682040,-;ACPI: RSDP 0x00000000FC008000 000024 (v02 Xen   )",
    "6,88,4682428,-;ACPI: XSDT 0x00000000FC007F50 000034 (v01 Xen    HVM      00000000 HVML 00000000)",
    "6,89,4683150,-;ACPI: FACP 0x00000000FC007D60 00010C (v05 Xen    HVM      00000000 HVML 00000000)",
    "6,90,4683786,-;ACPI: DSDT 0x00000000FC001040 006C9B (v05 Xen    HVM      00000000 INTL 20200925)",
    "6,91,4684065,-;ACPI: FACS 0x00000000FC001000 000040",
    "6,92,4684233,-;ACPI: FACS 0x00000000FC001000 000040",
    "6,93,4684401,-;ACPI: APIC 0x00000000FC007E70 000034 (v02 Xen    HVM      00000000 HVML 00000000)",
    "6,94,4684594,-;ACPI: Reserving FACP table memory at [mem 0xfc007d60-0xfc007e6b]",
    "6,95,4684712,-;ACPI: Reserving DSDT table memory at [mem 0xfc001040-0xfc007cda]",
];

fn scan(records: &[&str], rsdp_addr: u64) -> (Option<AcpiRootCopy>, usize) {
    let mut scan = LogScan::new(rsdp_addr);
    let fed = records.iter().take_while(|r| !scan.feed(r)).count();
    (scan.finish(), fed)
}

#[test]
fn the_log_gives_the_oem_id_and_the_xsdt_entries_without_dsdt_and_facs() {
    let (copy, fed) = scan(&XEN_PVH_LOG, 0xfc00_8000);
    assert_eq!(
        copy,
        Some(AcpiRootCopy {
            oem_id: *b"Xen   ",
            tables: vec![0xfc00_7d60, 0xfc00_7e70],
        })
    );
    assert_eq!(fed, 8, "stops at the first line that is no table");
}

#[test]
fn another_rsdps_lines_or_a_missing_root_table_give_no_copy() {
    assert_eq!(scan(&XEN_PVH_LOG, 0xf_5a40).0, None);
    let without_root = [XEN_PVH_LOG[1], XEN_PVH_LOG[8]];
    assert_eq!(scan(&without_root, 0xfc00_8000).0, None);
    let without_tables = [XEN_PVH_LOG[1], XEN_PVH_LOG[2], XEN_PVH_LOG[8]];
    assert_eq!(scan(&without_tables, 0xfc00_8000).0, None);
}

#[test]
fn an_acpi_1_machine_lists_its_rsdt_tables() {
    let log = [
        "ACPI: RSDP 0x00000000000F5A40 000014 (v00 BOCHS )",
        "ACPI: RSDT 0x000000003FFE2345 000034 (v01 BOCHS  BXPC     00000001 BXPC 00000001)",
        "ACPI: FACP 0x000000003FFE21F9 000074 (v01 BOCHS  BXPC     00000001 BXPC 00000001)",
        "ACPI: DSDT 0x000000003FFE0040 0021B9 (v01 BOCHS  BXPC     00000001 BXPC 00000001)",
        "ACPI: FACS 0x000000003FFE0000 000040",
        "ACPI: APIC 0x000000003FFE226D 000078 (v01 BOCHS  BXPC     00000001 BXPC 00000001)",
        "ACPI: HPET 0x000000003FFE22E5 000038 (v01 BOCHS  BXPC     00000001 BXPC 00000001)",
        "ACPI: Reserving FACP table memory at [mem 0x3ffe21f9-0x3ffe226c]",
    ];
    let copy = scan(&log, 0xf_5a40).0.unwrap();
    assert_eq!(copy.oem_id, *b"BOCHS ");
    assert_eq!(copy.tables, [0x3ffe_21f9, 0x3ffe_226d, 0x3ffe_22e5]);
}

#[test]
fn table_lines_are_told_from_other_acpi_lines() {
    assert_eq!(
        parse_table_line("[    4.68] ACPI: SSDT 0x00000000FC007000 0000AB (v02 ...)"),
        Some((*b"SSDT", 0xfc00_7000))
    );
    assert_eq!(
        parse_table_line("ACPI: Reserving FACP table memory at"),
        None
    );
    assert_eq!(
        parse_table_line("ACPI: Early table checksum verification"),
        None
    );
    assert_eq!(parse_table_line("ACPI: FACP 0xZZ"), None);
    assert_eq!(
        parse_table_line("ACPI: FACP 0x0000000000000000 000074"),
        None
    );
}

fn sums_to_zero(bytes: &[u8]) -> bool {
    bytes.iter().fold(0u8, |sum, b| sum.wrapping_add(*b)) == 0
}

#[test]
fn the_copy_is_an_rsdp_2_and_an_xsdt_with_valid_checksums() {
    let copy = AcpiRootCopy {
        oem_id: *b"Xen   ",
        tables: vec![0xfc00_7d60, 0xfc00_7e70],
    };
    let at = 0x1fff_e040;
    let b = copy.bytes(at);
    assert_eq!(b.len(), copy.len());
    assert_eq!(b.len(), 48 + 36 + 16);
    assert_eq!(&b[0..8], b"RSD PTR ");
    assert_eq!(&b[9..15], b"Xen   ");
    assert_eq!(b[15], 2, "revision");
    assert_eq!(le32(&b, 16), 0, "no RSDT");
    assert_eq!(le32(&b, 20), 36, "length");
    assert_eq!(le64(&b, 24), at + 48, "xsdt_address");
    assert!(sums_to_zero(&b[..20]), "checksum over the first 20 bytes");
    assert!(sums_to_zero(&b[..36]), "extended checksum over all 36");
    let xsdt = &b[48..];
    assert_eq!(&xsdt[0..4], b"XSDT");
    assert_eq!(le32(xsdt, 4) as usize, xsdt.len());
    assert_eq!(xsdt[8], 1, "revision");
    assert_eq!(&xsdt[10..16], b"Xen   ");
    assert_eq!(le64(xsdt, 36), 0xfc00_7d60);
    assert_eq!(le64(xsdt, 44), 0xfc00_7e70);
    assert!(sums_to_zero(xsdt));
}
