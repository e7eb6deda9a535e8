//! What the next kernel cannot find by itself on every machine: the ACPI RSDP. A BIOS
//! machine has it where the kernel scans (EBDA, 0xE0000..0xFFFFF); a UEFI one only
//! in the EFI system table, which the kexec'd kernel does not get from kboot (no EFI
//! setup_data yet). The running kernel shows it in `/sys/firmware/efi/systab`
//! (`ACPI20=0x...`, `ACPI=0x...`); it goes into `boot_params.acpi_rsdp_addr`
//! (protocol 2.14), as kexec-tools does. Without EFI, the running kernel's own
//! `boot_params.acpi_rsdp_addr` (`/sys/kernel/boot_params/data`, offset 0x70) is the
//! fallback: what its boot loader gave it, or what its decompressor found by scanning.
//! A Xen PVH guest has no BIOS area to scan: its RSDP comes only from the start info,
//! which Linux 6.1's PVH entry keeps to itself (`boot_params.acpi_rsdp_addr` stays 0);
//! the last source is then the kernel's own log line `ACPI: RSDP 0x...` (/dev/kmsg),
//! printed by every kernel that uses ACPI. The same log gives what a fresh ACPI root
//! for a PVH start info needs (`kexec::acpi_copy`).

use std::fs;
use std::io::{self, Read};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use crate::bytes::le64;

use super::acpi_copy::{self, AcpiRootCopy};

/// `boot_params.acpi_rsdp_addr` (arch/x86/include/uapi/asm/bootparam.h, `/* 0x070 */`).
const BOOT_PARAMS_ACPI_RSDP_ADDR: usize = 0x70;
/// `struct boot_params` is one page.
const BOOT_PARAMS_BYTES: u64 = 4096;
/// How many kernel log records to read at most looking for the RSDP line (it comes
/// within the first few hundred).
const KMSG_MAX_RECORDS: usize = 4096;
/// A /dev/kmsg record is at most about 1 KiB of text.
const KMSG_RECORD_BYTES: usize = 8192;

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

/// The RSDP address in the bytes of a `boot_params` (the zero page); `None` for 0 or
/// a short file.
pub(crate) fn parse_boot_params_rsdp(boot_params: &[u8]) -> Option<u64> {
    if boot_params.len() < BOOT_PARAMS_ACPI_RSDP_ADDR + 8 {
        return None;
    }
    Some(le64(boot_params, BOOT_PARAMS_ACPI_RSDP_ADDR)).filter(|&addr| addr != 0)
}

/// The RSDP address in kernel log text: `ACPI: RSDP 0x00000000000F5A40 000014 (v00
/// BOCHS )` (drivers/acpi/acpica/tbprint.c), in a /dev/kmsg record or a dmesg line.
pub(crate) fn parse_log_rsdp(text: &str) -> Option<u64> {
    const PREFIX: &str = "ACPI: RSDP 0x";
    text.lines().find_map(|line| {
        let rest = &line[line.find(PREFIX)? + PREFIX.len()..];
        let digits = rest.split_whitespace().next()?;
        u64::from_str_radix(digits, 16)
            .ok()
            .filter(|&addr| addr != 0)
    })
}

/// The RSDP's address under `root`: from the EFI system table, else from the running
/// kernel's boot parameters, else from its log; `None` when none has it (the next
/// kernel's own scan then finds it, on a BIOS machine). And when `copy` is asked for
/// (a PVH start info), a fresh ACPI root for it from the kernel log (`None` unless the
/// log names that RSDP, its root table and its tables). The log is read once for both:
/// a PVH-booted Linux 6.1 leaves its boot parameters' RSDP at 0, so there the log
/// gives the address as well.
pub(crate) fn acpi_root(root: &Path, copy: bool) -> (Option<u64>, Option<AcpiRootCopy>) {
    let known = firmware_rsdp(root);
    if known.is_some() && !copy {
        return (known, None);
    }
    let mut rsdp = known;
    let mut scan = known.filter(|_| copy).map(acpi_copy::LogScan::new);
    read_log(
        &root.join("dev/kmsg"),
        KMSG_MAX_RECORDS + acpi_copy::RECORDS_AFTER_RSDP,
        |text| {
            if rsdp.is_none() {
                rsdp = parse_log_rsdp(text);
                if !copy {
                    return rsdp.is_some();
                }
                scan = rsdp.map(acpi_copy::LogScan::new);
            }
            scan.as_mut().is_some_and(|scan| scan.feed(text))
        },
    );
    (rsdp, scan.and_then(acpi_copy::LogScan::finish))
}

/// The RSDP from the EFI system table, else from the running kernel's boot parameters.
fn firmware_rsdp(root: &Path) -> Option<u64> {
    let from_systab = fs::read_to_string(root.join("sys/firmware/efi/systab"))
        .ok()
        .and_then(|text| parse_systab_rsdp(&text));
    from_systab.or_else(|| {
        let file = fs::File::open(root.join("sys/kernel/boot_params/data")).ok()?;
        let mut bytes = Vec::new();
        file.take(BOOT_PARAMS_BYTES).read_to_end(&mut bytes).ok()?;
        parse_boot_params_rsdp(&bytes)
    })
}

/// Feeds the kernel log's records at `kmsg` to `take` until it says it has enough, the
/// log ends or `max_records` were read: /dev/kmsg gives one record per read and EAGAIN
/// at the end (opened non-blocking), EPIPE for records overwritten meanwhile.
fn read_log(kmsg: &Path, max_records: usize, mut take: impl FnMut(&str) -> bool) {
    let Ok(mut file) = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(kmsg)
    else {
        return;
    };
    let mut record = vec![0u8; KMSG_RECORD_BYTES];
    for _ in 0..max_records {
        match file.read(&mut record) {
            Ok(0) => return,
            Ok(n) => {
                if take(&String::from_utf8_lossy(&record[..n])) {
                    return;
                }
            }
            Err(e) if e.raw_os_error() == Some(libc::EPIPE) => continue,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => return,
        }
    }
}

/// Whether the running kernel was started through UEFI (it shows `/sys/firmware/efi`).
pub(crate) fn booted_through_uefi(root: &Path) -> bool {
    root.join("sys/firmware/efi").is_dir()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
