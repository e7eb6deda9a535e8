//! The xenstore wire protocol (`xen/include/public/io/xs_wire.h`, Xen 4.17): every
//! message is a 16-byte `struct xsd_sockmsg` header — type, req_id, tx_id, len, u32
//! each, native (little) endian — then `len` bytes of payload, at most
//! `XENSTORE_PAYLOAD_MAX` (4096). Requests carry NUL-terminated strings (a write's
//! value is not terminated); a failed request comes back as `XS_ERROR` with the errno
//! name ("ENOENT\0"). The same bytes go over xenstored's unix socket and
//! `/dev/xen/xenbus`. Pure: bytes in, values out.

use thiserror::Error;

use crate::bytes::{le32, put_le32};

/// `sizeof(struct xsd_sockmsg)`.
pub(crate) const HEADER_BYTES: usize = 16;
/// `XENSTORE_PAYLOAD_MAX`.
pub(crate) const PAYLOAD_MAX_BYTES: usize = 4096;

/// The message types kboot sends (`enum xsd_sockmsg_type`), and `XS_ERROR`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum XsType {
    Directory = 1,
    Read = 2,
    Introduce = 8,
    Write = 11,
    Error = 16,
    Resume = 18,
}

impl XsType {
    pub(crate) fn name(self) -> &'static str {
        match self {
            XsType::Directory => "XS_DIRECTORY",
            XsType::Read => "XS_READ",
            XsType::Introduce => "XS_INTRODUCE",
            XsType::Write => "XS_WRITE",
            XsType::Error => "XS_ERROR",
            XsType::Resume => "XS_RESUME",
        }
    }
}

/// A request as it goes on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct XsRequest {
    pub kind: XsType,
    pub payload: Vec<u8>,
}

#[derive(Debug, Error, PartialEq, Eq)]
pub(crate) enum XsWireError {
    #[error("{kind} payload of {len} bytes is over xenstore's {PAYLOAD_MAX_BYTES}-byte limit")]
    TooLong { kind: &'static str, len: usize },
    #[error("xenstored answered {0}")]
    Refused(String),
    #[error("xenstored answered message type {found} to {sent} (expected the same type)")]
    UnexpectedType { sent: &'static str, found: u32 },
    #[error("xenstored answered request {found}, not {sent} (out of step)")]
    UnexpectedRequestId { sent: u32, found: u32 },
}

/// `path\0`: XS_READ and XS_DIRECTORY.
pub(crate) fn path_request(kind: XsType, path: &str) -> XsRequest {
    let mut payload = path.as_bytes().to_vec();
    payload.push(0);
    XsRequest { kind, payload }
}

/// `path\0value`: XS_WRITE (libxenstore's `xs_write` sends the value unterminated).
pub(crate) fn write_request(path: &str, value: &str) -> XsRequest {
    let mut payload = path.as_bytes().to_vec();
    payload.push(0);
    payload.extend_from_slice(value.as_bytes());
    XsRequest {
        kind: XsType::Write,
        payload,
    }
}

/// `domid\0gfn\0port\0`, decimal, as `xs_introduce_domain` sends them. C xenstored
/// ignores the gfn; oxenstored compares it with the one it was introduced with.
pub(crate) fn introduce_request(domid: u16, store_gfn: u64, port: u32) -> XsRequest {
    let text = format!("{domid}\0{store_gfn}\0{port}\0");
    XsRequest {
        kind: XsType::Introduce,
        payload: text.into_bytes(),
    }
}

/// `domid\0`: XS_RESUME clears xenstored's "has shut down" mark for the domain, so
/// its next shutdown fires `@releaseDomain` again.
pub(crate) fn resume_request(domid: u16) -> XsRequest {
    path_request(XsType::Resume, &domid.to_string())
}

/// Header + payload, transaction 0.
pub(crate) fn encode(request: &XsRequest, req_id: u32) -> Result<Vec<u8>, XsWireError> {
    let len = request.payload.len();
    if len > PAYLOAD_MAX_BYTES {
        return Err(XsWireError::TooLong {
            kind: request.kind.name(),
            len,
        });
    }
    let mut buf = vec![0u8; HEADER_BYTES];
    put_le32(&mut buf, 0, request.kind as u32);
    put_le32(&mut buf, 4, req_id);
    put_le32(&mut buf, 8, 0);
    // Checked above: at most 4096.
    put_le32(&mut buf, 12, len as u32);
    buf.extend_from_slice(&request.payload);
    Ok(buf)
}

/// A reply header's fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct XsHeader {
    pub kind: u32,
    pub req_id: u32,
    pub len: u32,
}

/// The header of a reply; its `len` is checked against the payload limit, so a
/// caller can size the read by it.
pub(crate) fn decode_header(buf: &[u8; HEADER_BYTES]) -> Result<XsHeader, XsWireError> {
    let header = XsHeader {
        kind: le32(buf, 0),
        req_id: le32(buf, 4),
        len: le32(buf, 12),
    };
    if header.len as usize > PAYLOAD_MAX_BYTES {
        return Err(XsWireError::TooLong {
            kind: "reply",
            len: header.len as usize,
        });
    }
    Ok(header)
}

/// The payload of the reply to `sent`, or the error xenstored gave.
pub(crate) fn check_reply(
    sent: XsType,
    req_id: u32,
    header: XsHeader,
    payload: Vec<u8>,
) -> Result<Vec<u8>, XsWireError> {
    if header.kind == XsType::Error as u32 {
        let name = payload.split(|&b| b == 0).next().unwrap_or_default();
        return Err(XsWireError::Refused(
            String::from_utf8_lossy(name).into_owned(),
        ));
    }
    if header.kind != sent as u32 {
        return Err(XsWireError::UnexpectedType {
            sent: sent.name(),
            found: header.kind,
        });
    }
    if header.req_id != req_id {
        return Err(XsWireError::UnexpectedRequestId {
            sent: req_id,
            found: header.req_id,
        });
    }
    Ok(payload)
}

/// An XS_DIRECTORY reply: NUL-separated names.
pub(crate) fn directory_names(payload: &[u8]) -> Vec<String> {
    payload
        .split(|&b| b == 0)
        .filter(|name| !name.is_empty())
        .map(|name| String::from_utf8_lossy(name).into_owned())
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
