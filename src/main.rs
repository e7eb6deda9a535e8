//! kboot: a minimal initramfs `/init` that finds kernels on the machine's disks,
//! lets the user pick one and boots it with kexec. The same binary is also a tool on
//! a running system (`kboot devices`, `kboot entries`, `kboot mkinitramfs`).

#[allow(dead_code)]
mod cli;
#[allow(dead_code)]
mod devices;
#[allow(dead_code)]
mod init;
#[allow(dead_code)]
mod kexec;
#[allow(dead_code)]
mod mkinitramfs;
#[allow(dead_code)]
mod select;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if init::is_init(&args) {
        init::run();
    }
    std::process::exit(cli::main(&args));
}
