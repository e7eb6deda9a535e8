#!/usr/bin/env bash
# Installs what building and testing kboot needs on a Debian machine (run as root).
# Rust itself (cargo, rustc) must already be there. linux-source, make, flex, bison,
# bc and libelf-dev build the kboot kernel (kernel/build).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends \
    qemu-system-x86 e2fsprogs lz4 fdisk dosfstools xfsprogs btrfs-progs genisoimage \
    cpio busybox-static kmod linux-source gcc libc6-dev xz-utils file \
    mdadm lvm2 grub-common kexec-tools zstd bzip2 \
    make flex bison bc libelf-dev
command -v cargo >/dev/null || { echo "setup: cargo not found: install Rust (rustup) first" >&2; exit 1; }
# CI runs `cargo fmt --check` and `cargo clippy`: add them where rustup can.
if ! cargo clippy --version >/dev/null 2>&1 || ! cargo fmt --version >/dev/null 2>&1; then
    command -v rustup >/dev/null || { echo "setup: cargo clippy/fmt missing and no rustup to add them" >&2; exit 1; }
    rustup component add clippy rustfmt
fi
# The fuzz pass (fuzz/run) needs cargo-fuzz, from crates.io.
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
