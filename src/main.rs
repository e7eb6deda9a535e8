//! The `kboot` binary: PID 1 in an initramfs, or a command-line tool everywhere else.
//! All the code is in the library (`src/lib.rs`); this only dispatches.

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if kboot::is_init(&args) {
        kboot::run_init();
    }
    std::process::exit(kboot::cli_main(&args));
}
