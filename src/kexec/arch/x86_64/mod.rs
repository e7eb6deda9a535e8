//! x86_64: the zero page (`boot_params`) and the purgatory that enters the kernel.

pub(crate) mod purgatory;
pub(crate) mod zero_page;
