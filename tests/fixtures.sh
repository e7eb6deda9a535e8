#!/bin/bash
# Builds the fixtures the QEMU tier (tests/e2e.rs) and tests/demo.sh boot:
#   kernel/             a Debian cloud kernel package, extracted, with modules.dep
#   kernel-version      its version string (e.g. 6.1.0-56-cloud-amd64)
#   marker-new.cpio.gz  tiny initramfs: prints "KBOOT-MARKER ramdisk=new ..." and powers off
#   marker-old.cpio.gz  the same with ramdisk=old
#   disk-onefs.img      GPT, one ext4 root with /boot holding two kernels
#   disk-split.img      GPT, ext4 /boot partition + ext4 root partition
#   disk-elf.img        GPT, one ext4 root whose /boot holds the kernel as an ELF
#                       vmlinux-V.gz (the bzImage's LZ4 payload, unpacked) + ramdisk
#   gen_init_cpio       the kernel's usr/gen_init_cpio.c, compiled
#   fixtures.env        KEY=value lines: paths, UUIDs, PARTUUIDs, labels
#
# Usage: bash tests/fixtures.sh CACHE_DIR
#
# Everything is made with the real tools (apt-get, dpkg-deb, depmod, cpio, sfdisk,
# mke2fs -d) without mounting anything or using loop devices, so it runs unprivileged
# except for the package download. Each step is skipped when its outputs exist and its
# stamp matches this script's hash, so a warm run takes well under a second; the
# downloaded kernel is kept across edits of this script.
set -euo pipefail

cache_dir=${1:?usage: fixtures.sh CACHE_DIR}
mkdir -p "$cache_dir"
cache_dir=$(cd "$cache_dir" && pwd)
script_hash=$(sha256sum "${BASH_SOURCE[0]}" | cut -c1-16)

# Test processes and demo.sh may start this at the same time: one builder at a time.
exec 9>"$cache_dir/.lock"
flock 9

# Versions that sort the wrong way as plain strings: `sort -V` must prefer the real
# (newer) kernel over this one although "6.1.0-9" > "6.1.0-56" byte by byte.
old_version=6.1.0-9-cloud-amd64

# Fixed identifiers, so kernel command lines in tests are stable across rebuilds.
onefs_disk_uuid=4b424f4f-0000-4000-8000-000000000001
onefs_root_partuuid=4b424f4f-0001-4000-8000-000000000001
onefs_root_uuid=4b424f4f-0002-4000-8000-000000000001
onefs_root_label=kroot
configs_disk_uuid=4b424f4f-0000-4000-8000-000000000004
configs_root_partuuid=4b424f4f-0001-4000-8000-000000000004
configs_root_uuid=4b424f4f-0002-4000-8000-000000000004
configs_root_label=kconf
elf_disk_uuid=4b424f4f-0000-4000-8000-000000000006
elf_root_partuuid=4b424f4f-0001-4000-8000-000000000006
elf_root_uuid=4b424f4f-0002-4000-8000-000000000006
elf_root_label=kelf
split_disk_uuid=4b424f4f-0000-4000-8000-000000000002
split_boot_partuuid=4b424f4f-0001-4000-8000-000000000002
split_root_partuuid=4b424f4f-0001-4000-8000-000000000003
split_boot_uuid=4b424f4f-0002-4000-8000-000000000002
split_root_uuid=4b424f4f-0002-4000-8000-000000000003
split_boot_label=kboot
split_root_label=sysroot
linux_fs_type=0FC63DAF-8483-4772-8E79-3D69D8477DE4

# Image geometry. Partitions are 1 MiB aligned; the last MiB stays free for the
# backup GPT.
image_size_mib=96
sector_bytes=512
mib_sectors=2048

log() { echo "fixtures: $*" >&2; }

# A step is fresh when its stamp holds this script's hash.
stamp_fresh() { [[ -f "$cache_dir/.stamp-$1" && $(<"$cache_dir/.stamp-$1") == "$script_hash" ]]; }
stamp_write() { echo "$script_hash" >"$cache_dir/.stamp-$1"; }

# The versioned package the metapackage points at, e.g. linux-image-6.1.0-56-cloud-amd64.
cloud_kernel_package() {
    apt-cache depends linux-image-cloud-amd64 2>/dev/null |
        sed -n 's/^ *Depends: \(linux-image-.*-cloud-amd64\)$/\1/p' | head -n1
}

build_kernel() {
    if [[ -f "$cache_dir/kernel-version" ]]; then
        local version
        version=$(<"$cache_dir/kernel-version")
        if [[ -f "$cache_dir/kernel/boot/vmlinuz-$version" &&
            -f "$cache_dir/kernel/lib/modules/$version/modules.dep" ]]; then
            return
        fi
    fi
    local package
    package=$(cloud_kernel_package)
    if [[ -z "$package" ]]; then
        # A fresh machine has no package lists yet.
        log "apt-cache knows no linux-image-cloud-amd64: running apt-get update"
        apt-get update -q >&2
        package=$(cloud_kernel_package)
    fi
    if [[ -z "$package" ]]; then
        log "apt-cache still knows no linux-image-cloud-amd64"
        exit 1
    fi
    local version=${package#linux-image-}
    log "downloading $package"
    mkdir -p "$cache_dir/deb"
    rm -f "$cache_dir/deb/${package}_"*.deb
    (cd "$cache_dir/deb" && apt-get download -q "$package")
    rm -rf "$cache_dir/kernel"
    dpkg-deb -x "$cache_dir/deb/${package}_"*.deb "$cache_dir/kernel"
    depmod -b "$cache_dir/kernel" "$version"
    echo "$version" >"$cache_dir/kernel-version"
}

# $1 = name printed in the marker line, $2 = output path.
build_marker() {
    local name=$1 out=$2 tree
    tree=$(mktemp -d "$cache_dir/marker-$name.XXXXXX")
    mkdir -p "$tree/bin" "$tree/proc" "$tree/dev"
    cp /bin/busybox "$tree/bin/busybox"
    # Writes to /dev/console explicitly: the kernel gives init a console only when
    # /dev/console exists, and devtmpfs makes sure it does.
    cat >"$tree/init" <<EOF
#!/bin/busybox sh
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t devtmpfs devtmpfs /dev 2>/dev/null
# Only emergencies on the console from here (panics still show): a late kernel line
# (the TSC calibration at ~2 s) would otherwise land inside the marker line.
echo 1 >/proc/sys/kernel/printk
echo "KBOOT-MARKER ramdisk=$name kernel=\$(/bin/busybox uname -r) cmdline=\$(/bin/busybox cat /proc/cmdline)" >/dev/console
/bin/busybox poweroff -f
EOF
    chmod 755 "$tree/init"
    (cd "$tree" && find . -mindepth 1 | LC_ALL=C sort |
        cpio --quiet -o -H newc -R 0:0 --reproducible) | gzip -9n >"$out.tmp"
    mv "$out.tmp" "$out"
    rm -rf "$tree"
}

build_markers() {
    if stamp_fresh markers && [[ -f "$cache_dir/marker-new.cpio.gz" &&
        -f "$cache_dir/marker-old.cpio.gz" ]]; then
        return
    fi
    log "building marker ramdisks"
    build_marker new "$cache_dir/marker-new.cpio.gz"
    build_marker old "$cache_dir/marker-old.cpio.gz"
    stamp_write markers
}

# Fills $1 with the kernels and ramdisks a /boot holds.
fill_boot_dir() {
    local dir=$1 version
    version=$(<"$cache_dir/kernel-version")
    mkdir -p "$dir"
    cp "$cache_dir/kernel/boot/vmlinuz-$version" "$dir/vmlinuz-$version"
    cp "$cache_dir/kernel/boot/vmlinuz-$version" "$dir/vmlinuz-$old_version"
    cp "$cache_dir/marker-new.cpio.gz" "$dir/initrd.img-$version"
    cp "$cache_dir/marker-old.cpio.gz" "$dir/initrd.img-$old_version"
    cp "$cache_dir/kernel/boot/config-$version" "$dir/config-$version"
    head -c 1048576 "$cache_dir/kernel/boot/vmlinuz-$version" >"$dir/truncated-vmlinuz"
}

# Fills $1 with a small root filesystem; $2 = hostname.
fill_root_dir() {
    local dir=$1 hostname=$2
    mkdir -p "$dir/boot" "$dir/etc" "$dir/sbin" "$dir/dev" "$dir/proc" "$dir/sys"
    echo "$hostname" >"$dir/etc/hostname"
    printf 'PRETTY_NAME="kboot test root"\nID=kboot-fixture\n' >"$dir/etc/os-release"
}

# $1 = image, $2 = start (MiB), $3 = size (MiB), $4 = fs UUID, $5 = label, $6 = tree.
write_ext4() {
    local image=$1 start_mib=$2 size_mib=$3 uuid=$4 label=$5 tree=$6
    find "$tree" -exec touch -h -d @1700000000 {} +
    # nodiscard: mke2fs must not punch holes outside its own partition.
    # Fixed times and hash_seed keep rebuilds close to identical (mke2fs -d still copies
    # the source files' ctimes); tests compare against the built copy, never a checksum.
    E2FSPROGS_FAKE_TIME=1700000000 mke2fs -q -F -t ext4 \
        -E "offset=$((start_mib * 1048576)),nodiscard,root_owner=0:0,hash_seed=$uuid" \
        -U "$uuid" -L "$label" -d "$tree" "$image" "$((size_mib * 1024))k"
}

# $1 = image path, stdin = the sfdisk script.
write_gpt() {
    local image=$1
    rm -f "$image"
    truncate -s "${image_size_mib}M" "$image"
    sfdisk --quiet --no-reread --no-tell-kernel "$image" >/dev/null
}

build_disk_onefs() {
    local image=$cache_dir/disk-onefs.img tree
    tree=$(mktemp -d "$cache_dir/onefs.XXXXXX")
    fill_root_dir "$tree" kboot-onefs
    fill_boot_dir "$tree/boot"
    local part_mib=$((image_size_mib - 2))
    write_gpt "$image.tmp" <<EOF
label: gpt
label-id: $onefs_disk_uuid
unit: sectors
first-lba: $mib_sectors

start=$mib_sectors, size=$((part_mib * mib_sectors)), type=$linux_fs_type, uuid=$onefs_root_partuuid, name=rootpart
EOF
    write_ext4 "$image.tmp" 1 "$part_mib" "$onefs_root_uuid" "$onefs_root_label" "$tree"
    mv "$image.tmp" "$image"
    rm -rf "$tree"
}

build_disk_split() {
    local image=$cache_dir/disk-split.img boot_tree root_tree
    boot_tree=$(mktemp -d "$cache_dir/split-boot.XXXXXX")
    root_tree=$(mktemp -d "$cache_dir/split-root.XXXXXX")
    fill_boot_dir "$boot_tree"
    fill_root_dir "$root_tree" kboot-split
    local boot_mib=47 root_mib=$((image_size_mib - 2 - 47))
    write_gpt "$image.tmp" <<EOF
label: gpt
label-id: $split_disk_uuid
unit: sectors
first-lba: $mib_sectors

start=$mib_sectors, size=$((boot_mib * mib_sectors)), type=$linux_fs_type, uuid=$split_boot_partuuid, name=kbootpart
start=$(((1 + boot_mib) * mib_sectors)), size=$((root_mib * mib_sectors)), type=$linux_fs_type, uuid=$split_root_partuuid, name=rootpart
EOF
    write_ext4 "$image.tmp" 1 "$boot_mib" "$split_boot_uuid" "$split_boot_label" "$boot_tree"
    write_ext4 "$image.tmp" $((1 + boot_mib)) "$root_mib" "$split_root_uuid" \
        "$split_root_label" "$root_tree"
    mv "$image.tmp" "$image"
    rm -rf "$boot_tree" "$root_tree"
}

# Fills $1 (a root tree) with boot configs next to the scanned kernels: BLS entries
# for both kernels and one whose kernel is missing, and a Debian-style grub.cfg with
# a submenu.
fill_configs() {
    local dir=$1 version
    version=$(<"$cache_dir/kernel-version")
    mkdir -p "$dir/boot/loader/entries" "$dir/boot/grub"
    cat >"$dir/boot/loader/entries/kboot-$version.conf" <<EOF
title   BLS new
version $version
linux   /boot/vmlinuz-$version
initrd  /boot/initrd.img-$version
options root=LABEL=$configs_root_label kblsopt=new
EOF
    cat >"$dir/boot/loader/entries/kboot-$old_version.conf" <<EOF
title   BLS old
version $old_version
linux   /boot/vmlinuz-$old_version
initrd  /boot/initrd.img-$old_version
options root=LABEL=$configs_root_label kblsopt=old
EOF
    cat >"$dir/boot/loader/entries/kboot-0.1-missing.conf" <<EOF
title   BLS missing
version 0.1-missing
linux   /boot/vmlinuz-0.1-missing
initrd  /boot/initrd.img-$version
options root=LABEL=$configs_root_label
EOF
    cat >"$dir/boot/grub/grub.cfg" <<EOF
set default="0"
set timeout=5
function load_video {
  insmod all_video
}
menuentry 'grub top' --class debian \$menuentry_id_option 'gnulinux-simple' {
	load_video
	insmod ext2
	search --no-floppy --fs-uuid --set=root $configs_root_uuid
	linux	/boot/vmlinuz-$version root=LABEL=$configs_root_label kgrubopt=top
	initrd	/boot/initrd.img-$version
}
submenu 'Advanced options' \$menuentry_id_option 'gnulinux-advanced' {
	menuentry 'grub sub old' \$menuentry_id_option 'gnulinux-old' {
		linux	/boot/vmlinuz-$old_version root=LABEL=$configs_root_label kgrubopt=sub
		initrd	/boot/initrd.img-$old_version
	}
}
EOF
}

build_disk_configs() {
    local image=$cache_dir/disk-configs.img tree
    tree=$(mktemp -d "$cache_dir/configs.XXXXXX")
    fill_root_dir "$tree" kboot-configs
    fill_boot_dir "$tree/boot"
    fill_configs "$tree"
    local part_mib=$((image_size_mib - 2))
    write_gpt "$image.tmp" <<EOF
label: gpt
label-id: $configs_disk_uuid
unit: sectors
first-lba: $mib_sectors

start=$mib_sectors, size=$((part_mib * mib_sectors)), type=$linux_fs_type, uuid=$configs_root_partuuid, name=rootpart
EOF
    write_ext4 "$image.tmp" 1 "$part_mib" "$configs_root_uuid" "$configs_root_label" "$tree"
    mv "$image.tmp" "$image"
    rm -rf "$tree"
}

# Writes the vmlinux inside a bzImage ($1) to $2: the payload at (setup_sects + 1) *
# 512 + payload_offset, payload_length bytes, LZ4 legacy frames for Debian's kernel,
# as scripts/extract-vmlinux finds it. lz4 exits 1 on the 4-byte decompressed size
# kbuild appends after the frames (extract-vmlinux ignores it too): the ELF magic of
# the output is the check.
extract_vmlinux() {
    local bzimage=$1 out=$2 setup_sects payload_offset payload_length
    setup_sects=$(od -An -tu1 -j $((0x1f1)) -N1 "$bzimage")
    payload_offset=$(od -An -tu4 -j $((0x248)) -N4 "$bzimage")
    payload_length=$(od -An -tu4 -j $((0x24c)) -N4 "$bzimage")
    dd if="$bzimage" iflag=skip_bytes,count_bytes bs=1M status=none \
        skip=$(((setup_sects + 1) * 512 + payload_offset)) count=$((payload_length)) \
        of="$out.lz4"
    lz4 -dc "$out.lz4" >"$out" 2>/dev/null || true
    rm -f "$out.lz4"
    if [[ $(head -c 4 "$out" | od -An -tx1 | tr -d ' ') != 7f454c46 ]]; then
        log "could not extract an ELF vmlinux from $bzimage"
        exit 1
    fi
}

build_disk_elf() {
    local image=$cache_dir/disk-elf.img tree version
    version=$(<"$cache_dir/kernel-version")
    tree=$(mktemp -d "$cache_dir/elf.XXXXXX")
    fill_root_dir "$tree" kboot-elf
    extract_vmlinux "$cache_dir/kernel/boot/vmlinuz-$version" "$tree/vmlinux"
    gzip -n -1 <"$tree/vmlinux" >"$tree/boot/vmlinux-$version.gz"
    # "A kernel for another architecture": the vmlinux's first 4 KiB with e_machine
    # set to 183 (EM_AARCH64).
    head -c 4096 "$tree/vmlinux" >"$tree/boot/vmlinux-arm64"
    printf '\xb7\x00' | dd of="$tree/boot/vmlinux-arm64" bs=1 seek=18 conv=notrunc status=none
    rm "$tree/vmlinux"
    cp "$cache_dir/marker-new.cpio.gz" "$tree/boot/initrd.img-$version"
    local part_mib=$((image_size_mib - 2))
    write_gpt "$image.tmp" <<EOF
label: gpt
label-id: $elf_disk_uuid
unit: sectors
first-lba: $mib_sectors

start=$mib_sectors, size=$((part_mib * mib_sectors)), type=$linux_fs_type, uuid=$elf_root_partuuid, name=rootpart
EOF
    write_ext4 "$image.tmp" 1 "$part_mib" "$elf_root_uuid" "$elf_root_label" "$tree"
    mv "$image.tmp" "$image"
    rm -rf "$tree"
}

build_disks() {
    if stamp_fresh disks && [[ -f "$cache_dir/disk-onefs.img" &&
        -f "$cache_dir/disk-split.img" && -f "$cache_dir/disk-configs.img" &&
        -f "$cache_dir/disk-elf.img" ]]; then
        return
    fi
    log "building disk images"
    build_disk_onefs
    build_disk_split
    build_disk_configs
    build_disk_elf
    # The images are the pristine copies tests compare against: keep them read-only.
    chmod a-w "$cache_dir/disk-onefs.img" "$cache_dir/disk-split.img" \
        "$cache_dir/disk-configs.img" "$cache_dir/disk-elf.img"
    stamp_write disks
}

build_gen_init_cpio() {
    if stamp_fresh gen_init_cpio && [[ -x "$cache_dir/gen_init_cpio" ]]; then
        return
    fi
    local source=/usr/src/linux-source-6.1.tar.xz build
    if [[ ! -f "$source" ]]; then
        log "$source is missing (apt-get install linux-source-6.1)"
        exit 1
    fi
    log "building gen_init_cpio from $source"
    build=$(mktemp -d "$cache_dir/gen_init_cpio.XXXXXX")
    tar -xJf "$source" -C "$build" --strip-components=2 linux-source-6.1/usr/gen_init_cpio.c
    cc -O2 -o "$build/gen_init_cpio" "$build/gen_init_cpio.c"
    mv "$build/gen_init_cpio" "$cache_dir/gen_init_cpio"
    rm -rf "$build"
    stamp_write gen_init_cpio
}

write_env() {
    local version
    version=$(<"$cache_dir/kernel-version")
    cat >"$cache_dir/fixtures.env.tmp" <<EOF
CACHE_DIR=$cache_dir
KERNEL_VERSION=$version
OLD_KERNEL_VERSION=$old_version
KERNEL_IMAGE=$cache_dir/kernel/boot/vmlinuz-$version
MODULES_DIR=$cache_dir/kernel/lib/modules/$version
MARKER_NEW=$cache_dir/marker-new.cpio.gz
MARKER_OLD=$cache_dir/marker-old.cpio.gz
GEN_INIT_CPIO=$cache_dir/gen_init_cpio
ONEFS_IMAGE=$cache_dir/disk-onefs.img
CONFIGS_IMAGE=$cache_dir/disk-configs.img
CONFIGS_ROOT_UUID=$configs_root_uuid
CONFIGS_ROOT_LABEL=$configs_root_label
ONEFS_DISK_UUID=$onefs_disk_uuid
ONEFS_ROOT_PARTUUID=$onefs_root_partuuid
ONEFS_ROOT_PARTLABEL=rootpart
ONEFS_ROOT_UUID=$onefs_root_uuid
ONEFS_ROOT_LABEL=$onefs_root_label
SPLIT_IMAGE=$cache_dir/disk-split.img
ELF_IMAGE=$cache_dir/disk-elf.img
ELF_ROOT_UUID=$elf_root_uuid
SPLIT_DISK_UUID=$split_disk_uuid
SPLIT_BOOT_PARTUUID=$split_boot_partuuid
SPLIT_BOOT_PARTLABEL=kbootpart
SPLIT_BOOT_UUID=$split_boot_uuid
SPLIT_BOOT_LABEL=$split_boot_label
SPLIT_ROOT_PARTUUID=$split_root_partuuid
SPLIT_ROOT_PARTLABEL=rootpart
SPLIT_ROOT_UUID=$split_root_uuid
SPLIT_ROOT_LABEL=$split_root_label
EOF
    mv "$cache_dir/fixtures.env.tmp" "$cache_dir/fixtures.env"
}

build_kernel
build_markers
build_disks
build_gen_init_cpio
write_env
