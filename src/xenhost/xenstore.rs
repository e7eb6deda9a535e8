//! A xenstore client for dom0: xenstored's unix socket (`/run/xenstored/socket`, the
//! older `/var/run/xenstored/socket`, or `$XENSTORED_PATH` as libxenstore honours
//! it), else the kernel's `/dev/xen/xenbus`; one request at a time, no transactions,
//! no watches. The operations sit behind [`Xenstore`] so the soft-reset flow can be
//! tested with a recording backend.

use std::fs::OpenOptions;
use std::io::{self, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;

use thiserror::Error;

use super::xs_wire::{self, XsRequest, XsType, XsWireError, HEADER_BYTES};

/// The xenstore operations of a soft reset.
pub(crate) trait Xenstore {
    /// The value at `path`, `None` when there is no such node.
    fn read(&mut self, path: &str) -> Result<Option<String>, XenstoreError>;
    fn write(&mut self, path: &str, value: &str) -> Result<(), XenstoreError>;
    /// The names under `path`.
    fn directory(&mut self, path: &str) -> Result<Vec<String>, XenstoreError>;
    /// XS_INTRODUCE: (re)connects xenstored to the domain's ring with a new port.
    fn introduce(&mut self, domid: u16, store_gfn: u64, port: u32) -> Result<(), XenstoreError>;
    /// XS_RESUME: clears xenstored's record that the domain has shut down.
    fn resume(&mut self, domid: u16) -> Result<(), XenstoreError>;
}

#[derive(Debug, Error)]
pub(crate) enum XenstoreError {
    #[error(
        "cannot reach xenstored (tried {tried}): {source} (is xenstored running in this dom0?)"
    )]
    Connect {
        tried: String,
        #[source]
        source: io::Error,
    },
    #[error("xenstore {request} {what:?}: {source}")]
    Io {
        request: &'static str,
        what: String,
        #[source]
        source: io::Error,
    },
    #[error("xenstore {request} {what:?}: {source}")]
    Wire {
        request: &'static str,
        what: String,
        #[source]
        source: XsWireError,
    },
}

/// A connection to xenstored.
pub(crate) struct XenstoreConnection {
    stream: Box<dyn ReadWrite>,
    next_req_id: u32,
}

trait ReadWrite: Read + Write {}
impl<T: Read + Write> ReadWrite for T {}

impl XenstoreConnection {
    /// The first of xenstored's sockets that accepts, else `/dev/xen/xenbus`.
    pub(crate) fn connect() -> Result<XenstoreConnection, XenstoreError> {
        let mut sockets: Vec<PathBuf> = Vec::new();
        if let Some(path) = std::env::var_os("XENSTORED_PATH") {
            sockets.push(PathBuf::from(path));
        }
        sockets.push(PathBuf::from("/run/xenstored/socket"));
        sockets.push(PathBuf::from("/var/run/xenstored/socket"));
        for path in &sockets {
            if let Ok(stream) = UnixStream::connect(path) {
                return Ok(Self::over(Box::new(stream)));
            }
        }
        let xenbus = "/dev/xen/xenbus";
        let mut tried: Vec<String> = sockets.iter().map(|p| p.display().to_string()).collect();
        tried.push(xenbus.to_string());
        match OpenOptions::new().read(true).write(true).open(xenbus) {
            Ok(file) => Ok(Self::over(Box::new(file))),
            Err(source) => Err(XenstoreError::Connect {
                tried: tried.join(", "),
                source,
            }),
        }
    }

    fn over(stream: Box<dyn ReadWrite>) -> XenstoreConnection {
        XenstoreConnection {
            stream,
            next_req_id: 1,
        }
    }

    /// Sends one request and returns its reply's payload.
    fn talk(&mut self, request: XsRequest, what: &str) -> Result<Vec<u8>, XenstoreError> {
        let kind = request.kind;
        let wire_error = |source| XenstoreError::Wire {
            request: kind.name(),
            what: what.to_string(),
            source,
        };
        let io_error = |source| XenstoreError::Io {
            request: kind.name(),
            what: what.to_string(),
            source,
        };
        let req_id = self.next_req_id;
        self.next_req_id = self.next_req_id.wrapping_add(1);
        let bytes = xs_wire::encode(&request, req_id).map_err(wire_error)?;
        // One write: /dev/xen/xenbus takes a message per write.
        self.stream.write_all(&bytes).map_err(io_error)?;
        let mut header = [0u8; HEADER_BYTES];
        self.stream.read_exact(&mut header).map_err(io_error)?;
        let header = xs_wire::decode_header(&header).map_err(wire_error)?;
        let mut payload = vec![0u8; header.len as usize];
        self.stream.read_exact(&mut payload).map_err(io_error)?;
        xs_wire::check_reply(kind, req_id, header, payload).map_err(wire_error)
    }
}

impl Xenstore for XenstoreConnection {
    fn read(&mut self, path: &str) -> Result<Option<String>, XenstoreError> {
        match self.talk(xs_wire::path_request(XsType::Read, path), path) {
            Ok(value) => Ok(Some(String::from_utf8_lossy(&value).into_owned())),
            Err(XenstoreError::Wire {
                source: XsWireError::Refused(name),
                ..
            }) if name == "ENOENT" => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn write(&mut self, path: &str, value: &str) -> Result<(), XenstoreError> {
        self.talk(xs_wire::write_request(path, value), path)
            .map(drop)
    }

    fn directory(&mut self, path: &str) -> Result<Vec<String>, XenstoreError> {
        let payload = self.talk(xs_wire::path_request(XsType::Directory, path), path)?;
        Ok(xs_wire::directory_names(&payload))
    }

    fn introduce(&mut self, domid: u16, store_gfn: u64, port: u32) -> Result<(), XenstoreError> {
        let what = format!("domain {domid}");
        self.talk(xs_wire::introduce_request(domid, store_gfn, port), &what)
            .map(drop)
    }

    fn resume(&mut self, domid: u16) -> Result<(), XenstoreError> {
        let what = format!("domain {domid}");
        self.talk(xs_wire::resume_request(domid), &what).map(drop)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
