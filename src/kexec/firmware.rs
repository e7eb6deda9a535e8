//! What the next kernel cannot find by itself on every machine: the ACPI RSDP. A BIOS
//! machine has it where the kernel scans (EBDA, 0xE0000..0xFFFFF); a UEFI one only
//! in the EFI system table, which the kexec'd kernel does not get from kboot (no EFI
//! setup_data yet). The running kernel shows it in `/sys/firmware/efi/systab`
//! (`ACPI20=0x...`, `ACPI=0x...`); it goes into `boot_params.acpi_rsdp_addr`
//! (protocol 2.14), as kexec-tools does.

use std::fs;
use std::path::Path;

/// The RSDP address from systab text: ACPI 2.0's if given, else ACPI 1.0's.
pub(crate) fn parse_systab_rsdp(text: &str) -> Option<u64> {
    let value = |key: &str| {
        text.lines()
            .filter_map(|line| line.trim().split_once('='))
            .find(|(k, _)| *k == key)
            .and_then(|(_, v)| u64::from_str_radix(v.trim().trim_start_matches("0x"), 16).ok())
    };
    value("ACPI20").or_else(|| value("ACPI"))
}

/// Reads it under `root`; `None` without EFI (the kernel's own scan then finds it).
pub(crate) fn acpi_rsdp(root: &Path) -> Option<u64> {
    let text = fs::read_to_string(root.join("sys/firmware/efi/systab")).ok()?;
    parse_systab_rsdp(&text)
}

/// Whether the running kernel was started through UEFI (it shows `/sys/firmware/efi`).
pub(crate) fn booted_through_uefi(root: &Path) -> bool {
    root.join("sys/firmware/efi").is_dir()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
