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
//! printed by every kernel that uses ACPI. With it come the RSDP's revision and OEM ID
//! and the line of the root table it names (`ACPI: XSDT 0x...` or `ACPI: RSDT 0x...`):
//! enough to write a fresh RSDP ([`RsdpCopy`]) without reading physical memory. A Xen
//! PVH guest needs that: across the kexec and Xen's soft reset the RSDP page of a domU
//! built by libxl (0xFC008000) comes back modified (measured: bit 0 set in bytes 0 and
//! 24, so "SSD PTR " and an XSDT address one too high), so its next kernel gets a copy
//! in the start info block, as Xen's own PVH dom0 builder writes its dom0 a new RSDP.

use std::fs;
use std::io::{self, Read};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use crate::bytes::{le64, put_le32, put_le64};

/// `boot_params.acpi_rsdp_addr` (arch/x86/include/uapi/asm/bootparam.h, `/* 0x070 */`).
const BOOT_PARAMS_ACPI_RSDP_ADDR: usize = 0x70;
/// `struct boot_params` is one page.
const BOOT_PARAMS_BYTES: u64 = 4096;
/// How many kernel log records to read at most looking for the RSDP line (it comes
/// within the first few hundred).
const KMSG_MAX_RECORDS: usize = 4096;
/// A /dev/kmsg record is at most about 1 KiB of text.
const KMSG_RECORD_BYTES: usize = 8192;
/// The root table's line follows the RSDP's at once; a few records leave room for
/// interleaved lines.
const KMSG_RECORDS_AFTER_RSDP: usize = 16;
/// ACPI 2.0+ RSDP: 36 bytes; ACPI 1.0: the first 20.
pub(crate) const RSDP_V2_BYTES: usize = 36;
const RSDP_V1_BYTES: usize = 20;

/// Where the firmware's RSDP is and, when the kernel log was the source, what is
/// needed to write a fresh one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AcpiRoot {
    pub rsdp_addr: u64,
    pub copy: Option<RsdpCopy>,
}

/// The fields of an RSDP, from the kernel log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RsdpCopy {
    pub revision: u8,
    pub oem_id: [u8; 6],
    pub xsdt_addr: Option<u64>,
    pub rsdt_addr: Option<u32>,
}

impl RsdpCopy {
    /// The RSDP's bytes (ACPI 6.5 section 5.2.5.3): 36 with an XSDT (revision 2 at
    /// least), else the 20 of ACPI 1.0 (revision 0); checksums filled in.
    pub(crate) fn bytes(&self) -> Vec<u8> {
        let v2 = self.xsdt_addr.is_some();
        let mut b = vec![0u8; if v2 { RSDP_V2_BYTES } else { RSDP_V1_BYTES }];
        b[0..8].copy_from_slice(b"RSD PTR ");
        b[9..15].copy_from_slice(&self.oem_id);
        b[15] = if v2 { self.revision.max(2) } else { 0 };
        put_le32(&mut b, 16, self.rsdt_addr.unwrap_or(0));
        b[8] = checksum(&b[..RSDP_V1_BYTES]);
        if let Some(xsdt) = self.xsdt_addr {
            put_le32(&mut b, 20, RSDP_V2_BYTES as u32);
            put_le64(&mut b, 24, xsdt);
            b[32] = checksum(&b);
        }
        b
    }
}

/// The byte that makes `bytes` sum to 0 (mod 256) when added.
fn checksum(bytes: &[u8]) -> u8 {
    0u8.wrapping_sub(bytes.iter().fold(0u8, |sum, b| sum.wrapping_add(*b)))
}

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

/// The revision and OEM ID in an RSDP line: `... (v02 Xen   )`.
fn parse_log_rsdp_fields(text: &str) -> Option<(u8, [u8; 6])> {
    let line = text.lines().find(|line| line.contains("ACPI: RSDP 0x"))?;
    let inside = &line[line.rfind("(v")? + 2..];
    let revision: u8 = inside.get(..2)?.parse().ok()?;
    let oem = inside.get(3..)?.strip_suffix(')')?.as_bytes();
    let mut oem_id = [b' '; 6];
    let n = oem.len().min(6);
    oem_id[..n].copy_from_slice(&oem[..n]);
    Some((revision, oem_id))
}

/// The address in a root table line: `ACPI: XSDT 0x00000000FC007F50 000034 (v01 ...)`
/// for `table` = "XSDT".
fn parse_log_table(text: &str, table: &str) -> Option<u64> {
    let prefix = format!("ACPI: {table} 0x");
    text.lines().find_map(|line| {
        let rest = &line[line.find(&prefix)? + prefix.len()..];
        u64::from_str_radix(rest.split_whitespace().next()?, 16)
            .ok()
            .filter(|&addr| addr != 0)
    })
}

/// Kernel log records in order, fed one at a time: the RSDP line, then its root
/// table's.
#[derive(Debug, Default)]
pub(crate) struct LogScan {
    root: Option<AcpiRoot>,
    records_after_rsdp: usize,
}

impl LogScan {
    /// Takes one record (or several lines); true once nothing more is needed.
    pub(crate) fn feed(&mut self, text: &str) -> bool {
        text.lines().any(|line| self.feed_line(line))
    }

    fn feed_line(&mut self, text: &str) -> bool {
        let Some(root) = &mut self.root else {
            if let Some(rsdp_addr) = parse_log_rsdp(text) {
                let copy = parse_log_rsdp_fields(text).map(|(revision, oem_id)| RsdpCopy {
                    revision,
                    oem_id,
                    xsdt_addr: None,
                    rsdt_addr: None,
                });
                self.root = Some(AcpiRoot { rsdp_addr, copy });
            }
            return false;
        };
        self.records_after_rsdp += 1;
        if let Some(copy) = &mut root.copy {
            if let Some(xsdt) = parse_log_table(text, "XSDT") {
                copy.xsdt_addr = Some(xsdt);
                return true;
            }
            if let Some(rsdt) = parse_log_table(text, "RSDT").and_then(|a| u32::try_from(a).ok()) {
                copy.rsdt_addr = Some(rsdt);
                return true;
            }
        }
        self.records_after_rsdp >= KMSG_RECORDS_AFTER_RSDP
    }

    /// What was found: the RSDP's address, with a copy only when its root table's
    /// line was seen too.
    pub(crate) fn finish(self) -> Option<AcpiRoot> {
        let mut root = self.root?;
        root.copy = root
            .copy
            .filter(|copy| copy.xsdt_addr.is_some() || copy.rsdt_addr.is_some());
        Some(root)
    }
}

/// Reads it under `root`: from the EFI system table, else from the running kernel's
/// boot parameters, else from its log; `None` when none has it (the next kernel's own
/// scan then finds it, on a BIOS machine).
pub(crate) fn acpi_rsdp(root: &Path) -> Option<u64> {
    let from_systab = fs::read_to_string(root.join("sys/firmware/efi/systab"))
        .ok()
        .and_then(|text| parse_systab_rsdp(&text));
    from_systab
        .or_else(|| {
            let file = fs::File::open(root.join("sys/kernel/boot_params/data")).ok()?;
            let mut bytes = Vec::new();
            file.take(BOOT_PARAMS_BYTES).read_to_end(&mut bytes).ok()?;
            parse_boot_params_rsdp(&bytes)
        })
        .or_else(|| Some(log_rsdp(&root.join("dev/kmsg"))?.rsdp_addr))
}

/// What a fresh copy of the RSDP at `rsdp_addr` needs, from the kernel log under
/// `root`: `None` unless the log names that RSDP and its root table.
pub(crate) fn rsdp_copy(root: &Path, rsdp_addr: u64) -> Option<RsdpCopy> {
    log_rsdp(&root.join("dev/kmsg"))
        .filter(|logged| logged.rsdp_addr == rsdp_addr)?
        .copy
}

/// The RSDP from the kernel log at `kmsg`: /dev/kmsg gives one record per read and
/// EAGAIN at the end (opened non-blocking), EPIPE for records overwritten meanwhile.
fn log_rsdp(kmsg: &Path) -> Option<AcpiRoot> {
    let mut file = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(kmsg)
        .ok()?;
    let mut record = vec![0u8; KMSG_RECORD_BYTES];
    let mut scan = LogScan::default();
    for _ in 0..KMSG_MAX_RECORDS {
        match file.read(&mut record) {
            Ok(0) => break,
            Ok(n) => {
                if scan.feed(&String::from_utf8_lossy(&record[..n])) {
                    break;
                }
            }
            Err(e) if e.raw_os_error() == Some(libc::EPIPE) => continue,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        }
    }
    scan.finish()
}

/// Whether the running kernel was started through UEFI (it shows `/sys/firmware/efi`).
pub(crate) fn booted_through_uefi(root: &Path) -> bool {
    root.join("sys/firmware/efi").is_dir()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
