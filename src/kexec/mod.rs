//! Booting a boot entry with kexec.
