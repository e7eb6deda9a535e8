//! A fresh ACPI root for the next kernel of a Xen PVH guest: an RSDP (ACPI 6.5,
//! 5.2.5.3) and an XSDT (5.2.8) listing the tables the running kernel found, written
//! into kboot's own start info block, from nothing but the running kernel's log lines
//! (`ACPI: RSDP 0x...`, `ACPI: XSDT 0x...`, `ACPI: FACP 0x...`, drivers/acpi/acpica/
//! tbprint.c): kboot cannot read physical memory (no /dev/mem in the kboot kernel).
//!
//! Why: in a PVH domU built by Xen 4.17's libxl the root tables do not survive the
//! first kernel's boot. The PVH DSDT's CPU hotplug method (`\_SB.PRSC`, run from GPE 2,
//! which Linux finds "fired" because a PVH guest's GPE and CPU-map ports read as all
//! ones) sets bit 0 of a flag byte for each of 128 CPUs at 8-byte steps from the end of
//! the MADT, through the XSDT, RSDT and RSDP (libacpi's mk_dsdt.c; measured: "SSD PTR ",
//! "YSDT", table addresses one too high). The tables the XSDT points to are intact
//! (but the MADT's checksum). Fixed upstream in Xen 4.19.4 and 4.20.2 ("libacpi: Remove
//! CPU hotplug and GPE handling from PVH DSDTs"), not in 4.17. Xen's own PVH dom0
//! builder writes its dom0 a new RSDP and XSDT the same way.

use crate::bytes::{put_le32, put_le64};

/// RSDP revision 2: 36 bytes; the XSDT follows at the next 16-byte boundary.
const RSDP_BYTES: usize = 36;
const XSDT_AT: usize = 48;
/// The standard table header (5.2.6).
const HEADER_BYTES: usize = 36;
/// Log records to read after the RSDP's at most: its tables follow at once.
pub(crate) const RECORDS_AFTER_RSDP: usize = 64;
/// Tables an XSDT of ours lists at most (more is not a table list from a real log).
const MAX_TABLES: usize = 256;

/// What the running kernel logged of its ACPI root: the RSDP's OEM ID and the tables
/// its XSDT (or RSDT) lists, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AcpiRootCopy {
    pub oem_id: [u8; 6],
    pub tables: Vec<u64>,
}

impl AcpiRootCopy {
    pub(crate) fn len(&self) -> usize {
        XSDT_AT + HEADER_BYTES + 8 * self.tables.len()
    }

    /// The RSDP at `at` and the XSDT after it, checksums filled in. Pure.
    pub(crate) fn bytes(&self, at: u64) -> Vec<u8> {
        let mut b = vec![0u8; self.len()];
        b[0..8].copy_from_slice(b"RSD PTR ");
        b[9..15].copy_from_slice(&self.oem_id);
        b[15] = 2;
        put_le32(&mut b, 20, RSDP_BYTES as u32);
        put_le64(&mut b, 24, at + XSDT_AT as u64);
        b[8] = checksum(&b[..20]);
        b[32] = checksum(&b[..RSDP_BYTES]);
        let xsdt = &mut b[XSDT_AT..];
        xsdt[0..4].copy_from_slice(b"XSDT");
        put_le32(xsdt, 4, (HEADER_BYTES + 8 * self.tables.len()) as u32);
        xsdt[8] = 1;
        xsdt[10..16].copy_from_slice(&self.oem_id);
        xsdt[16..24].copy_from_slice(b"KBOOT   ");
        put_le32(xsdt, 24, 1);
        xsdt[28..32].copy_from_slice(b"KBOT");
        put_le32(xsdt, 32, 1);
        for (i, table) in self.tables.iter().enumerate() {
            put_le64(xsdt, HEADER_BYTES + 8 * i, *table);
        }
        xsdt[9] = checksum(xsdt);
        b
    }
}

/// The byte that makes `bytes` sum to 0 (mod 256) when added.
fn checksum(bytes: &[u8]) -> u8 {
    0u8.wrapping_sub(bytes.iter().fold(0u8, |sum, b| sum.wrapping_add(*b)))
}

/// `ACPI: SIGN 0x<address> ...`: the signature and address of a table line.
pub(crate) fn parse_table_line(line: &str) -> Option<([u8; 4], u64)> {
    let rest = &line[line.find("ACPI: ")? + 6..];
    let (signature, rest) = (rest.get(..4)?, rest.get(4..)?);
    let valid = |c: u8| c.is_ascii_uppercase() || c.is_ascii_digit() || c == b'_' || c == b' ';
    if !signature.bytes().all(valid) {
        return None;
    }
    let digits = rest
        .trim_start()
        .strip_prefix("0x")?
        .split_whitespace()
        .next()?;
    let address = u64::from_str_radix(digits, 16).ok().filter(|&a| a != 0)?;
    Some((signature.as_bytes().try_into().ok()?, address))
}

/// The OEM ID in the RSDP's line: `... (v02 Xen   )`.
fn parse_rsdp_oem(line: &str) -> Option<[u8; 6]> {
    let inside = &line[line.rfind("(v")? + 2..];
    let oem = inside.get(3..)?.strip_suffix(')')?.as_bytes();
    let mut oem_id = [b' '; 6];
    let n = oem.len().min(6);
    oem_id[..n].copy_from_slice(&oem[..n]);
    Some(oem_id)
}

/// Log lines in order, fed one at a time, for the RSDP at `rsdp_addr`: its line, its
/// root table's, then the tables' until a line that is not one.
#[derive(Debug)]
pub(crate) struct LogScan {
    rsdp_addr: u64,
    oem_id: Option<[u8; 6]>,
    root_seen: bool,
    tables: Vec<u64>,
    lines_after_rsdp: usize,
    done: bool,
}

impl LogScan {
    pub(crate) fn new(rsdp_addr: u64) -> LogScan {
        LogScan {
            rsdp_addr,
            oem_id: None,
            root_seen: false,
            tables: Vec::new(),
            lines_after_rsdp: 0,
            done: false,
        }
    }

    /// Takes one record (or several lines); true once nothing more is needed.
    pub(crate) fn feed(&mut self, text: &str) -> bool {
        for line in text.lines() {
            if !self.done {
                self.feed_line(line);
            }
        }
        self.done
    }

    fn feed_line(&mut self, line: &str) {
        let table = parse_table_line(line);
        if self.oem_id.is_none() {
            if table == Some((*b"RSDP", self.rsdp_addr)) {
                self.oem_id = parse_rsdp_oem(line);
                self.done = self.oem_id.is_none();
            }
            return;
        }
        self.lines_after_rsdp += 1;
        match table {
            Some((signature, _)) if !self.root_seen => {
                self.root_seen = true;
                self.done = !matches!(&signature, b"XSDT" | b"RSDT");
            }
            // The FADT's DSDT and FACS are not XSDT entries; the RSDP's line again
            // means a second, unrelated dump.
            Some((signature, address)) => match &signature {
                b"DSDT" | b"FACS" => {}
                b"RSDP" | b"XSDT" | b"RSDT" => self.done = true,
                _ if !self.tables.contains(&address) => self.tables.push(address),
                _ => {}
            },
            None => self.done = true,
        }
        self.done |= self.lines_after_rsdp >= RECORDS_AFTER_RSDP || self.tables.len() >= MAX_TABLES;
    }

    /// The copy, when the RSDP, its root table and at least one table were seen.
    pub(crate) fn finish(self) -> Option<AcpiRootCopy> {
        let oem_id = self.oem_id?;
        (self.root_seen && !self.tables.is_empty()).then_some(AcpiRootCopy {
            oem_id,
            tables: self.tables,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
