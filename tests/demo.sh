#!/bin/bash
# Watch kboot work: builds the QEMU fixtures and a kboot initramfs, then boots the
# Debian cloud kernel under QEMU (TCG) with the serial console on this terminal.
# kboot finds the ext4 root by UUID, picks the newest kernel in /boot and kexecs it;
# that kernel's "system" is a marker ramdisk that prints one KBOOT-MARKER line and
# powers off, which ends QEMU.
#
# Usage: tests/demo.sh [--split] [--kboot-kernel] [EXTRA KERNEL ARGS...]
#   --split   boot the disk with a separate /boot partition (boot=PARTUUID=...)
#   --kboot-kernel
#             boot the kboot kernel (kernel/build: kboot inside a small kernel, about
#             five minutes to build the first time) as QEMU's only -kernel, no -initrd
#   e.g.      tests/demo.sh kboot.append="quiet"
#             tests/demo.sh root=LABEL=nosuchlabel rootdelay=3   (rescue prompt)
# Ctrl-A X leaves QEMU at any time.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
target_dir=${CARGO_TARGET_DIR:-$repo/target}
cache=$repo/target/kboot-cache

disk=onefs
kboot_kernel=
while [[ ${1:-} == --* ]]; do
    case $1 in
    --split) disk=split ;;
    --kboot-kernel) kboot_kernel=1 ;;
    *) echo "demo: unknown option $1" >&2; exit 1 ;;
    esac
    shift
done

bash "$repo/tests/fixtures.sh" "$cache"
# shellcheck source=/dev/null
source "$cache/fixtures.env"

if [[ -n $kboot_kernel ]]; then
    "$repo/kernel/build" "$cache/kboot-kernel"
    boot=(-kernel "$cache/kboot-kernel/bzImage")
else
    cargo build --release --manifest-path "$repo/Cargo.toml" --bin kboot
    kboot=$target_dir/x86_64-unknown-linux-gnu/release/kboot
    "$repo/mkinitramfs" --init "$kboot" -k "$MODULES_DIR" --cpio "$cache/kboot.cpio.gz"
    boot=(-kernel "$KERNEL_IMAGE" -initrd "$cache/kboot.cpio.gz")
fi

# QEMU gets a copy: the pristine image stays as the tests expect it.
mkdir -p "$cache/work"
if [[ $disk == split ]]; then
    pristine=$SPLIT_IMAGE
    args="root=LABEL=$SPLIT_ROOT_LABEL boot=PARTUUID=$SPLIT_BOOT_PARTUUID"
else
    pristine=$ONEFS_IMAGE
    args="root=UUID=$ONEFS_ROOT_UUID"
fi
image=$cache/work/demo-$disk.img
rm -f "$image"
cp --sparse=always --reflink=auto "$pristine" "$image"
chmod u+w "$image"

append="console=ttyS0 $args${*:+ $*}"
echo "demo: booting ${boot[*]} with kboot, cmdline: $append" >&2
echo "demo: (Ctrl-A X quits QEMU)" >&2
exec qemu-system-x86_64 -accel tcg -m 1024 -smp 1 -nographic -no-reboot \
    "${boot[@]}" -append "$append" \
    -drive "file=$image,format=raw,if=virtio"
