//! The host side of kboot in Xen guests: `kboot xen-soft-reset DOMAIN`, a companion
//! run in dom0 beside a guest configured with `on_soft_reset = "preserve"`. When the
//! guest kexecs (Linux ends an HVM/PVH guest's `kexec -e` in `SHUTDOWN_soft_reset`),
//! it does the soft reset libxl 4.17 refuses for anything but HVM
//! (`libxl_domain_soft_reset` returns ERROR_INVAL), so the guest's next kernel runs.
//!
//! It talks to Xen through Linux's device interfaces, from Rust: hypercalls through
//! `/dev/xen/privcmd` (`privcmd`, the one unsafe module), xenstore through xenstored's
//! socket or `/dev/xen/xenbus` (`xenstore`). No libxenctrl, no libxenstore: one static
//! binary, nothing for /init to depend on, and no tie to libxenctrl's per-release
//! ABI. The domctl ABI is versioned; `abi` says which releases are known.
//! `reset` is one soft reset's steps; this module resolves the domain and waits for
//! its shutdowns.

pub(crate) mod abi;
pub(crate) mod control;
mod privcmd;
pub(crate) mod reset;
pub(crate) mod xenstore;
pub(crate) mod xs_wire;

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod fake;

use std::io::Write as _;
use std::time::Duration;

use thiserror::Error;

use abi::{DOMID_FIRST_RESERVED, SHUTDOWN_SOFT_RESET};
use control::{OpenControlError, PrivcmdControl, XenCallError, XenControl};
use reset::SoftResetError;
use xenstore::{Xenstore, XenstoreConnection, XenstoreError};

/// How often the domain's state is read while waiting. A poll rather than a
/// `@releaseDomain` watch: one hypercall every 200 ms in dom0 costs nothing, and it
/// needs no handling of watch events interleaved with replies.
pub(crate) const POLL_INTERVAL: Duration = Duration::from_millis(200);

#[derive(Debug, Error)]
pub(crate) enum XenHostError {
    #[error(transparent)]
    Open(#[from] OpenControlError),
    #[error(transparent)]
    Xenstore(#[from] XenstoreError),
    #[error(transparent)]
    Call(#[from] XenCallError),
    #[error(transparent)]
    Reset(#[from] SoftResetError),
    #[error("no domain named {0:?} in xenstore (/local/domain/*/name); `xl list` shows the names")]
    NoSuchName(String),
    #[error("no domain {0} (`xl list` shows the domains)")]
    NoSuchDomain(u16),
    #[error("domain {0} is not a guest that can be soft reset (dom0 or a reserved id)")]
    NotAGuest(u16),
    #[error("domain {0} is a PV guest: kexec cannot work there and Xen soft-resets only HVM and PVH guests; set type=\"pvh\" in its xl configuration")]
    PvGuest(u16),
}

/// What the command was asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SoftResetOptions {
    /// A domain id or a name.
    pub domain: String,
    /// Stop after one soft reset.
    pub once: bool,
}

/// Why `serve` returned without an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ServeEnd {
    /// The domain no longer exists (destroyed, or it shut down for good).
    Gone { resets: u32 },
    /// `--once` and one reset done.
    Once,
}

/// `kboot xen-soft-reset`: opens the interfaces, resolves the domain, serves it.
pub(crate) fn run(options: &SoftResetOptions) -> Result<ServeEnd, XenHostError> {
    let (mut xen, version) = PrivcmdControl::open()?;
    let mut store = XenstoreConnection::connect()?;
    let domid = wait_for_domain(
        &mut store,
        &options.domain,
        &mut |line| say(line),
        &mut || std::thread::sleep(POLL_INTERVAL),
    )?;
    let name = store
        .read(&format!("/local/domain/{domid}/name"))?
        .unwrap_or_default();
    say(&format!(
        "xen-soft-reset: Xen {version} (domctl interface {:#x}); watching domain {domid} {name:?} for a soft reset (shutdown reason 5), every {} ms",
        xen.interface_version(),
        POLL_INTERVAL.as_millis()
    ));
    serve(
        &mut xen,
        &mut store,
        domid,
        options.once,
        &mut |line| say(line),
        &mut || std::thread::sleep(POLL_INTERVAL),
    )
}

/// One `kboot: ` progress line on stdout. A log that has gone away (a closed pipe)
/// must not stop the companion, so a failed write is dropped, not a panic.
fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "kboot: {line}").and_then(|()| out.flush());
}

/// A domain id (digits), or the id of the domain whose xenstore `name` is `text`.
pub(crate) fn resolve_domain(store: &mut dyn Xenstore, text: &str) -> Result<u16, XenHostError> {
    let domid = match text.parse::<u16>() {
        Ok(domid) => domid,
        Err(_) => find_by_name(store, text)?,
    };
    if domid == 0 || domid >= DOMID_FIRST_RESERVED {
        return Err(XenHostError::NotAGuest(domid));
    }
    Ok(domid)
}

/// `resolve_domain`, waiting for a name that is not there yet: the companion may be
/// started before `xl create`.
pub(crate) fn wait_for_domain(
    store: &mut dyn Xenstore,
    text: &str,
    progress: &mut dyn FnMut(&str),
    wait: &mut dyn FnMut(),
) -> Result<u16, XenHostError> {
    let mut said = false;
    loop {
        match resolve_domain(store, text) {
            Err(XenHostError::NoSuchName(_)) => {
                if !said {
                    progress(&format!(
                        "no domain named {text:?} yet: waiting for it to be created (xl create)"
                    ));
                    said = true;
                }
                wait();
            }
            result => return result,
        }
    }
}

fn find_by_name(store: &mut dyn Xenstore, name: &str) -> Result<u16, XenHostError> {
    for id in store.directory("/local/domain")? {
        let Ok(domid) = id.parse::<u16>() else {
            continue;
        };
        if store
            .read(&format!("/local/domain/{domid}/name"))?
            .as_deref()
            == Some(name)
        {
            return Ok(domid);
        }
    }
    Err(XenHostError::NoSuchName(name.to_string()))
}

/// The name of a shutdown reason (`xen/include/public/sched.h`).
fn shutdown_reason_name(reason: u8) -> &'static str {
    match reason {
        0 => "poweroff",
        1 => "reboot",
        2 => "suspend",
        3 => "crash",
        4 => "watchdog",
        5 => "soft_reset",
        _ => "unknown",
    }
}

/// Waits for the domain's soft-reset shutdowns and resets each, until the domain is
/// gone (or after one with `once`). Another shutdown reason is reported once and
/// left to xl.
pub(crate) fn serve(
    xen: &mut dyn XenControl,
    store: &mut dyn Xenstore,
    domid: u16,
    once: bool,
    progress: &mut dyn FnMut(&str),
    wait: &mut dyn FnMut(),
) -> Result<ServeEnd, XenHostError> {
    let mut resets = 0;
    let mut reported: Option<u8> = None;
    let mut first = true;
    loop {
        let info = match xen.domain_info(domid)? {
            Some(info) if !info.dying() => info,
            _ if first => return Err(XenHostError::NoSuchDomain(domid)),
            _ => {
                progress(&format!(
                    "domain {domid} is gone; {resets} soft reset(s) done"
                ));
                return Ok(ServeEnd::Gone { resets });
            }
        };
        if first && !info.hvm_container() {
            return Err(XenHostError::PvGuest(domid));
        }
        first = false;
        match info.shutdown_reason() {
            Some(SHUTDOWN_SOFT_RESET) => {
                progress(&format!(
                    "domain {domid}: shut down for a soft reset (reason 5: the guest kexecs)"
                ));
                reset::soft_reset(xen, store, domid, progress)?;
                resets += 1;
                progress(&format!(
                    "domain {domid}: unpaused; soft reset {resets} done"
                ));
                reported = None;
                if once {
                    return Ok(ServeEnd::Once);
                }
                continue;
            }
            Some(reason) if reported != Some(reason) => {
                progress(&format!(
                    "domain {domid}: shut down with reason {reason} ({}), not a soft reset: left to xl",
                    shutdown_reason_name(reason)
                ));
                reported = Some(reason);
            }
            Some(_) => {}
            None => reported = None,
        }
        wait();
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
