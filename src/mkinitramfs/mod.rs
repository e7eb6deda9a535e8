//! Writing the initramfs: gen_init_cpio file lists and newc archives.
//! (Placeholder until the helper-mods branch lands.)

#[derive(Debug, thiserror::Error)]
pub enum MkinitramfsError {
    #[error("not built yet")]
    NotYet,
}

pub fn run(_args: &[String]) -> Result<(), MkinitramfsError> {
    Err(MkinitramfsError::NotYet)
}
