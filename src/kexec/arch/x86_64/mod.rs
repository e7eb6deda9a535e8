//! x86_64: the zero page (`boot_params`) and the purgatory that enters the kernel.

pub mod purgatory;
pub mod zero_page;
