//! Recording backends for the soft-reset flow's tests: one shared log of every call,
//! in order, across the hypervisor and xenstore.

use std::cell::RefCell;
use std::collections::{BTreeMap, VecDeque};
use std::io;
use std::rc::Rc;

use super::abi::{DomainInfo, HvmParam};
use super::control::{XenCallError, XenControl};
use super::xenstore::{Xenstore, XenstoreError};

pub(crate) type Log = Rc<RefCell<Vec<String>>>;

/// `XEN_DOMINF_hvm_guest` | `XEN_DOMINF_shutdown` | reason 5.
pub(crate) const SOFT_RESET_FLAGS: u32 = (5 << 16) | 0b110;
/// `XEN_DOMINF_hvm_guest` | running.
pub(crate) const RUNNING_FLAGS: u32 = 0b10_0010;

pub(crate) struct FakeXen {
    pub log: Log,
    /// What each `domain_info` returns, in turn; the last one repeats.
    pub states: VecDeque<Option<DomainInfo>>,
    /// The call (as logged, up to its first space) that fails with EINVAL.
    pub fail: Option<&'static str>,
    pub next_port: u32,
    pub store_pfn: u64,
    pub console_pfn: u64,
}

impl FakeXen {
    pub(crate) fn new(log: &Log, flags: &[Option<u32>]) -> FakeXen {
        FakeXen {
            log: log.clone(),
            states: flags
                .iter()
                .map(|f| f.map(|flags| DomainInfo { domid: 3, flags }))
                .collect(),
            fail: None,
            next_port: 1,
            store_pfn: 0xfeffc,
            console_pfn: 0xfeffd,
        }
    }

    fn call(&mut self, entry: String) -> Result<(), XenCallError> {
        let name = entry.split(' ').next().unwrap_or_default().to_string();
        self.log.borrow_mut().push(entry.clone());
        if self.fail == Some(name.as_str()) {
            return Err(XenCallError {
                call: entry,
                source: io::Error::from_raw_os_error(libc::EINVAL),
            });
        }
        Ok(())
    }
}

impl XenControl for FakeXen {
    fn domain_info(&mut self, domid: u16) -> Result<Option<DomainInfo>, XenCallError> {
        self.call(format!("getdomaininfo {domid}"))?;
        let state = if self.states.len() > 1 {
            self.states.pop_front().flatten()
        } else {
            self.states.front().copied().flatten()
        };
        Ok(state)
    }
    fn pause(&mut self, domid: u16) -> Result<(), XenCallError> {
        self.call(format!("pause {domid}"))
    }
    fn unpause(&mut self, domid: u16) -> Result<(), XenCallError> {
        self.call(format!("unpause {domid}"))
    }
    fn soft_reset(&mut self, domid: u16) -> Result<(), XenCallError> {
        self.call(format!("soft_reset {domid}"))
    }
    fn alloc_unbound(&mut self, domid: u16, remote_domid: u16) -> Result<u32, XenCallError> {
        self.call(format!("alloc_unbound {domid} remote {remote_domid}"))?;
        self.next_port += 1;
        Ok(self.next_port - 1)
    }
    fn set_param(&mut self, domid: u16, param: HvmParam, value: u64) -> Result<(), XenCallError> {
        self.call(format!("set_param {domid} {} {value}", param.name()))
    }
    fn get_param(&mut self, domid: u16, param: HvmParam) -> Result<u64, XenCallError> {
        self.call(format!("get_param {domid} {}", param.name()))?;
        Ok(match param {
            HvmParam::StorePfn => self.store_pfn,
            HvmParam::ConsolePfn => self.console_pfn,
            _ => 0,
        })
    }
}

pub(crate) struct FakeStore {
    pub log: Log,
    pub nodes: BTreeMap<String, String>,
    /// How many `directory` calls answer with nothing (a domain not created yet).
    pub empty_directories: usize,
}

impl FakeStore {
    pub(crate) fn new(log: &Log, nodes: &[(&str, &str)]) -> FakeStore {
        FakeStore {
            log: log.clone(),
            nodes: nodes
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            empty_directories: 0,
        }
    }
}

impl Xenstore for FakeStore {
    fn read(&mut self, path: &str) -> Result<Option<String>, XenstoreError> {
        Ok(self.nodes.get(path).cloned())
    }
    fn write(&mut self, path: &str, value: &str) -> Result<(), XenstoreError> {
        self.log
            .borrow_mut()
            .push(format!("xs write {path} {value}"));
        self.nodes.insert(path.to_string(), value.to_string());
        Ok(())
    }
    fn directory(&mut self, path: &str) -> Result<Vec<String>, XenstoreError> {
        if self.empty_directories > 0 {
            self.empty_directories -= 1;
            return Ok(Vec::new());
        }
        let prefix = format!("{path}/");
        let mut names: Vec<String> = self
            .nodes
            .keys()
            .filter_map(|k| k.strip_prefix(&prefix))
            .filter_map(|rest| rest.split('/').next())
            .map(str::to_string)
            .collect();
        names.dedup();
        Ok(names)
    }
    fn introduce(&mut self, domid: u16, store_gfn: u64, port: u32) -> Result<(), XenstoreError> {
        self.log
            .borrow_mut()
            .push(format!("xs introduce {domid} {store_gfn:#x} {port}"));
        Ok(())
    }
    fn resume(&mut self, domid: u16) -> Result<(), XenstoreError> {
        self.log.borrow_mut().push(format!("xs resume {domid}"));
        Ok(())
    }
}
