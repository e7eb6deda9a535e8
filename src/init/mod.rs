//! PID 1: the boot flow.

pub fn is_init(_args: &[String]) -> bool {
    std::process::id() == 1
}

pub fn run() -> ! {
    loop {
        std::thread::park();
    }
}
