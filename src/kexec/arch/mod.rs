//! Architecture code for the image builder: what the target CPU needs at entry.

pub(crate) mod x86_64;
