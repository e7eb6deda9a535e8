//! The hypercall argument layouts the soft-reset companion sends, as bytes: pure
//! encoders and decoders, no system calls. Every number and offset below comes from
//! Xen's public headers (tag RELEASE-4.17.7 unless a line says otherwise; x86_64,
//! little-endian):
//! - `xen/include/public/xen.h`: hypercall numbers, `domid_t` (u16),
//!   `DOMID_FIRST_RESERVED` 0x7ff0.
//! - `xen/include/public/domctl.h`: `struct xen_domctl` (cmd u32 @0, interface_version
//!   u32 @4, domain u16 @8, `_pad[3]` @10, the union @16 — 8-aligned because its
//!   members hold `uint64_aligned_t` — sized by its `uint8_t pad[128]`: 144 bytes in
//!   all) and `struct xen_domctl_getdomaininfo` (domain u16 @0, pad1 @2, flags u32 @4,
//!   then the u64 counters from @8).
//! - `xen/include/public/event_channel.h`: `struct evtchn_alloc_unbound` (dom u16 @0,
//!   remote_dom u16 @2, port u32 @4; 8 bytes).
//! - `xen/include/public/hvm/hvm_op.h` and `hvm/params.h`: `struct xen_hvm_param`
//!   (domid u16 @0, pad @2, index u32 @4, value u64 @8; 16 bytes).
//! - `xen/include/public/sched.h`: `SHUTDOWN_soft_reset` 5.
//!
//! The domctl ABI is versioned: Xen answers EACCES unless `interface_version` is
//! exactly its own `XEN_DOMCTL_INTERFACE_VERSION` (`xen/common/domctl.c`), so the
//! version is picked from the running hypervisor's and only for releases whose
//! headers were compared: [`domctl_interface_version`].

use crate::bytes::{le16, le32, le64, put_le16, put_le32, put_le64};

/// `__HYPERVISOR_xen_version` (xen.h).
pub(crate) const HYPERVISOR_XEN_VERSION: u64 = 17;
/// `__HYPERVISOR_event_channel_op` (xen.h).
pub(crate) const HYPERVISOR_EVENT_CHANNEL_OP: u64 = 32;
/// `__HYPERVISOR_hvm_op` (xen.h).
pub(crate) const HYPERVISOR_HVM_OP: u64 = 34;
/// `__HYPERVISOR_domctl` (xen.h).
pub(crate) const HYPERVISOR_DOMCTL: u64 = 36;

/// `XENVER_version` (version.h): returns `major << 16 | minor`, takes no buffer.
pub(crate) const XENVER_VERSION: u64 = 0;
/// `EVTCHNOP_alloc_unbound` (event_channel.h).
pub(crate) const EVTCHNOP_ALLOC_UNBOUND: u64 = 6;
/// `HVMOP_set_param` (hvm_op.h).
pub(crate) const HVMOP_SET_PARAM: u64 = 0;
/// `HVMOP_get_param` (hvm_op.h).
pub(crate) const HVMOP_GET_PARAM: u64 = 1;

/// Domain ids from here up are special (`DOMID_FIRST_RESERVED`, xen.h).
pub(crate) const DOMID_FIRST_RESERVED: u16 = 0x7ff0;
/// `SHUTDOWN_soft_reset` (sched.h): what a Linux HVM/PVH guest's `kexec -e` ends in.
pub(crate) const SHUTDOWN_SOFT_RESET: u8 = 5;

/// `sizeof(struct xen_domctl)`: 16-byte header + the 128-byte union.
pub(crate) const DOMCTL_BYTES: usize = 144;
/// Where `struct xen_domctl`'s union starts (8-aligned after the 10-byte header and
/// `_pad[3]`).
const DOMCTL_UNION_AT: usize = 16;
/// `sizeof(struct evtchn_alloc_unbound)`.
pub(crate) const EVTCHN_ALLOC_UNBOUND_BYTES: usize = 8;
/// `sizeof(struct xen_hvm_param)`.
pub(crate) const HVM_PARAM_BYTES: usize = 16;

/// The domctl commands the companion sends (domctl.h, the same numbers in 4.16-4.22).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DomctlCmd {
    PauseDomain = 3,
    UnpauseDomain = 4,
    GetDomainInfo = 5,
    SoftReset = 79,
}

impl DomctlCmd {
    /// The header's name, for error lines.
    pub(crate) fn name(self) -> &'static str {
        match self {
            DomctlCmd::PauseDomain => "XEN_DOMCTL_pausedomain",
            DomctlCmd::UnpauseDomain => "XEN_DOMCTL_unpausedomain",
            DomctlCmd::GetDomainInfo => "XEN_DOMCTL_getdomaininfo",
            DomctlCmd::SoftReset => "XEN_DOMCTL_soft_reset",
        }
    }
}

/// The HVM parameters the companion reads or sets (hvm/params.h).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HvmParam {
    StorePfn = 1,
    StoreEvtchn = 2,
    ConsolePfn = 17,
    ConsoleEvtchn = 18,
}

impl HvmParam {
    pub(crate) fn name(self) -> &'static str {
        match self {
            HvmParam::StorePfn => "HVM_PARAM_STORE_PFN",
            HvmParam::StoreEvtchn => "HVM_PARAM_STORE_EVTCHN",
            HvmParam::ConsolePfn => "HVM_PARAM_CONSOLE_PFN",
            HvmParam::ConsoleEvtchn => "HVM_PARAM_CONSOLE_EVTCHN",
        }
    }
}

/// A hypervisor release, from `XENVER_version`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct XenVersion {
    pub major: u16,
    pub minor: u16,
}

impl XenVersion {
    /// `XENVER_version`'s return value: `major << 16 | minor`.
    pub(crate) fn from_hypercall(value: i64) -> XenVersion {
        // Truncations intended: the two halves of a 32-bit value.
        XenVersion {
            major: ((value >> 16) & 0xffff) as u16,
            minor: (value & 0xffff) as u16,
        }
    }
}

impl std::fmt::Display for XenVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// The releases kboot speaks the domctl ABI of: `XEN_DOMCTL_INTERFACE_VERSION` from
/// each RELEASE-4.x.0's domctl.h. In all of them the `struct xen_domctl` header, the
/// four commands and `struct xen_domctl_getdomaininfo`'s layout and flag bits are the
/// same (compared header by header); 4.21 changed how domctls are versioned ("stable
/// domctl ops") and is not claimed.
pub(crate) const SUPPORTED_XEN: &[(XenVersion, u32)] = &[
    (
        XenVersion {
            major: 4,
            minor: 16,
        },
        0x14,
    ),
    (
        XenVersion {
            major: 4,
            minor: 17,
        },
        0x15,
    ),
    (
        XenVersion {
            major: 4,
            minor: 18,
        },
        0x16,
    ),
    (
        XenVersion {
            major: 4,
            minor: 19,
        },
        0x17,
    ),
    (
        XenVersion {
            major: 4,
            minor: 20,
        },
        0x17,
    ),
];

/// The domctl interface version for a hypervisor release, or `None` for one kboot has
/// not checked.
pub(crate) fn domctl_interface_version(version: XenVersion) -> Option<u32> {
    SUPPORTED_XEN
        .iter()
        .find(|(v, _)| *v == version)
        .map(|&(_, interface)| interface)
}

/// A `struct xen_domctl` for `cmd` on `domid`: the commands kboot sends take no
/// input beyond the header, so the union stays zero.
pub(crate) fn domctl_request(cmd: DomctlCmd, interface_version: u32, domid: u16) -> Vec<u8> {
    let mut buf = vec![0u8; DOMCTL_BYTES];
    put_le32(&mut buf, 0, cmd as u32);
    put_le32(&mut buf, 4, interface_version);
    put_le16(&mut buf, 8, domid);
    buf
}

/// What `XEN_DOMCTL_getdomaininfo` says about a domain (the fields kboot uses).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DomainInfo {
    /// The domain the answer is about: Xen answers for the first domain with an id
    /// at least the one asked for, so a different id means the asked one is gone.
    pub domid: u16,
    pub flags: u32,
}

/// `XEN_DOMINF_dying` (bit 0).
const DOMINF_DYING: u32 = 1 << 0;
/// `XEN_DOMINF_hvm_guest` (bit 1): HVM or PVH.
const DOMINF_HVM_GUEST: u32 = 1 << 1;
/// `XEN_DOMINF_shutdown` (bit 2): every vCPU has stopped for the shutdown.
const DOMINF_SHUTDOWN: u32 = 1 << 2;
/// `XEN_DOMINF_shutdownshift` / `XEN_DOMINF_shutdownmask`.
const DOMINF_SHUTDOWN_SHIFT: u32 = 16;
const DOMINF_SHUTDOWN_MASK: u32 = 0xff;

impl DomainInfo {
    pub(crate) fn dying(&self) -> bool {
        self.flags & DOMINF_DYING != 0
    }
    pub(crate) fn hvm_container(&self) -> bool {
        self.flags & DOMINF_HVM_GUEST != 0
    }
    /// The guest's shutdown reason, once the domain has shut down.
    pub(crate) fn shutdown_reason(&self) -> Option<u8> {
        // The mask keeps 8 bits: the cast cannot truncate.
        (self.flags & DOMINF_SHUTDOWN != 0)
            .then_some(((self.flags >> DOMINF_SHUTDOWN_SHIFT) & DOMINF_SHUTDOWN_MASK) as u8)
    }
}

/// The domctl buffer after a successful `XEN_DOMCTL_getdomaininfo`.
pub(crate) fn decode_domain_info(domctl: &[u8]) -> DomainInfo {
    DomainInfo {
        domid: le16(domctl, DOMCTL_UNION_AT),
        flags: le32(domctl, DOMCTL_UNION_AT + 4),
    }
}

/// A `struct evtchn_alloc_unbound`: a port of `domid` that `remote_domid` may bind.
pub(crate) fn alloc_unbound_request(domid: u16, remote_domid: u16) -> Vec<u8> {
    let mut buf = vec![0u8; EVTCHN_ALLOC_UNBOUND_BYTES];
    put_le16(&mut buf, 0, domid);
    put_le16(&mut buf, 2, remote_domid);
    buf
}

/// The port Xen wrote back into an `evtchn_alloc_unbound`.
pub(crate) fn alloc_unbound_port(reply: &[u8]) -> u32 {
    le32(reply, 4)
}

/// A `struct xen_hvm_param` for `HVMOP_set_param` (value set) or `HVMOP_get_param`
/// (value 0, written back by Xen).
pub(crate) fn hvm_param_request(domid: u16, param: HvmParam, value: u64) -> Vec<u8> {
    let mut buf = vec![0u8; HVM_PARAM_BYTES];
    put_le16(&mut buf, 0, domid);
    put_le32(&mut buf, 4, param as u32);
    put_le64(&mut buf, 8, value);
    buf
}

/// The value of a `struct xen_hvm_param` after `HVMOP_get_param`.
pub(crate) fn hvm_param_value(reply: &[u8]) -> u64 {
    le64(reply, 8)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
