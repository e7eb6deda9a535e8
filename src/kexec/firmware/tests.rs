use super::*;

#[test]
fn systab_prefers_acpi20() {
    let systab = "MPS=0xfc9b0\nACPI20=0x7fb7e014\nACPI=0x7fb7e000\nSMBIOS=0x7f9b1000\n";
    assert_eq!(parse_systab_rsdp(systab), Some(0x7fb7_e014));
    assert_eq!(parse_systab_rsdp("ACPI=0xf5a40\n"), Some(0xf_5a40));
    assert_eq!(parse_systab_rsdp("SMBIOS=0x1\n"), None);
    assert_eq!(acpi_rsdp(Path::new("/nonexistent")), None);
}
