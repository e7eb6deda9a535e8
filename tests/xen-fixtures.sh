#!/bin/bash
# Builds the fixtures the Xen tests (tests/e2e_xen.rs, bench/compare-kexec-tools
# --xen) boot, under CACHE_DIR/xen/:
#   deb/                       Debian's xen-hypervisor-4.17-amd64 and the generic
#                              linux-image-6.1.0-NN-amd64 (same NN as the cloud kernel
#                              of tests/fixtures.sh: the cloud kernel has no XEN_DOM0)
#   xen-4.17-amd64.gz          the hypervisor as the package ships it (multiboot2 ELF, gzip'd)
#   xen-4.17-amd64.elf         the same, gunzip'd (QEMU's -kernel takes no gzip)
#   vmlinuz-V                  the generic kernel (the dom0 kernel)
#   dom0-marker.cpio.gz        tiny initramfs whose /init prints one line
#                                KBOOT-XEN-MARKER hypervisor=<sys/hypervisor/type>
#                                guest_type=<sys/hypervisor/guest_type>
#                                paravirt=<what "Booting kernel on ..." named>
#                                kernel=<uname -r> cmdline=<...>
#                              and powers off (under Xen, Xen then halts the machine)
#   disk-xen.img               GPT, one ext4 root: /boot holds the three files as a Debian
#                              Xen host names them and a grub.cfg whose default entry is
#                              the Xen entry Debian's 20_linux_xen (diverted to
#                              08_linux_xen by xen-hypervisor-common) writes, then a plain
#                              Linux entry of the same kernel and ramdisk
#   kexec-tools-xen.cpio       initramfs for the cloud kernel of tests/fixtures.sh: its
#                              /init loads Xen, dom0 and the marker with Debian's
#                              kexec-tools (--type multiboot2-x86, kexec_load) and runs
#                              kexec -e: the prior art, and the proof that Xen after a
#                              kexec boots on the test machine at all
#   xen-fixtures.env           KEY=value lines: paths, versions, UUIDs, command lines
#
# Usage: bash tests/xen-fixtures.sh CACHE_DIR   (after tests/fixtures.sh CACHE_DIR)
#
# Like tests/fixtures.sh: real tools only (apt-get download, dpkg-deb, cpio, sfdisk,
# mke2fs -d), nothing mounted; each step is skipped when its outputs exist and its
# stamp holds this script's hash; the downloads are kept across edits of this script.
set -euo pipefail

cache_dir=${1:?usage: xen-fixtures.sh CACHE_DIR}
cache_dir=$(cd "$cache_dir" && pwd)
xen_dir=$cache_dir/xen
mkdir -p "$xen_dir"
script_hash=$(sha256sum "${BASH_SOURCE[0]}" | cut -c1-16)

exec 9>"$xen_dir/.lock"
flock 9

log() { echo "xen-fixtures: $*" >&2; }

if [[ ! -f "$cache_dir/fixtures.env" ]]; then
    log "$cache_dir/fixtures.env is missing: run tests/fixtures.sh $cache_dir first"
    exit 1
fi
cloud_version=$(sed -n 's/^KERNEL_VERSION=//p' "$cache_dir/fixtures.env")

xen_package=xen-hypervisor-4.17-amd64
xen_name=xen-4.17-amd64
# Fixed identifiers, so command lines in tests are stable across rebuilds.
xen_disk_uuid=4b424f4f-0000-4000-8000-000000000007
xen_root_partuuid=4b424f4f-0001-4000-8000-000000000007
xen_root_uuid=4b424f4f-0002-4000-8000-000000000007
xen_root_label=kxen
linux_fs_type=0FC63DAF-8483-4772-8E79-3D69D8477DE4
image_size_mib=96
mib_sectors=2048

# What Xen needs to boot under QEMU TCG (measured with QEMU 7.2): a PVH dom0
# (a PV dom0 crashes early under TCG), Xen's console on the first serial port, and a
# dom0 small enough for -m 3072. dom0's console is hvc0.
xen_args="dom0=pvh iommu=1 console=com1 com1=115200,8n1 dom0_mem=1024M"
dom0_args="console=hvc0 kboot-entry=xen-dom0"
linux_args="console=ttyS0 kboot-entry=linux"

stamp_fresh() { [[ -f "$xen_dir/.stamp-$1" && $(<"$xen_dir/.stamp-$1") == "$script_hash" ]]; }
stamp_write() { echo "$script_hash" >"$xen_dir/.stamp-$1"; }

# The generic kernel with the cloud kernel's ABI number: 6.1.0-57-cloud-amd64 ->
# linux-image-6.1.0-57-amd64. When the archive no longer has that one, the version
# linux-image-amd64 points at.
generic_package() {
    local wanted=linux-image-${cloud_version/-cloud-amd64/-amd64}
    if apt-cache show "$wanted" >/dev/null 2>&1; then
        echo "$wanted"
        return
    fi
    log "apt-cache knows no $wanted: using the one linux-image-amd64 depends on"
    apt-cache depends linux-image-amd64 2>/dev/null |
        sed -n 's/^ *Depends: \(linux-image-[0-9].*-amd64\)$/\1/p' | head -n1
}

# $1 = package: its .deb in deb/ (downloaded once).
download() {
    local package=$1
    if compgen -G "$xen_dir/deb/${package}_*.deb" >/dev/null; then
        return
    fi
    mkdir -p "$xen_dir/deb"
    log "downloading $package"
    if ! (cd "$xen_dir/deb" && apt-get download -q "$package" >&2); then
        log "apt-get download $package failed: running apt-get update once"
        apt-get update -q >&2
        (cd "$xen_dir/deb" && apt-get download -q "$package" >&2)
    fi
}

build_packages() {
    if [[ -f "$xen_dir/dom0-version" ]]; then
        local version
        version=$(<"$xen_dir/dom0-version")
        if [[ -f "$xen_dir/vmlinuz-$version" && -f "$xen_dir/$xen_name.gz" &&
            -f "$xen_dir/$xen_name.elf" ]]; then
            return
        fi
    fi
    local package
    package=$(generic_package)
    if [[ -z "$package" ]]; then
        log "no generic linux-image-*-amd64 package found (apt-get update?)"
        exit 1
    fi
    download "$xen_package"
    download "$package"
    local version=${package#linux-image-} tree
    tree=$(mktemp -d "$xen_dir/extract.XXXXXX")
    dpkg-deb --fsys-tarfile "$xen_dir/deb/${xen_package}_"*.deb |
        tar -x -C "$tree" "./boot/$xen_name.gz"
    dpkg-deb --fsys-tarfile "$xen_dir/deb/${package}_"*.deb |
        tar -x -C "$tree" "./boot/vmlinuz-$version" "./boot/config-$version"
    if ! grep -qx 'CONFIG_XEN_DOM0=y' "$tree/boot/config-$version" ||
        ! grep -qx 'CONFIG_XEN_SYS_HYPERVISOR=y' "$tree/boot/config-$version"; then
        log "$package lacks CONFIG_XEN_DOM0=y or CONFIG_XEN_SYS_HYPERVISOR=y"
        exit 1
    fi
    mv "$tree/boot/$xen_name.gz" "$xen_dir/$xen_name.gz"
    gzip -dc "$xen_dir/$xen_name.gz" >"$xen_dir/$xen_name.elf"
    mv "$tree/boot/vmlinuz-$version" "$xen_dir/vmlinuz-$version"
    rm -rf "$tree"
    echo "$version" >"$xen_dir/dom0-version"
}

build_marker() {
    local out=$xen_dir/dom0-marker.cpio.gz tree
    if stamp_fresh marker && [[ -f "$out" ]]; then
        return
    fi
    log "building the dom0 marker ramdisk"
    tree=$(mktemp -d "$xen_dir/marker.XXXXXX")
    mkdir -p "$tree/bin" "$tree/proc" "$tree/dev" "$tree/sys"
    cp /bin/busybox "$tree/bin/busybox"
    # /sys/hypervisor/type says "xen" in any Xen guest (CONFIG_XEN_SYS_HYPERVISOR);
    # guest_type says PV, PVH or HVM; the kernel's "Booting kernel on Xen PVH" line
    # ("Booting paravirtualized kernel on bare hardware" without Xen) is the second
    # witness. Words are joined by "_" so the line splits
    # on spaces until cmdline=.
    cat >"$tree/init" <<'EOF'
#!/bin/busybox sh
bb=/bin/busybox
$bb mount -t proc proc /proc
$bb mount -t sysfs sysfs /sys
$bb mount -t devtmpfs devtmpfs /dev 2>/dev/null
# Only emergencies on the console from here, so no kernel line lands inside the marker.
echo 1 >/proc/sys/kernel/printk
read_word() { if [ -r "$1" ]; then $bb tr -s ' \n' '__' <"$1" | $bb sed 's/_$//'; else echo none; fi; }
paravirt=$($bb dmesg | $bb sed -n 's/.*Booting .*kernel on //p' | $bb head -n1 | $bb tr ' ' '_')
echo "KBOOT-XEN-MARKER hypervisor=$(read_word /sys/hypervisor/type) guest_type=$(read_word /sys/hypervisor/guest_type) paravirt=${paravirt:-none} kernel=$($bb uname -r) cmdline=$($bb cat /proc/cmdline)" >/dev/console
$bb poweroff -f
EOF
    chmod 755 "$tree/init"
    (cd "$tree" && find . -mindepth 1 | LC_ALL=C sort |
        cpio --quiet -o -H newc -R 0:0 --reproducible) | gzip -9n >"$out.tmp"
    mv "$out.tmp" "$out"
    rm -rf "$tree"
    stamp_write marker
}

# $1 = dom0 version: the grub.cfg of a Debian 12 Xen host. The Xen entry is written as
# 20_linux_xen's template writes it (its xen_rm_opts block included), with
# GRUB_CMDLINE_XEN_DEFAULT="$xen_args" and GRUB_CMDLINE_LINUX_DEFAULT="$dom0_args";
# the Linux entry after it boots the same kernel and ramdisk without Xen, on ttyS0,
# so a kboot that skipped the Xen entry prints hypervisor=none. No no-real-mode on
# Xen's line (20_linux_xen adds it only off BIOS): Xen 4.17 kexec'd from Linux by
# kexec-tools (multiboot2) boots without it on the test machine, whose BIOS stays in
# low memory.
write_grub_cfg() {
    local version=$1 out=$2
    cat >"$out" <<EOF
#
# DO NOT EDIT THIS FILE
#
# It is automatically generated by grub-mkconfig using templates
# from /etc/grub.d and settings from /etc/default/grub
#

### BEGIN /etc/grub.d/00_header ###
set default="0"
if [ x"\${feature_menuentry_id}" = xy ]; then
  menuentry_id_option="--id"
else
  menuentry_id_option=""
fi
export menuentry_id_option
set timeout=5
### END /etc/grub.d/00_header ###

### BEGIN /etc/grub.d/08_linux_xen ###
menuentry 'Debian GNU/Linux, with Xen hypervisor' --class debian --class gnu-linux --class gnu --class os --class xen \$menuentry_id_option 'xen-gnulinux-simple-$xen_root_uuid' {
	insmod part_gpt
	insmod ext2
	search --no-floppy --fs-uuid --set=root $xen_root_uuid
	echo	'Loading Xen 4.17-amd64 ...'
        if [ "\$grub_platform" = "pc" -o "\$grub_platform" = "" ]; then
            xen_rm_opts=
        else
            xen_rm_opts="no-real-mode edd=off"
        fi
	insmod multiboot2
	multiboot2	/boot/$xen_name.gz placeholder $xen_args \${xen_rm_opts}
	echo	'Loading Linux $version ...'
	module2	/boot/vmlinuz-$version placeholder root=UUID=$xen_root_uuid ro $dom0_args
	echo	'Loading initial ramdisk ...'
	insmod multiboot2
	module2	--nounzip   /boot/initrd.img-$version
}
### END /etc/grub.d/08_linux_xen ###

### BEGIN /etc/grub.d/10_linux ###
menuentry 'Debian GNU/Linux' --class debian --class gnu-linux --class gnu --class os \$menuentry_id_option 'gnulinux-simple-$xen_root_uuid' {
	insmod part_gpt
	insmod ext2
	search --no-floppy --fs-uuid --set=root $xen_root_uuid
	echo	'Loading Linux $version ...'
	linux	/boot/vmlinuz-$version root=UUID=$xen_root_uuid ro $linux_args
	echo	'Loading initial ramdisk ...'
	initrd	/boot/initrd.img-$version
}
### END /etc/grub.d/10_linux ###

### BEGIN /etc/grub.d/40_custom ###
# The same Xen through multiboot version 1, as 20_linux_xen writes it for a Xen
# without a multiboot2 header (GRUB's multiboot command: version 1 even though this
# Xen has both headers).
menuentry 'Debian GNU/Linux, with Xen hypervisor (multiboot 1)' --class xen \$menuentry_id_option 'xen-gnulinux-multiboot1-$xen_root_uuid' {
	insmod part_gpt
	insmod ext2
	search --no-floppy --fs-uuid --set=root $xen_root_uuid
	insmod multiboot
	multiboot	/boot/$xen_name.gz placeholder $xen_args
	module	/boot/vmlinuz-$version placeholder root=UUID=$xen_root_uuid ro $dom0_args kboot-entry=xen-multiboot1
	module	--nounzip   /boot/initrd.img-$version
}
### END /etc/grub.d/40_custom ###
EOF
}

build_disk() {
    local image=$xen_dir/disk-xen.img version tree
    if stamp_fresh disk && [[ -f "$image" ]]; then
        return
    fi
    log "building the Xen disk image"
    version=$(<"$xen_dir/dom0-version")
    tree=$(mktemp -d "$xen_dir/disk.XXXXXX")
    mkdir -p "$tree/boot/grub" "$tree/etc" "$tree/dev" "$tree/proc" "$tree/sys"
    echo kboot-xen >"$tree/etc/hostname"
    printf 'PRETTY_NAME="kboot Xen test root"\nID=kboot-fixture\n' >"$tree/etc/os-release"
    cp "$xen_dir/$xen_name.gz" "$tree/boot/$xen_name.gz"
    cp "$xen_dir/vmlinuz-$version" "$tree/boot/vmlinuz-$version"
    cp "$xen_dir/dom0-marker.cpio.gz" "$tree/boot/initrd.img-$version"
    write_grub_cfg "$version" "$tree/boot/grub/grub.cfg"
    find "$tree" -exec touch -h -d @1700000000 {} +
    rm -f "$image" "$image.tmp"
    truncate -s "${image_size_mib}M" "$image.tmp"
    local part_mib=$((image_size_mib - 2))
    sfdisk --quiet --no-reread --no-tell-kernel "$image.tmp" >/dev/null <<EOF
label: gpt
label-id: $xen_disk_uuid
unit: sectors
first-lba: $mib_sectors

start=$mib_sectors, size=$((part_mib * mib_sectors)), type=$linux_fs_type, uuid=$xen_root_partuuid, name=rootpart
EOF
    E2FSPROGS_FAKE_TIME=1700000000 mke2fs -q -F -t ext4 \
        -E "offset=1048576,nodiscard,root_owner=0:0,hash_seed=$xen_root_uuid" \
        -U "$xen_root_uuid" -L "$xen_root_label" -d "$tree" "$image.tmp" "$((part_mib * 1024))k"
    rm -rf "$tree"
    # The pristine copy tests compare against: read-only.
    chmod a-w "$image.tmp"
    mv "$image.tmp" "$image"
    stamp_write disk
}

# $1 = binary, $2 = tree: the binary and the shared libraries ldd names, at their paths.
copy_with_libraries() {
    local binary=$1 tree=$2 file
    for file in "$binary" $(ldd "$binary" | grep -o '/[^ ]*'); do
        mkdir -p "$tree$(dirname "$file")"
        cp -L "$file" "$tree$file"
    done
}

build_kexec_tools_initramfs() {
    local out=$xen_dir/kexec-tools-xen.cpio version tree kexec
    if stamp_fresh kexec-tools && [[ -f "$out" ]]; then
        return
    fi
    if ! kexec=$(PATH=/usr/sbin:/sbin:/usr/bin:/bin command -v kexec); then
        log "kexec not found (apt-get install kexec-tools)"
        exit 1
    fi
    log "building the kexec-tools initramfs"
    version=$(<"$xen_dir/dom0-version")
    tree=$(mktemp -d "$xen_dir/kexec-tools.XXXXXX")
    mkdir -p "$tree/bin" "$tree/proc" "$tree/dev" "$tree/sys" "$tree/k"
    cp /bin/busybox "$tree/bin/busybox"
    copy_with_libraries "$kexec" "$tree"
    # Debian's kexec-tools is built without zlib: it gets the gunzip'd Xen.
    cp "$xen_dir/$xen_name.elf" "$tree/k/xen"
    cp "$xen_dir/vmlinuz-$version" "$tree/k/vmlinuz"
    cp "$xen_dir/dom0-marker.cpio.gz" "$tree/k/initrd"
    cat >"$tree/init" <<END_OF_INIT
#!/bin/busybox sh
bb=/bin/busybox
\$bb mount -t proc proc /proc
\$bb mount -t sysfs sysfs /sys
\$bb mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
$kexec -c --type multiboot2-x86 -l /k/xen --module "/k/vmlinuz placeholder $dom0_args" \\
    --module /k/initrd --command-line "placeholder $xen_args" &&
    echo "kexec-tools: loaded Xen" && $kexec -e
echo "kexec-tools: kexec failed"
\$bb poweroff -f
END_OF_INIT
    chmod 755 "$tree/init"
    (cd "$tree" && find . -mindepth 1 | LC_ALL=C sort |
        cpio --quiet -o -H newc -R 0:0 --reproducible) >"$out.tmp"
    mv "$out.tmp" "$out"
    rm -rf "$tree"
    stamp_write kexec-tools
}

write_env() {
    local version
    version=$(<"$xen_dir/dom0-version")
    cat >"$xen_dir/xen-fixtures.env.tmp" <<EOF
XEN_DIR=$xen_dir
XEN_GZ=$xen_dir/$xen_name.gz
XEN_ELF=$xen_dir/$xen_name.elf
XEN_BOOT_NAME=$xen_name.gz
DOM0_VERSION=$version
DOM0_KERNEL=$xen_dir/vmlinuz-$version
DOM0_MARKER=$xen_dir/dom0-marker.cpio.gz
XEN_IMAGE=$xen_dir/disk-xen.img
KEXEC_TOOLS_INITRAMFS=$xen_dir/kexec-tools-xen.cpio
XEN_ROOT_UUID=$xen_root_uuid
XEN_ROOT_LABEL=$xen_root_label
XEN_ARGS=$xen_args
DOM0_ARGS=$dom0_args
LINUX_ARGS=$linux_args
EOF
    mv "$xen_dir/xen-fixtures.env.tmp" "$xen_dir/xen-fixtures.env"
}

build_packages
build_marker
build_disk
build_kexec_tools_initramfs
write_env
