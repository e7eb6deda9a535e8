#!/usr/bin/env bash
# Makes debian-*.cfg: the grub.cfg Debian 12's real grub-mkconfig (package grub-common)
# writes for a root filesystem holding two kernels, with /boot on root and with a
# separate /boot filesystem, and (debian-xen.cfg) with Debian's Xen hypervisor
# installed beside them. Run as root (loop devices, mounts in a private mount
# namespace); nothing outside a temporary directory is touched.
#
# grub-mkconfig probes "/" and "/boot" of the running system, so it runs chrooted
# into a loop-mounted ext4 image whose /usr, /bin, /lib, /etc... are bind mounts of
# the host's (the host's grub-common, without /etc/default/grub), with a private
# /dev holding the loop nodes and their /dev/disk/by-uuid links.
set -euo pipefail
[ "$(id -u)" = 0 ] || { echo "run as root" >&2; exit 1; }
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
VERSIONS="6.1.0-9-amd64 6.1.0-13-amd64"
ROOT_UUID=4b424f4f-0005-4000-8000-000000000001
BOOT_UUID=4b424f4f-0005-4000-8000-000000000002
# For the Xen tree: the hypervisor (20_linux_xen lists only /boot/xen* files that
# grub-file accepts as multiboot, so it is the real one) and the /etc/default/grub the
# chroot sees. Empty: no Xen, and the host's /etc/default (which has no grub file).
XEN_GZ=
DEFAULT_GRUB=

tree() { # DIR: fake kernels, ramdisks and configs as Debian's kernel packages name them
    mkdir -p "$1"
    for v in $VERSIONS; do
        echo "kernel $v" >"$1/vmlinuz-$v"
        echo "initrd $v" >"$1/initrd.img-$v"
        echo "config $v" >"$1/config-$v"
        # 20_linux_xen offers only kernels built as a dom0.
        if [ -n "$XEN_GZ" ]; then echo "CONFIG_XEN_DOM0=y" >>"$1/config-$v"; fi
    done
    if [ -n "$XEN_GZ" ]; then cp "$XEN_GZ" "$1/"; fi
}

run() { # NAME SEPARATE_BOOT(0|1) [VAR=VALUE... for grub-mkconfig, as /etc/default/grub would set]
    local name=$1 separate=$2 d="$work/$1"
    shift 2
    mkdir -p "$d/rootfs/boot/grub" "$d/bootfs/grub"
    if [ "$separate" = 1 ]; then tree "$d/bootfs"; else tree "$d/rootfs/boot"; fi
    # /etc/default as the chroot sees it: the host's, plus grub when one is given.
    mkdir -p "$d/etc-default"
    cp -a /etc/default/. "$d/etc-default/"
    if [ -n "$DEFAULT_GRUB" ]; then cp "$DEFAULT_GRUB" "$d/etc-default/grub"; fi
    mke2fs -q -t ext4 -U "$ROOT_UUID" -L root -d "$d/rootfs" "$d/root.img" 64M
    mke2fs -q -t ext4 -U "$BOOT_UUID" -L boot -d "$d/bootfs" "$d/boot.img" 32M
    unshare -m bash -euo pipefail -c '
        d=$1 separate=$2 root_uuid=$3 boot_uuid=$4
        shift 4
        mount --make-rprivate /
        root_loop=$(losetup -f --show "$d/root.img")
        boot_loop=$(losetup -f --show "$d/boot.img")
        root_num=$(stat -c "%Hr:%Lr" "$root_loop"); boot_num=$(stat -c "%Hr:%Lr" "$boot_loop")
        # 10_linux refuses loop devices (it cannot tell what backs them at boot), so in
        # this namespace the loop devices are also /dev/vda and /dev/vdb.
        mount -t tmpfs dev /dev
        mknod /dev/vda b ${root_num%:*} ${root_num#*:}
        mknod /dev/vdb b ${boot_num%:*} ${boot_num#*:}
        mkdir -p /dev/disk/by-uuid
        ln -s ../../vda /dev/disk/by-uuid/$root_uuid
        ln -s ../../vdb /dev/disk/by-uuid/$boot_uuid
        mknod /dev/null c 1 3; mknod /dev/zero c 1 5; mknod /dev/urandom c 1 9
        mkdir -p "$d/mnt"
        mount /dev/vda "$d/mnt"
        if [ "$separate" = 1 ]; then mount /dev/vdb "$d/mnt/boot"; fi
        for dir in usr bin sbin lib lib64 etc; do
            [ -e "/$dir" ] || continue
            if [ -L "/$dir" ]; then ln -s "$(readlink /$dir)" "$d/mnt/$dir"
            else mkdir -p "$d/mnt/$dir"; mount --bind "/$dir" "$d/mnt/$dir"; fi
        done
        mount --bind "$d/etc-default" "$d/mnt/etc/default"
        mkdir -p "$d/mnt/dev" "$d/mnt/proc" "$d/mnt/sys" "$d/mnt/tmp"
        mount --rbind /dev "$d/mnt/dev"
        mount -t proc proc "$d/mnt/proc"
        mount --bind /sys "$d/mnt/sys"
        chroot "$d/mnt" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C \
            GRUB_DISABLE_OS_PROBER=true "$@" grub-mkconfig -o /tmp/grub.cfg
        cp "$d/mnt/tmp/grub.cfg" "$d/grub.cfg"
        umount -R "$d/mnt"
        umount -l /dev
        losetup -d "$root_loop" "$boot_loop"
    ' _ "$d" "$separate" "$ROOT_UUID" "$BOOT_UUID" "$@"
    install -m 644 "$d/grub.cfg" "$here/$name.cfg"
}

run debian-boot-on-root 0
run debian-separate-boot 1
run debian-saved-default 0 GRUB_DEFAULT=saved GRUB_TIMEOUT=3 GRUB_DISTRIBUTOR=Debian \
    GRUB_CMDLINE_LINUX_DEFAULT=quiet "GRUB_CMDLINE_LINUX=console=ttyS0 console=tty0"
# A Xen host: Debian's xen-hypervisor-4.17-amd64 (its xen-4.17-amd64.gz in /boot) and
# kernels built with CONFIG_XEN_DOM0, with the Xen and dom0 command lines a PVH dom0
# under QEMU needs, set in /etc/default/grub as a user would.
mkdir -p "$work/xen"
(cd "$work/xen" && apt-get download xen-hypervisor-4.17-amd64 && dpkg-deb -x ./*.deb root)
XEN_GZ="$work/xen/root/boot/xen-4.17-amd64.gz"
DEFAULT_GRUB="$work/default-grub"
cat >"$DEFAULT_GRUB" <<'EOF'
GRUB_DEFAULT=0
GRUB_TIMEOUT=5
GRUB_DISTRIBUTOR=`lsb_release -i -s 2> /dev/null || echo Debian`
GRUB_CMDLINE_LINUX_DEFAULT="quiet"
GRUB_CMDLINE_LINUX="console=hvc0"
GRUB_CMDLINE_XEN="dom0=pvh iommu=1 console=com1 com1=115200,8n1 dom0_mem=1024M"
EOF
run debian-xen 0
XEN_GZ= DEFAULT_GRUB=

# The environment block grub-editenv writes, with saved_entry and the next_entry kboot
# ignores.
rm -f "$here/debian-grubenv"
grub-editenv "$here/debian-grubenv" set \
    saved_entry="gnulinux-advanced-$ROOT_UUID>gnulinux-6.1.0-9-amd64-advanced-$ROOT_UUID" \
    next_entry=1
