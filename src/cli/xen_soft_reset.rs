//! `kboot xen-soft-reset DOMAIN [--once]`: the dom0 companion of a Xen guest that
//! boots through kboot (see `crate::xenhost`). Exit status 0 when the domain is gone
//! (or after one reset with `--once`), 1 with one `kboot: ` line on any failure.

use crate::report::Chain;
use crate::xenhost::{self, SoftResetOptions};

/// The usage text, a macro so `kboot --help` can `concat!` it.
macro_rules! xen_soft_reset_usage {
    () => {
        "\
  kboot xen-soft-reset DOMAIN [--once]
      In a Xen dom0: wait for DOMAIN (a domain id, or a name, waited for until
      `xl create` makes it) to shut down for a soft reset (reason 5, what a PVH or
      HVM guest's kexec ends in), then do the soft reset xl 4.17 refuses for PVH
      guests: pause, XEN_DOMCTL_soft_reset, new xenstore and console event
      channels in the HVM parameters and xenstore, re-introduce the domain to
      xenstored, unpause. Keeps serving the domain's later kexecs until it is
      gone (exit 0); --once stops after one. Any failure: one line, exit 1. Use
      with on_soft_reset = \"preserve\" in the guest's xl configuration.
"
    };
}

pub(super) const USAGE: &str = xen_soft_reset_usage!();

/// What the command line asks: help, or a domain to serve.
#[derive(Debug, PartialEq, Eq)]
enum Parsed {
    Help,
    Serve(SoftResetOptions),
}

fn parse(args: &[String]) -> Result<Parsed, String> {
    let mut domain: Option<String> = None;
    let mut once = false;
    for arg in args {
        match arg.as_str() {
            "-h" | "--help" => return Ok(Parsed::Help),
            "--once" => once = true,
            flag if flag.starts_with('-') => return Err(format!("unknown option {flag}")),
            name if domain.is_none() => domain = Some(name.to_string()),
            extra => return Err(format!("one DOMAIN only (also got {extra:?})")),
        }
    }
    let domain = domain.ok_or("missing DOMAIN (a domain name or id)")?;
    Ok(Parsed::Serve(SoftResetOptions { domain, once }))
}

pub(super) fn main(args: &[String]) -> i32 {
    match parse(args) {
        Ok(Parsed::Help) => {
            print!("usage:\n{USAGE}");
            0
        }
        Err(message) => {
            eprintln!("kboot xen-soft-reset: {message}\n\nusage:\n{USAGE}");
            1
        }
        Ok(Parsed::Serve(options)) => match xenhost::run(&options) {
            Ok(_) => 0,
            Err(e) => {
                eprintln!("kboot: {}", Chain(&e));
                1
            }
        },
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
