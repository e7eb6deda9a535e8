//! The hypervisor calls the soft reset needs, one method each, behind [`XenControl`]
//! so the flow can be tested with a recording backend. [`PrivcmdControl`] makes them
//! through `privcmd`, building and reading the argument bytes with `abi`.

use std::io;

use thiserror::Error;

use super::abi::{self, DomainInfo, DomctlCmd, HvmParam, XenVersion};
use super::privcmd::Privcmd;

/// A hypercall that failed, with what it was asked.
#[derive(Debug, Error)]
#[error("{call} failed: {source}{}", hint(source))]
pub(crate) struct XenCallError {
    /// The call and its arguments: `XEN_DOMCTL_soft_reset (domain 3)`.
    pub call: String,
    #[source]
    pub source: io::Error,
}

/// What an errno from these calls usually means.
fn hint(source: &io::Error) -> &'static str {
    match source.raw_os_error() {
        Some(libc::EACCES) => " (Xen refused the domctl interface version: is this the Xen the companion was checked against?)",
        Some(libc::EPERM) => " (not allowed: run it as root in dom0)",
        Some(libc::ESRCH) => " (no such domain)",
        Some(libc::EINVAL) => " (Xen refused the arguments: a soft reset needs an HVM or PVH domain that has shut down)",
        _ => "",
    }
}

/// The hypervisor operations of a soft reset.
pub(crate) trait XenControl {
    /// The domain's state; `None` once it no longer exists.
    fn domain_info(&mut self, domid: u16) -> Result<Option<DomainInfo>, XenCallError>;
    fn pause(&mut self, domid: u16) -> Result<(), XenCallError>;
    fn unpause(&mut self, domid: u16) -> Result<(), XenCallError>;
    fn soft_reset(&mut self, domid: u16) -> Result<(), XenCallError>;
    /// A new port of `domid` that `remote_domid` may bind.
    fn alloc_unbound(&mut self, domid: u16, remote_domid: u16) -> Result<u32, XenCallError>;
    fn set_param(&mut self, domid: u16, param: HvmParam, value: u64) -> Result<(), XenCallError>;
    fn get_param(&mut self, domid: u16, param: HvmParam) -> Result<u64, XenCallError>;
}

/// The calls through `/dev/xen/privcmd`, with the domctl interface version of the
/// running hypervisor.
pub(crate) struct PrivcmdControl {
    privcmd: Privcmd,
    interface_version: u32,
}

/// What opening the control interface can meet.
#[derive(Debug, Error)]
pub(crate) enum OpenControlError {
    #[error("cannot open {path}: {source} (this runs in a Xen dom0, as root, with the xen-privcmd module loaded)")]
    Open {
        path: &'static std::path::Path,
        #[source]
        source: io::Error,
    },
    #[error(transparent)]
    Version(#[from] XenCallError),
    #[error("Xen {version} is not supported: kboot xen-soft-reset knows the domctl interface of Xen {} only; use that Xen, or xl's own soft reset for HVM guests", supported())]
    Unsupported { version: XenVersion },
}

fn supported() -> String {
    let versions: Vec<String> = abi::SUPPORTED_XEN
        .iter()
        .map(|(v, _)| v.to_string())
        .collect();
    versions.join(", ")
}

impl PrivcmdControl {
    /// Opens privcmd and picks the domctl interface version of the running Xen.
    pub(crate) fn open() -> Result<(PrivcmdControl, XenVersion), OpenControlError> {
        let mut privcmd =
            Privcmd::open().map_err(|(path, source)| OpenControlError::Open { path, source })?;
        let raw = privcmd
            .hypercall(abi::HYPERVISOR_XEN_VERSION, Some(abi::XENVER_VERSION), None)
            .map_err(|source| XenCallError {
                call: "XENVER_version".into(),
                source,
            })?;
        let version = XenVersion::from_hypercall(raw);
        let interface_version = abi::domctl_interface_version(version)
            .ok_or(OpenControlError::Unsupported { version })?;
        Ok((
            PrivcmdControl {
                privcmd,
                interface_version,
            },
            version,
        ))
    }

    pub(crate) fn interface_version(&self) -> u32 {
        self.interface_version
    }

    fn domctl(&mut self, cmd: DomctlCmd, domid: u16) -> Result<Vec<u8>, XenCallError> {
        let mut buf = abi::domctl_request(cmd, self.interface_version, domid);
        self.privcmd
            .hypercall(abi::HYPERVISOR_DOMCTL, None, Some(&mut buf))
            .map_err(|source| XenCallError {
                call: format!("{} (domain {domid})", cmd.name()),
                source,
            })?;
        Ok(buf)
    }
}

impl XenControl for PrivcmdControl {
    fn domain_info(&mut self, domid: u16) -> Result<Option<DomainInfo>, XenCallError> {
        match self.domctl(DomctlCmd::GetDomainInfo, domid) {
            Ok(buf) => {
                let info = abi::decode_domain_info(&buf);
                Ok((info.domid == domid).then_some(info))
            }
            Err(e) if e.source.raw_os_error() == Some(libc::ESRCH) => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn pause(&mut self, domid: u16) -> Result<(), XenCallError> {
        self.domctl(DomctlCmd::PauseDomain, domid).map(drop)
    }

    fn unpause(&mut self, domid: u16) -> Result<(), XenCallError> {
        self.domctl(DomctlCmd::UnpauseDomain, domid).map(drop)
    }

    fn soft_reset(&mut self, domid: u16) -> Result<(), XenCallError> {
        self.domctl(DomctlCmd::SoftReset, domid).map(drop)
    }

    fn alloc_unbound(&mut self, domid: u16, remote_domid: u16) -> Result<u32, XenCallError> {
        let mut buf = abi::alloc_unbound_request(domid, remote_domid);
        self.privcmd
            .hypercall(
                abi::HYPERVISOR_EVENT_CHANNEL_OP,
                Some(abi::EVTCHNOP_ALLOC_UNBOUND),
                Some(&mut buf),
            )
            .map_err(|source| XenCallError {
                call: format!(
                    "EVTCHNOP_alloc_unbound (domain {domid}, remote domain {remote_domid})"
                ),
                source,
            })?;
        Ok(abi::alloc_unbound_port(&buf))
    }

    fn set_param(&mut self, domid: u16, param: HvmParam, value: u64) -> Result<(), XenCallError> {
        let mut buf = abi::hvm_param_request(domid, param, value);
        self.privcmd
            .hypercall(
                abi::HYPERVISOR_HVM_OP,
                Some(abi::HVMOP_SET_PARAM),
                Some(&mut buf),
            )
            .map_err(|source| XenCallError {
                call: format!(
                    "HVMOP_set_param {} = {value} (domain {domid})",
                    param.name()
                ),
                source,
            })?;
        Ok(())
    }

    fn get_param(&mut self, domid: u16, param: HvmParam) -> Result<u64, XenCallError> {
        let mut buf = abi::hvm_param_request(domid, param, 0);
        self.privcmd
            .hypercall(
                abi::HYPERVISOR_HVM_OP,
                Some(abi::HVMOP_GET_PARAM),
                Some(&mut buf),
            )
            .map_err(|source| XenCallError {
                call: format!("HVMOP_get_param {} (domain {domid})", param.name()),
                source,
            })?;
        Ok(abi::hvm_param_value(&buf))
    }
}
