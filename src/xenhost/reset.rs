//! One soft reset of a domain that has shut down with `SHUTDOWN_soft_reset`, in the
//! order libxl 4.17 follows for an HVM guest (`tools/libs/light/libxl_create.c`
//! `do_domain_soft_reset` → `libxl_domain.c` `libxl__destroy_domid` with
//! `soft_reset` → `libxl_dom.c` `libxl__build_pre`/`libxl__build_post`): pause, the
//! soft-reset domctl, new unbound event channels for xenstore and the console (remote:
//! the domains in `/tool/xenstored/domid` and `/tool/xenconsoled/domid`, 0 when
//! absent), `store/port` and `store/ring-ref`, XS_INTRODUCE, the console's `port` and
//! `ring-ref`, unpause.
//!
//! Where it differs from libxl, and why:
//! - libxl sends XS_RELEASE first and then rebuilds the domain's whole xenstore tree
//!   and its devices from its saved configuration. XS_RELEASE makes xenstored delete
//!   every node the domain owns (`xenstored_domain.c` `domain_tree_remove`: the
//!   frontends under `device/`, `console/`, `control/`), which the companion has no
//!   configuration to rebuild. An XS_INTRODUCE of a domain xenstored already knows
//!   rebinds its event channel and resets the connection (watches, transactions,
//!   ring indexes: `introduce_domain` + `domain_conn_reset`) — the reset a new kernel
//!   needs — and leaves the tree.
//! - libxl sets no HVM parameter: its ports come out the same numbers as at creation
//!   because `evtchn_reset` freed them all. The companion writes
//!   `HVM_PARAM_STORE_EVTCHN` and `HVM_PARAM_CONSOLE_EVTCHN` so the new kernel finds
//!   the ports whatever numbers they get.
//! - XS_RESUME after the introduce: xenstored keeps a "has shut down" mark per domain
//!   and fires `@releaseDomain` only once per mark; a fresh domain (libxl's path) has
//!   none.
//! - The domain stays paused until everything is in place (libxl unpauses right
//!   after the domctl).

use thiserror::Error;

use super::abi::HvmParam;
use super::control::{XenCallError, XenControl};
use super::xenstore::{Xenstore, XenstoreError};

/// The domains at the other end of the guest's xenstore and console rings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Backends {
    pub store_domid: u16,
    pub console_domid: u16,
}

/// What one soft reset set up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ResetOutcome {
    pub store_port: u32,
    pub console_port: u32,
    pub store_gfn: u64,
    pub console_gfn: u64,
}

/// The steps, for error lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    ReadBackends,
    ReadRings,
    Pause,
    SoftReset,
    AllocStorePort,
    AllocConsolePort,
    SetParams,
    WriteStore,
    Introduce,
    WriteConsole,
    Unpause,
}

impl Step {
    fn name(self) -> &'static str {
        match self {
            Step::ReadBackends => "reading /tool/xenstored/domid and /tool/xenconsoled/domid",
            Step::ReadRings => {
                "reading the ring pages (HVM_PARAM_STORE_PFN, HVM_PARAM_CONSOLE_PFN)"
            }
            Step::Pause => "pausing",
            Step::SoftReset => "the soft reset",
            Step::AllocStorePort => "allocating the xenstore event channel",
            Step::AllocConsolePort => "allocating the console event channel",
            Step::SetParams => "setting the event channel HVM parameters",
            Step::WriteStore => "writing store/port and store/ring-ref",
            Step::Introduce => "re-introducing the domain to xenstored",
            Step::WriteConsole => "writing console/port and console/ring-ref",
            Step::Unpause => "unpausing",
        }
    }

    /// What state a failure at this step leaves the domain in, and what to do.
    fn remedy(self, domid: u16) -> String {
        match self {
            Step::ReadBackends | Step::ReadRings | Step::Pause => {
                format!("domain {domid} is untouched (shut down); `xl destroy {domid}` ends it")
            }
            _ => format!(
                "domain {domid} is left paused and half reset: look at `xl dmesg`, then `xl destroy {domid}`"
            ),
        }
    }
}

#[derive(Debug, Error)]
pub(crate) enum StepError {
    #[error(transparent)]
    Xen(#[from] XenCallError),
    #[error(transparent)]
    Xenstore(#[from] XenstoreError),
    #[error("HVM_PARAM_STORE_PFN is 0: the domain has no xenstore ring")]
    NoStoreRing,
    #[error("{path} is {value:?}, not a domain id: {source}")]
    BadDomid {
        path: &'static str,
        value: String,
        #[source]
        source: std::num::ParseIntError,
    },
}

#[derive(Debug, Error)]
#[error("domain {domid}: {} failed: {source}; {}", step.name(), step.remedy(*domid))]
pub(crate) struct SoftResetError {
    pub domid: u16,
    pub step: Step,
    #[source]
    pub source: StepError,
}

/// Attaches the step to an error.
fn at<T, E: Into<StepError>>(
    domid: u16,
    step: Step,
    result: Result<T, E>,
) -> Result<T, SoftResetError> {
    result.map_err(|e| SoftResetError {
        domid,
        step,
        source: e.into(),
    })
}

/// `/tool/xenstored/domid` and `/tool/xenconsoled/domid`, 0 when absent (libxl's
/// `libxl__build_pre`).
fn read_backends(store: &mut dyn Xenstore) -> Result<Backends, StepError> {
    let mut domid_at = |path: &'static str| -> Result<u16, StepError> {
        match store.read(path)? {
            None => Ok(0),
            Some(value) => value.trim().parse().map_err(|source| StepError::BadDomid {
                path,
                value: value.clone(),
                source,
            }),
        }
    };
    Ok(Backends {
        store_domid: domid_at("/tool/xenstored/domid")?,
        console_domid: domid_at("/tool/xenconsoled/domid")?,
    })
}

/// The soft reset of `domid`, which has shut down with reason 5. Each step reports
/// one line through `progress`.
pub(crate) fn soft_reset(
    xen: &mut dyn XenControl,
    store: &mut dyn Xenstore,
    domid: u16,
    progress: &mut dyn FnMut(&str),
) -> Result<ResetOutcome, SoftResetError> {
    // Everything that can be read is read before the domain is touched.
    let backends = at(domid, Step::ReadBackends, read_backends(store))?;
    let (store_gfn, console_gfn) = read_rings(xen, domid)?;

    at(domid, Step::Pause, xen.pause(domid))?;
    progress(&format!("domain {domid}: paused"));
    at(domid, Step::SoftReset, xen.soft_reset(domid))?;
    progress(&format!(
        "domain {domid}: soft reset done (XEN_DOMCTL_soft_reset: event channels closed, memory kept)"
    ));
    let (store_port, console_port) = new_channels(xen, domid, backends, progress)?;
    let outcome = ResetOutcome {
        store_port,
        console_port,
        store_gfn,
        console_gfn,
    };
    reconnect(store, domid, &outcome, progress)?;
    at(domid, Step::Unpause, xen.unpause(domid))?;
    Ok(outcome)
}

/// `HVM_PARAM_STORE_PFN` (which must be set) and `HVM_PARAM_CONSOLE_PFN`: the ring
/// pages, which a soft reset keeps.
fn read_rings(xen: &mut dyn XenControl, domid: u16) -> Result<(u64, u64), SoftResetError> {
    let store_gfn = at(
        domid,
        Step::ReadRings,
        xen.get_param(domid, HvmParam::StorePfn),
    )?;
    if store_gfn == 0 {
        return at(domid, Step::ReadRings, Err(StepError::NoStoreRing));
    }
    let console_gfn = at(
        domid,
        Step::ReadRings,
        xen.get_param(domid, HvmParam::ConsolePfn),
    )?;
    Ok((store_gfn, console_gfn))
}

/// New unbound ports for the xenstore and console rings, told to the guest through
/// its HVM parameters.
fn new_channels(
    xen: &mut dyn XenControl,
    domid: u16,
    backends: Backends,
    progress: &mut dyn FnMut(&str),
) -> Result<(u32, u32), SoftResetError> {
    let store_port = at(
        domid,
        Step::AllocStorePort,
        xen.alloc_unbound(domid, backends.store_domid),
    )?;
    let console_port = at(
        domid,
        Step::AllocConsolePort,
        xen.alloc_unbound(domid, backends.console_domid),
    )?;
    progress(&format!(
        "domain {domid}: new event channels: xenstore port {store_port} (to domain {}), console port {console_port} (to domain {})",
        backends.store_domid, backends.console_domid
    ));
    for (param, port) in [
        (HvmParam::StoreEvtchn, store_port),
        (HvmParam::ConsoleEvtchn, console_port),
    ] {
        at(
            domid,
            Step::SetParams,
            xen.set_param(domid, param, u64::from(port)),
        )?;
    }
    progress(&format!(
        "domain {domid}: set HVM_PARAM_STORE_EVTCHN={store_port} HVM_PARAM_CONSOLE_EVTCHN={console_port}"
    ));
    Ok((store_port, console_port))
}

/// The xenstore side: `store/*` as libxl's `libxl__build_post` writes them, the
/// introduce, then `console/*`, whose change makes xenconsoled bind the new port.
fn reconnect(
    store: &mut dyn Xenstore,
    domid: u16,
    outcome: &ResetOutcome,
    progress: &mut dyn FnMut(&str),
) -> Result<(), SoftResetError> {
    let ResetOutcome {
        store_port,
        console_port,
        store_gfn,
        console_gfn,
    } = *outcome;
    let base = format!("/local/domain/{domid}");
    let store_writes = [
        (format!("{base}/store/port"), store_port.to_string()),
        (format!("{base}/store/ring-ref"), store_gfn.to_string()),
    ];
    at(domid, Step::WriteStore, write_all(store, &store_writes))?;
    at(
        domid,
        Step::Introduce,
        store.introduce(domid, store_gfn, store_port),
    )?;
    progress(&format!(
        "domain {domid}: re-introduced to xenstored (ring gfn {store_gfn:#x}, port {store_port})"
    ));
    if let Err(e) = store.resume(domid) {
        progress(&format!(
            "warning: domain {domid}: {e}: xenstored may not report this domain's next shutdown"
        ));
    }
    let mut console_writes = vec![(format!("{base}/console/port"), console_port.to_string())];
    if console_gfn != 0 {
        console_writes.push((format!("{base}/console/ring-ref"), console_gfn.to_string()));
    }
    at(domid, Step::WriteConsole, write_all(store, &console_writes))?;
    progress(&format!(
        "domain {domid}: wrote console/port={console_port} for xenconsoled"
    ));
    Ok(())
}

fn write_all(store: &mut dyn Xenstore, writes: &[(String, String)]) -> Result<(), XenstoreError> {
    writes
        .iter()
        .try_for_each(|(path, value)| store.write(path, value))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
