//! The subcommands of kboot as a tool on a running system.

pub fn main(args: &[String]) -> i32 {
    match args.get(1).map(String::as_str) {
        Some("mkinitramfs") => crate::mkinitramfs::main(args.get(2..).unwrap_or(&[])),
        _ => 0,
    }
}
