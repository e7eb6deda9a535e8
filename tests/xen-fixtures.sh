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
#   dom0-xl.cpio.gz            dom0 ramdisk for the guest test (tests/e2e_xen_guest.rs):
#                              busybox, Debian's Xen tools (xen-utils-4.17 and the
#                              libraries ldd names), the dom0 kernel's Xen and virtio
#                              modules, an xl configuration of a PVH domU "kboot-guest"
#                              and an /init that starts xenstored, xen-init-dom0,
#                              xenconsoled, the soft-reset companion when /bin/kboot has
#                              it, `xl create`s the domU and copies its console log and
#                              xl's log to dom0's console, prefixed. The kboot kernel
#                              (/kboot/vmlinux), /bin/kboot and the guest disk
#                              (/guest/disk.img, attached read-only to /dev/loop0) come
#                              from the test, as a second cpio appended to this one
#   guest-marker.cpio.gz       the domU's marker ramdisk (for the cloud kernel): prints
#                                KBOOT-XEN-GUEST-MARKER hypervisor=<type>
#                                guest_type=<type> acpi=<yes|no> paravirt=<name>
#                                kernel=<uname -r> cmdline=<...>
#   disk-guest.img             the domU's disk: GPT, one ext4 with the cloud kernel as
#                              /boot/vmlinuz-V and the guest marker as /boot/initrd.img-V
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
# The domU's disk and name (tests/e2e_xen_guest.rs).
guest_disk_uuid=4b424f4f-0000-4000-8000-000000000008
guest_root_partuuid=4b424f4f-0001-4000-8000-000000000008
guest_root_uuid=4b424f4f-0002-4000-8000-000000000008
guest_root_label=kguest
guest_image_size_mib=32
guest_name=kboot-guest
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
    write_gpt_ext4_image "$image" "$image_size_mib" "$xen_disk_uuid" "$xen_root_partuuid" \
        "$xen_root_uuid" "$xen_root_label" "$tree"
    rm -rf "$tree"
    stamp_write disk
}

# $1 = image, $2 = size in MiB, $3 = disk GUID, $4 = partition GUID, $5 = filesystem
# UUID, $6 = label, $7 = tree: a GPT disk with one ext4 partition (1 MiB to 1 MiB
# before the end) holding the tree with fixed timestamps, left read-only (the pristine
# copy tests compare against).
write_gpt_ext4_image() {
    local image=$1 size_mib=$2 disk_uuid=$3 part_uuid=$4 fs_uuid=$5 label=$6 tree=$7
    local part_mib=$((size_mib - 2))
    find "$tree" -exec touch -h -d @1700000000 {} +
    rm -f "$image" "$image.tmp"
    truncate -s "${size_mib}M" "$image.tmp"
    sfdisk --quiet --no-reread --no-tell-kernel "$image.tmp" >/dev/null <<EOF
label: gpt
label-id: $disk_uuid
unit: sectors
first-lba: $mib_sectors

start=$mib_sectors, size=$((part_mib * mib_sectors)), type=$linux_fs_type, uuid=$part_uuid, name=rootpart
EOF
    E2FSPROGS_FAKE_TIME=1700000000 mke2fs -q -F -t ext4 \
        -E "offset=1048576,nodiscard,root_owner=0:0,hash_seed=$fs_uuid" \
        -U "$fs_uuid" -L "$label" -d "$tree" "$image.tmp" "$((part_mib * 1024))k"
    chmod a-w "$image.tmp"
    mv "$image.tmp" "$image"
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

# The domU's marker ramdisk, for the cloud kernel kboot boots inside the guest. Like
# the dom0 marker, plus acpi=yes when the kernel found ACPI tables (a PVH entry with
# the start info's rsdp_paddr; the 64-bit entry in a Xen guest finds none).
build_guest_marker() {
    local out=$xen_dir/guest-marker.cpio.gz tree
    if stamp_fresh guest-marker && [[ -f "$out" ]]; then
        return
    fi
    log "building the domU marker ramdisk"
    tree=$(mktemp -d "$xen_dir/guest-marker.XXXXXX")
    mkdir -p "$tree/bin" "$tree/proc" "$tree/dev" "$tree/sys"
    cp /bin/busybox "$tree/bin/busybox"
    cat >"$tree/init" <<'EOF'
#!/bin/busybox sh
bb=/bin/busybox
$bb mount -t proc proc /proc
$bb mount -t sysfs sysfs /sys
$bb mount -t devtmpfs devtmpfs /dev 2>/dev/null
# Only emergencies on the console from here, so no kernel line lands inside the marker.
echo 1 >/proc/sys/kernel/printk
read_word() { if [ -r "$1" ]; then $bb tr -s ' \n' '__' <"$1" | $bb sed 's/_$//'; else echo none; fi; }
acpi=no
[ -d /sys/firmware/acpi/tables ] && acpi=yes
paravirt=$($bb dmesg | $bb sed -n 's/.*Booting .*kernel on //p' | $bb head -n1 | $bb tr ' ' '_')
# busybox=ok: the ramdisk's busybox still has the digest it was built with, so the
# ramdisk kboot placed arrived whole in this kernel's memory. It stays "bad" when
# sha256sum cannot run.
busybox=bad
[ "$($bb sha256sum /bin/busybox)" = "$($bb cat /busybox.sha256)" ] && busybox=ok
echo "KBOOT-XEN-GUEST-MARKER hypervisor=$(read_word /sys/hypervisor/type) guest_type=$(read_word /sys/hypervisor/guest_type) acpi=$acpi paravirt=${paravirt:-none} busybox=$busybox kernel=$($bb uname -r) cmdline=$($bb cat /proc/cmdline)" >/dev/console
$bb poweroff -f
EOF
    chmod 755 "$tree/init"
    (cd "$tree/bin" && sha256sum busybox | sed 's#  busybox$#  /bin/busybox#') >"$tree/busybox.sha256"
    (cd "$tree" && find . -mindepth 1 | LC_ALL=C sort |
        cpio --quiet -o -H newc -R 0:0 --reproducible) | gzip -9n >"$out.tmp"
    mv "$out.tmp" "$out"
    rm -rf "$tree"
    stamp_write guest-marker
}

# The domU's disk: the cloud kernel and the guest marker as a Debian system names
# them in /boot, found by kboot's scan (no config file).
build_guest_disk() {
    local image=$xen_dir/disk-guest.img tree
    if stamp_fresh guest-disk && [[ -f "$image" ]]; then
        return
    fi
    log "building the domU disk image"
    tree=$(mktemp -d "$xen_dir/guest-disk.XXXXXX")
    mkdir -p "$tree/boot" "$tree/etc"
    echo kboot-guest >"$tree/etc/hostname"
    printf 'PRETTY_NAME="kboot Xen guest root"\nID=kboot-fixture\n' >"$tree/etc/os-release"
    cp "$cache_dir/kernel/boot/vmlinuz-$cloud_version" "$tree/boot/vmlinuz-$cloud_version"
    cp "$xen_dir/guest-marker.cpio.gz" "$tree/boot/initrd.img-$cloud_version"
    write_gpt_ext4_image "$image" "$guest_image_size_mib" "$guest_disk_uuid" \
        "$guest_root_partuuid" "$guest_root_uuid" "$guest_root_label" "$tree"
    rm -rf "$tree"
    stamp_write guest-disk
}

# Debian's Xen tools as the reference measured them working in a PVH dom0 (xl,
# xenstored, xenconsoled, xen-init-dom0 and their libraries).
xen_tools_packages=(xen-utils-4.17 xen-utils-common xenstore-utils libxenmisc4.17
    libxenstore4 libxencall1 libxenevtchn1 libxenforeignmemory1 libxengnttab1
    libxentoollog1 libxenhypfs1 libxendevicemodel1 libxentoolcore1 libyajl2)
# What dom0 loads, in this order after their dependencies: the Xen device drivers xl
# and the daemons open, the block backend, and the loop device the guest disk is
# attached to. (Not a QEMU virtio disk: under this Xen, the IOMMU setup of every PCI
# device fails for the PVH dom0, "setup 0000:00:03.0 for d0 failed (-12)", and
# insmod virtio_pci never returns.)
dom0_modules=(xen-evtchn xen-gntdev xen-gntalloc xen-privcmd xenfs xen-blkback loop)

# $1 = module tree (lib/modules/V), $2 = module name: the module's path under the tree
# after the paths of its dependencies (modinfo's depends), each once.
module_load_order() {
    local modules=$1 name=$2 file dependency
    file=$(find "$modules/kernel" -name "$name.ko" -o -name "${name//_/-}.ko" | head -n1)
    if [[ -z "$file" ]]; then
        log "module $name not found in $modules"
        exit 1
    fi
    for dependency in $(modinfo -F depends "$file" | tr ',' ' '); do
        module_load_order "$modules" "$dependency"
    done
    echo "${file#"$modules"/}"
}

# dom0's /init for the guest test. Lines it prints itself start with "DOM0-XL[T]: ",
# the domU's console log "DOMU[T]: ", xl's log "XL[T]: ", the companion's
# "COMPANION[T]: " (T = dom0's uptime in seconds).
write_dom0_xl_init() {
    cat >"$1" <<'EOF'
#!/bin/busybox sh
export PATH=/bin:/usr/bin:/usr/sbin:/usr/lib/xen-4.17/bin
bb=/bin/busybox
$bb mount -t proc proc /proc
$bb mount -t sysfs sysfs /sys
$bb mount -t devtmpfs devtmpfs /dev
# xenconsoled gives each domain's console a pty, and libxl waits for its name.
$bb mkdir -p /dev/pts
$bb mount -t devpts devpts /dev/pts
$bb --install -s /bin
exec </dev/console >/dev/console 2>&1
# Errors and worse only, so dom0's kernel lines rarely land inside a copied line.
echo 4 >/proc/sys/kernel/printk
# Every line this /init prints is SOURCE[SECONDS]: TEXT, SECONDS = dom0's uptime when
# the line was copied (the test's stage times; Xen's serial port delivers in bursts).
say() { read -r up rest </proc/uptime; echo "DOM0-XL[$up]: $*"; }
prefix() {
    while IFS= read -r line; do read -r up rest </proc/uptime; echo "$1[$up]: $line"; done
}
stop() { say "FAILED: $*"; while :; do sleep 3600; done; }
say "/init started"
while read -r module; do
    say "insmod $module"
    insmod "/lib/modules/$module" || stop "insmod $module"
done </lib/modules/load-order
say "modules loaded"
# The guest disk (the test's cpio puts it at /guest/disk.img), read-only.
losetup -r /dev/loop0 /guest/disk.img || stop "losetup /guest/disk.img"
mount -t xenfs xenfs /proc/xen || stop "mount xenfs"
mkdir -p /var/lib/xen /var/run/xen /var/log/xen/console /var/lib/xenstored \
    /var/run/xenstored /var/lock /tmp
xenstored --no-fork --pid-file=/var/run/xenstored.pid 2>&1 | prefix xenstored &
# -s: through xenstored's socket only; the fallback (the xenbus device) would wait
# for a xenstored that did not start.
tries=0
until xenstore-exists -s / 2>/dev/null; do
    tries=$((tries + 1))
    [ $tries -le 60 ] || stop "xenstored does not answer"
    sleep 1
done
say "xenstored answers"
xen-init-dom0 || stop "xen-init-dom0"
xenconsoled --pid-file=/var/run/xenconsoled.pid --log=guest \
    --log-dir=/var/log/xen/console || stop "xenconsoled"
say "dom0 up: xenstored, xen-init-dom0, xenconsoled"
tail -n +1 -F /var/log/xen/console/guest-kboot-guest.log 2>/dev/null | prefix DOMU &
tail -n +1 -F /var/log/xen/xl-kboot-guest.log 2>/dev/null | prefix XL &
# xl sometimes segfaults under this nesting (QEMU TCG, Xen, PVH dom0): only a
# successful `xl list` of the domain counts, and one failed create is retried.
created=no
for attempt in 1 2; do
    xl create /etc/xen/kboot-guest.cfg
    status=$?
    for check in 1 2 3; do
        if xl list kboot-guest >/dev/null 2>&1; then created=yes; break; fi
        sleep 2
    done
    if [ $created = yes ]; then
        say "xl create succeeded (attempt $attempt, exit $status)"
        break
    fi
    say "xl create failed (attempt $attempt, exit $status)"
    xl destroy kboot-guest >/dev/null 2>&1
done
[ $created = yes ] || stop "xl create"
# The companion that soft-resets the domain when its kernel kexecs (stock xl 4.17
# cannot for a PVH guest; the domain is created with on_soft_reset="preserve").
if /bin/kboot xen-soft-reset --help >/dev/null 2>&1; then
    /bin/kboot xen-soft-reset kboot-guest 2>&1 | prefix COMPANION &
    say "soft-reset companion started: kboot xen-soft-reset kboot-guest"
else
    say "no soft-reset companion: /bin/kboot has no xen-soft-reset"
fi
# The domains' states as xl lists them, when they change, until none but dom0 is
# left (by any name). A failed xl list (xl sometimes crashes under this nesting) is
# no news.
last=
while :; do
    if listing=$(xl list 2>/dev/null); then
        # "NAME id ID STATE" of every domain after dom0 (in the shell: busybox's awk
        # once failed here, "Math support is not compiled in", and read as "gone").
        state=$(echo "$listing" | sed -n '3,$p' | while read -r name id _ _ flags _; do
            printf '%s%s id %s %s' "$sep" "$name" "$id" "$flags"
            sep="; "
        done)
        [ -n "$state" ] || state=gone
        if [ "$state" != "$last" ]; then
            say "domains: $state"
            last=$state
            # The test compares this with the pristine image's (a listing without the
            # domain has been seen while it lived: only a digest is news).
            if [ "$state" = gone ]; then
                digest=$(sha256sum </guest/disk.img | cut -d' ' -f1)
                [ -n "$digest" ] && say "guest disk sha256 $digest"
            fi
        fi
        # xl exits once it has preserved the domain for the soft reset: when the next
        # kernel powers off, destroy the domain as on_poweroff="destroy" would.
        case "$state" in *" ---s--"*) xl destroy "${state%% *}" ;; esac
    fi
    sleep 5
done
EOF
    chmod 755 "$1"
}

# The xl configuration of the guest test's domU, and the disk hotplug script it names.
# libxl runs a disk's script with "add"/"remove" and XENBUS_PATH = the backend's
# xenstore directory, and waits for hotplug-status; blkback opens the device once
# physical-device (hex major:minor) is written. xl's own "block" script does the same
# with bash and many more tools.
write_guest_config() {
    local etc=$1
    mkdir -p "$etc/xen/scripts"
    cat >"$etc/xen/kboot-guest.cfg" <<EOF
# A PVH guest whose kernel is the kboot kernel: kboot finds the guest's kernel on the
# guest's disk (xen-blkfront) and kexecs it through its PVH entry; the kexec ends in a
# soft reset (shutdown reason 5), which stock xl 4.17 cannot do for PVH: "preserve"
# leaves the domain to the companion (kboot xen-soft-reset).
name = "$guest_name"
type = "pvh"
kernel = "/kboot/vmlinux"
extra = "console=hvc0 kboot.timeout=0"
memory = 512
vcpus = 1
disk = [ "format=raw, vdev=xvda, access=ro, script=/etc/xen/scripts/kboot-block, target=/dev/loop0" ]
on_poweroff = "destroy"
on_reboot = "destroy"
on_crash = "destroy"
on_soft_reset = "preserve"
EOF
    cat >"$etc/xen/scripts/kboot-block" <<'EOF'
#!/bin/sh
# Disk hotplug for the guest test: hands the device named in params to blkback.
[ "$1" = add ] || exit 0
device=$(xenstore-read "$XENBUS_PATH/params") || exit 1
number=$(stat -L -c '%t:%T' "$device") || exit 1
xenstore-write "$XENBUS_PATH/physical-device" "$number" \
    "$XENBUS_PATH/physical-device-path" "$device" \
    "$XENBUS_PATH/hotplug-status" connected
EOF
    chmod 755 "$etc/xen/scripts/kboot-block"
}

# $1 = tree: dom0's modules from the generic kernel package, with load-order listing
# them (dependencies first) for /init.
copy_dom0_modules() {
    local tree=$1 version package extract name
    version=$(<"$xen_dir/dom0-version")
    package=linux-image-$version
    extract=$(mktemp -d "$xen_dir/modules.XXXXXX")
    dpkg-deb --fsys-tarfile "$xen_dir/deb/${package}_"*.deb |
        tar -x -C "$extract" --wildcards "./lib/modules/$version/kernel/drivers/*"
    local modules=$extract/lib/modules/$version
    mkdir -p "$tree/lib/modules"
    for name in "${dom0_modules[@]}"; do
        module_load_order "$modules" "$name"
    done | awk '!seen[$0]++' >"$tree/lib/modules/load-order"
    while read -r name; do
        mkdir -p "$tree/lib/modules/$(dirname "$name")"
        cp "$modules/$name" "$tree/lib/modules/$name"
    done <"$tree/lib/modules/load-order"
    rm -rf "$extract"
}

build_dom0_xl_ramdisk() {
    local out=$xen_dir/dom0-xl.cpio.gz tree package binary
    if stamp_fresh dom0-xl && [[ -f "$out" ]]; then
        return
    fi
    for package in "${xen_tools_packages[@]}"; do
        download "$package"
    done
    log "building the dom0 ramdisk with the Xen tools"
    tree=$(mktemp -d "$xen_dir/dom0-xl.XXXXXX")
    mkdir -p "$tree/bin" "$tree/proc" "$tree/dev" "$tree/sys" "$tree/kboot"
    cp /bin/busybox "$tree/bin/busybox"
    for package in "${xen_tools_packages[@]}"; do
        dpkg-deb -x "$xen_dir/deb/${package}_"*.deb "$tree"
    done
    rm -rf "$tree/usr/share" "$tree/usr/lib/python3" "$tree/lib/systemd" "$tree/etc/init.d"
    # The C libraries the tools need from the build machine (Debian 12 as well).
    for binary in "$tree"/usr/lib/xen-4.17/bin/{xl,xenstored,xenconsoled,xen-init-dom0,libxl-save-helper} \
        "$tree"/usr/bin/xenstore; do
        LD_LIBRARY_PATH=$tree/usr/lib/x86_64-linux-gnu ldd "$binary" |
            grep -o '/[^ ]*' | grep -v "^$tree" || true
    done | sort -u | while read -r library; do
        mkdir -p "$tree$(dirname "$library")"
        cp -L "$library" "$tree$library"
    done
    # glibc loads libgcc_s when a thread is cancelled (xl does at exit): without it
    # xl aborts, "libgcc_s.so.1 must be installed for pthread_cancel to work".
    cp -L /lib/x86_64-linux-gnu/libgcc_s.so.1 "$tree/lib/x86_64-linux-gnu/"
    copy_dom0_modules "$tree"
    write_guest_config "$tree/etc"
    write_dom0_xl_init "$tree/init"
    (cd "$tree" && find . -mindepth 1 | LC_ALL=C sort |
        cpio --quiet -o -H newc -R 0:0 --reproducible) | gzip -6n >"$out.tmp"
    mv "$out.tmp" "$out"
    rm -rf "$tree"
    stamp_write dom0-xl
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
DOM0_XL_INITRAMFS=$xen_dir/dom0-xl.cpio.gz
GUEST_IMAGE=$xen_dir/disk-guest.img
GUEST_ROOT_UUID=$guest_root_uuid
GUEST_NAME=$guest_name
GUEST_KERNEL_VERSION=$cloud_version
EOF
    mv "$xen_dir/xen-fixtures.env.tmp" "$xen_dir/xen-fixtures.env"
}

build_packages
build_marker
build_disk
build_kexec_tools_initramfs
build_guest_marker
build_guest_disk
build_dom0_xl_ramdisk
write_env
