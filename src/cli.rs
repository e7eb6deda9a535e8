//! The subcommands of kboot as a tool on a running system.

pub fn main(_args: &[String]) -> i32 {
    0
}
