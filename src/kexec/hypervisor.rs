//! Where kboot runs: on a machine of its own, or in a Xen guest and of which type. It
//! decides how (and whether) the next kernel can be booted: a PV guest cannot kexec
//! (Xen's soft reset is for HVM and PVH guests only: the guest's `kexec -e` ends it),
//! and a PVH guest's next kernel should come in through its PVH entry.
//!
//! The running kernel says it in sysfs (Linux drivers/xen/sys-hypervisor.c, 6.1):
//! `/sys/hypervisor/type` is `xen`, `/sys/hypervisor/guest_type` is `PV`, `HVM`, `PVH`
//! (or `Xen` for a native Arm domain). A kernel without `CONFIG_XEN_SYS_HYPERVISOR`
//! shows neither; then CPUID's hypervisor leaves (0x40000000, or 0x40000100 when Xen
//! also presents the Viridian leaves first) say "XenVMMXenVMM", but not the guest type.
//! The parsers are pure; [`detect`] reads under a sysfs root.

use std::fs;
use std::io::Read;
use std::path::Path;

/// How Xen runs this guest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum XenGuestType {
    /// Paravirtualised: no kexec.
    Pv,
    /// Hardware-virtualised with a device model and firmware.
    Hvm,
    /// Hardware-virtualised without them, started at the kernel's PVH entry.
    Pvh,
    /// Xen, but the type is not shown (no `guest_type`: CPUID only, or a type this
    /// code does not know).
    Unknown,
}

/// Where kboot runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Hypervisor {
    /// Bare metal, or a hypervisor other than Xen.
    NotXen,
    Xen(XenGuestType),
}

/// The guest type from the text of `/sys/hypervisor/type` and `guest_type` (either
/// missing: `None`). `None` when the type file does not say Xen.
pub(crate) fn parse_sys_hypervisor(
    type_text: Option<&str>,
    guest_type_text: Option<&str>,
) -> Option<XenGuestType> {
    if type_text?.trim() != "xen" {
        return None;
    }
    Some(match guest_type_text.map(str::trim) {
        Some("PV") => XenGuestType::Pv,
        Some("HVM") => XenGuestType::Hvm,
        Some("PVH") => XenGuestType::Pvh,
        _ => XenGuestType::Unknown,
    })
}

/// Whether a CPUID hypervisor leaf's vendor registers (EBX, ECX, EDX) spell Xen's
/// signature.
pub(crate) fn is_xen_signature(ebx: u32, ecx: u32, edx: u32) -> bool {
    let mut signature = [0u8; 12];
    signature[..4].copy_from_slice(&ebx.to_le_bytes());
    signature[4..8].copy_from_slice(&ecx.to_le_bytes());
    signature[8..].copy_from_slice(&edx.to_le_bytes());
    &signature == b"XenVMMXenVMM"
}

/// Whether CPUID shows Xen's leaves at 0x40000000 or 0x40000100.
#[cfg(target_arch = "x86_64")]
fn cpuid_says_xen() -> bool {
    // CPUID is always available on x86_64; leaves past the maximum return junk but
    // never fault, and the hypervisor range is not bounded by leaf 0's maximum.
    [0x4000_0000u32, 0x4000_0100].into_iter().any(|leaf| {
        let regs = std::arch::x86_64::__cpuid(leaf);
        is_xen_signature(regs.ebx, regs.ecx, regs.edx)
    })
}

#[cfg(not(target_arch = "x86_64"))]
fn cpuid_says_xen() -> bool {
    false
}

/// A short sysfs file's text; `None` if it cannot be read.
fn read_small(path: &Path) -> Option<String> {
    let file = fs::File::open(path).ok()?;
    let mut text = String::new();
    file.take(64).read_to_string(&mut text).ok()?;
    Some(text)
}

/// Where kboot runs, from sysfs mounted at `sys` (`/sys`), else CPUID.
pub(crate) fn detect(sys: &Path) -> Hypervisor {
    let type_text = read_small(&sys.join("hypervisor/type"));
    let guest_type_text = read_small(&sys.join("hypervisor/guest_type"));
    match parse_sys_hypervisor(type_text.as_deref(), guest_type_text.as_deref()) {
        Some(guest) => Hypervisor::Xen(guest),
        // sysfs names another hypervisor: trust it over CPUID.
        None if type_text.is_some() => Hypervisor::NotXen,
        None if cpuid_says_xen() => Hypervisor::Xen(XenGuestType::Unknown),
        None => Hypervisor::NotXen,
    }
}

/// Where the running kernel of a Xen PVH guest mapped its grant table, from
/// `/proc/iomem`. Such a kernel maps the table over pages it hands back to Xen; soft
/// reset leaves those pages as they are, so they must not be pages the next kernel
/// takes for RAM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum GrantSpace {
    /// In unpopulated address space (`CONFIG_XEN_UNPOPULATED_ALLOC`): the top-level
    /// "Xen scratch" range of `/proc/iomem`, outside RAM. Its first range.
    Scratch { start: u64, end: u64 },
    /// No "Xen scratch" range: the kernel took the pages from RAM (Linux 6.1
    /// `xen_alloc_unpopulated_pages` falls back to ballooning RAM out).
    Ram,
}

/// [`GrantSpace`] from the text of `/proc/iomem`; `None` when the text shows no
/// addresses (read without root: every range reads as zero).
pub(crate) fn parse_grant_space(iomem: &str) -> Option<GrantSpace> {
    let mut any_address = false;
    for line in iomem.lines() {
        let Some((range, name)) = line.split_once(" : ") else {
            continue;
        };
        let Some((start, end)) = range.trim().split_once('-') else {
            continue;
        };
        let (Ok(start), Ok(end)) = (u64::from_str_radix(start, 16), u64::from_str_radix(end, 16))
        else {
            continue;
        };
        any_address |= end != 0;
        if !line.starts_with(' ') && name.trim() == "Xen scratch" && end > start {
            return Some(GrantSpace::Scratch {
                start,
                end: end.saturating_add(1),
            });
        }
    }
    any_address.then_some(GrantSpace::Ram)
}

/// [`GrantSpace`] of the running kernel (`iomem`: `/proc/iomem`); `None` when it
/// cannot be told.
pub(crate) fn grant_space(iomem: &Path) -> Option<GrantSpace> {
    parse_grant_space(&fs::read_to_string(iomem).ok()?)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
