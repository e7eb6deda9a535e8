#!/bin/bash
# Builds md RAID and LVM disk images with the real mdadm and lvm2, for the storage
# scenarios of the QEMU tier (tests/e2e_storage.rs) and for the md/LVM parsers' tests.
#
# The host kernel may have neither md nor device-mapper, so the tools run inside a
# helper VM: the Debian cloud kernel from the cache (tests/fixtures.sh), under QEMU
# with TCG, with a "tools" initramfs holding busybox, mdadm, lvm, dmsetup (with their
# shared libraries), an lvm.conf for a VM without udev, and the md/dm modules. Each
# image set has a recipe (a busybox sh script) that runs in that VM on fresh sparse
# disk images (partitioned on the host with sfdisk) plus a read-only disk holding the
# ext4 root filesystem (made on the host with mke2fs -d: the same tree as
# disk-onefs's root), which the recipe dd's onto the array or LV.
#
# Usage: bash tests/vm-fixtures.sh CACHE_DIR
#
# Writes, under CACHE_DIR:
#   vm/tools.cpio.gz       the helper VM's initramfs
#   vm/SET/diskN.img       the images of each set (read-only pristine copies)
#   vm/SET/build.log       the helper VM's console: every command, mdadm --examine and
#                          --detail, pvs/vgs/lvs as JSON, the VG metadata text, dmsetup
#                          tables, /proc/mdstat
#   vm/SET/verify.log      a second boot on copies of the disks: mdadm --assemble --scan
#                          --readonly and read-only LV activation from the on-disk
#                          metadata alone, as a boot would; the copies must come out
#                          unchanged (cmp) and the root filesystem must be found by UUID
#   vm/SET/recipe.sh, verify.sh   the scripts those two boots ran
#   vm/SET/set.env         what the VM recorded (UUIDs, offsets, events)
#   vm-fixtures.env        fixtures.env's keys plus every set.env, KEY=value
# Sets: r1lvm, r1090, r5, stale, r0part, dirty (see the recipe_* functions; dirty's
# disk holds an ext4 journal that must be replayed, its check.log the evidence).
#
# A set is rebuilt only when its recipe (the text of the functions that make it), the
# tools initramfs or tests/fixtures.sh changed; a warm run takes well under a second.
set -euo pipefail

cache_dir=${1:?usage: vm-fixtures.sh CACHE_DIR}
tests_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
mkdir -p "$cache_dir"
cache_dir=$(cd "$cache_dir" && pwd)
vm_dir=$cache_dir/vm

# The kernel, its modules and the marker ramdisks.
bash "$tests_dir/fixtures.sh" "$cache_dir"

# Test processes may start this at the same time: one builder at a time. (A lock of
# its own: fixtures.sh above takes and releases the cache's main lock.)
exec 8>"$cache_dir/.lock-vm"
flock 8

kernel_version=$(<"$cache_dir/kernel-version")
old_version=6.1.0-9-cloud-amd64
modules_dir=$cache_dir/kernel/lib/modules/$kernel_version

image_size_mib=96
root_fs_mib=48
mib_sectors=2048
linux_raid_type=A19D880F-05FC-4D3B-A006-743F0F84911E
# The recipes create arrays with --homehost=kbootvm: stored names read "kbootvm:NAME".
# Hang guard for one helper VM (a TCG run takes 15-40 s).
vm_timeout_seconds=300

log() { echo "vm-fixtures: $*" >&2; }

# Modules the helper VM loads, by module name; dependencies come from modules.dep.
vm_modules=(virtio_pci virtio_blk md_mod linear raid0 raid1 raid10 raid456 dm_mod
    dm_thin_pool)

# Prints the modules.dep paths of $@ and their dependencies, dependencies first.
module_load_order() {
    awk -v wanted="$*" '
        function name_of(path,   base) {
            base = path; sub(/.*\//, "", base); sub(/\.ko.*$/, "", base)
            gsub(/-/, "_", base); return base
        }
        function visit(name,   count, i, parts) {
            if (name in done) return
            done[name] = 1
            if (!(name in path_of)) { print "unknown module " name > "/dev/stderr"; exit 1 }
            count = split(deps_of[name], parts, " ")
            # modules.dep lists the deepest dependency last.
            for (i = count; i >= 1; i--) visit(name_of(parts[i]))
            print path_of[name]
        }
        {
            path = $1; sub(/:$/, "", path)
            name = name_of(path); path_of[name] = path
            deps = $0; sub(/^[^:]*:[ ]*/, "", deps); deps_of[name] = deps
        }
        END { count = split(wanted, names, " "); for (i = 1; i <= count; i++) visit(names[i]) }
    ' "$modules_dir/modules.dep"
}

# Copies executable $1 and the shared libraries it needs into tree $2, each at its path.
copy_with_libraries() {
    local binary=$1 tree=$2 library
    install -D -m 755 "$binary" "$tree$binary"
    for library in $(ldd "$binary" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'); do
        [[ -e "$tree$library" ]] || install -D -m 755 "$(readlink -f "$library")" "$tree$library"
    done
}

lvm_conf() {
    cat <<'EOF'
# lvm.conf for the kboot fixtures' helper VM: no udev, no daemons, no thin_check.
devices {
    dir = "/dev"
    scan = [ "/dev" ]
    obtain_device_list_from_udev = 0
    external_device_info_source = "none"
    use_devicesfile = 0
    md_component_detection = 1
    md_component_checks = "full"
    multipath_component_detection = 0
}
activation {
    udev_sync = 0
    udev_rules = 0
    verify_udev_operations = 1
    monitoring = 0
}
global {
    use_lvmpolld = 0
    event_activation = 0
    thin_check_executable = ""
    thin_dump_executable = ""
    thin_repair_executable = ""
}
backup {
    backup = 0
    archive = 0
}
EOF
}

vm_init() {
    cat <<'EOF'
#!/bin/busybox sh
# The helper VM's /init: load md/dm, run /recipe.sh, say DONE or FAILED, power off.
/bin/busybox mkdir -p /sbin /usr/bin /usr/sbin /proc /sys /dev /run /tmp /var/lock
/bin/busybox --install -s
export PATH=/sbin:/bin:/usr/sbin:/usr/bin LVM_SUPPRESS_FD_WARNINGS=1
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
finish() {
    sync
    echo "VMFIX $1"
    poweroff -f
}
for module in $(cat /lib/modules/load-order); do
    insmod "/lib/modules/$module" || finish "FAILED insmod $module"
done
tries=0
while [ ! -b /dev/vda ]; do
    tries=$((tries + 1))
    [ $tries -gt 100 ] && finish "FAILED no /dev/vda"
    sleep 0.1
done
# ttyS1 carries the KEY=value lines the host records; keep it free of \r.
stty -F /dev/ttyS1 raw -echo 2>/dev/null
if sh -e /recipe.sh; then
    finish DONE
else
    finish "FAILED recipe exited with $?"
fi
EOF
}

# Helpers every recipe gets, before its own text.
recipe_prelude() {
    cat <<'EOF'
set -x
# kv KEY VALUE: a line for set.env (the host prefixes the set's name).
kv() { echo "$1=$2" >>/dev/ttyS1; }
section() { set +x; echo "===== $* ====="; set -x; }
# md_field DEVICE FIELD: a value from `mdadm --examine` (e.g. "Data Offset").
md_field() { mdadm --examine "$1" | sed -n "s/^ *$2 : \([^ ]*\).*/\1/p"; }
# lv_field VG/LV FIELD
lv_field() { lvm lvs -a --noheadings --nosuffix --units s -o "$2" "$1" | tr -d ' '; }
pv_field() { lvm pvs --noheadings --nosuffix --units s -o "$2" "$1" | tr -d ' '; }
vg_field() { lvm vgs --noheadings --nosuffix --units s -o "$2" "$1" | tr -d ' '; }
# copy_root TARGET: dd the root filesystem onto TARGET and check it arrived.
copy_root() {
    dd if="$ROOT_SOURCE" of="$1" bs=1M conv=fsync
    size=$(blockdev --getsize64 "$ROOT_SOURCE")
    want=$(md5sum <"$ROOT_SOURCE" | cut -d' ' -f1)
    got=$(head -c "$size" "$1" | md5sum | cut -d' ' -f1)
    [ "$want" = "$got" ] || { echo "root copy on $1 differs"; exit 1; }
}
# md_record PREFIX ARRAY MEMBER...: the array's identity and each member's superblock.
md_record() {
    prefix=$1 array=$2; shift 2
    section "mdadm --detail $array"
    mdadm --detail "$array"
    mdadm --detail --export "$array"
    kv "${prefix}_UUID" "$(mdadm --detail --export "$array" | sed -n 's/^MD_UUID=//p')"
    kv "${prefix}_NAME" "$(mdadm --detail --export "$array" | sed -n 's/^MD_NAME=//p')"
    kv "${prefix}_METADATA" "$(mdadm --detail --export "$array" | sed -n 's/^MD_METADATA=//p')"
    kv "${prefix}_LEVEL" "$(mdadm --detail --export "$array" | sed -n 's/^MD_LEVEL=//p')"
    kv "${prefix}_SIZE_BYTES" "$(blockdev --getsize64 "$array")"
    index=1
    for member in "$@"; do
        section "mdadm --examine $member"
        mdadm --examine "$member"
        kv "${prefix}_MEMBER${index}" "${member#/dev/}"
        kv "${prefix}_MEMBER${index}_EVENTS" "$(md_field "$member" Events)"
        offset=$(md_field "$member" "Data Offset")
        [ -n "$offset" ] && kv "${prefix}_MEMBER${index}_DATA_OFFSET_SECTORS" "$offset"
        offset=$(md_field "$member" "Super Offset")
        [ -n "$offset" ] && kv "${prefix}_MEMBER${index}_SUPER_OFFSET_SECTORS" "$offset"
        index=$((index + 1))
    done
}
# lvm_record PREFIX VG: the VG as JSON and as its metadata text, the DM tables.
lvm_record() {
    prefix=$1 vg=$2
    section "lvm reports for $vg"
    lvm pvs --reportformat json --units s -o pv_all
    lvm vgs --reportformat json --units s -o vg_all "$vg"
    lvm lvs -a --reportformat json --units s -o lv_all,seg_all "$vg"
    lvm lvs -a --units s -o lv_name,lv_attr,segtype,seg_size,devices,lv_uuid "$vg"
    section "dmsetup"
    dmsetup info -c
    dmsetup table
    section "VG metadata text of $vg"
    lvm vgcfgbackup -f /tmp/vg.txt "$vg"
    cat /tmp/vg.txt
    kv "${prefix}_VG_UUID" "$(vg_field "$vg" vg_uuid)"
    kv "${prefix}_VG_EXTENT_SIZE_SECTORS" "$(vg_field "$vg" vg_extent_size)"
    kv "${prefix}_VG_SEQNO" "$(vg_field "$vg" vg_seqno)"
    for lv in $(lvm lvs -a --noheadings -o lv_name "$vg" | tr -d ' []'); do
        upper=$(echo "$lv" | tr a-z- A-Z_)
        kv "${prefix}_LV_${upper}_UUID" "$(lv_field "$vg/$lv" lv_uuid)"
        kv "${prefix}_LV_${upper}_SEGTYPE" "$(lv_field "$vg/$lv" segtype)"
        kv "${prefix}_LV_${upper}_SIZE_SECTORS" "$(lv_field "$vg/$lv" lv_size)"
    done
}
# pv_record PREFIX INDEX PV
pv_record() {
    kv "${1}_PV${2}" "${3#/dev/}"
    kv "${1}_PV${2}_UUID" "$(pv_field "$3" pv_uuid)"
    kv "${1}_PV${2}_PE_START_SECTORS" "$(pv_field "$3" pe_start)"
    kv "${1}_PV${2}_MDA_SIZE_SECTORS" "$(pv_field "$3" pv_mda_size)"
    kv "${1}_PV${2}_PE_COUNT" "$(pv_field "$3" pv_pe_count)"
}
EOF
}

# r1lvm: two disks with one GPT partition each; RAID1 (1.2, internal bitmap) named
# sysraid; a PV on it; VG sys-vg (the dash on purpose: /dev/mapper/sys--vg-root); a
# linear LV root holding the ext4 root.
recipe_r1lvm() {
    cat <<'EOF'
mdadm --create /dev/md/sysraid --run --assume-clean --metadata=1.2 --level=1 \
    --raid-devices=2 --bitmap=internal --name=sysraid --homehost=kbootvm \
    --uuid=4b424f4f:00000001:00000000:00000001 /dev/vda1 /dev/vdb1
cat /proc/mdstat
lvm pvcreate --yes --uuid KbootR-1lvm-PV00-0000-0000-0000-000001 --norestorefile \
    /dev/md/sysraid
lvm vgcreate --yes sys-vg /dev/md/sysraid
lvm lvcreate --yes --wipesignatures y --type linear -n root -L 48M sys-vg
copy_root /dev/mapper/sys--vg-root
lvm_record SET sys-vg
pv_record SET 1 "$(readlink -f /dev/md/sysraid)"
lvm vgchange -an sys-vg
section "mdstat before stopping"
cat /proc/mdstat
grep -q '\[UU\]' /proc/mdstat
md_record SET_MD /dev/md/sysraid /dev/vda1 /dev/vdb1
mdadm --stop /dev/md/sysraid
EOF
}
host_r1lvm() {
    disk_count=2
    root_uuid=4b424f4f-0002-4000-8000-000000000011
    root_label=r1lvmroot
    verify_lvs=sys-vg/root
    make_gpt_member 1 "$linux_raid_type" 4b424f4f-0001-4000-8000-000000000011
    make_gpt_member 2 "$linux_raid_type" 4b424f4f-0001-4000-8000-000000000012
}

# r1090: RAID1 with 0.90 metadata on whole disks 1 and 2 (the superblock is at the
# end, so both members start with the PV label of md0), a plain PV on whole disk 3;
# VG data with LV rootstripe striped over md0 and disk 3.
recipe_r1090() {
    cat <<'EOF'
mdadm --create /dev/md0 --run --assume-clean --metadata=0.90 --level=1 \
    --raid-devices=2 --homehost=kbootvm --uuid=4b424f4f:00000002:00000000:00000002 \
    /dev/vda /dev/vdb
cat /proc/mdstat
lvm pvcreate --yes --uuid KbootR-1090-PV00-0000-0000-0000-000001 --norestorefile /dev/md0
lvm pvcreate --yes --uuid KbootR-1090-PV00-0000-0000-0000-000002 --norestorefile /dev/vdc
lvm vgcreate --yes data /dev/md0 /dev/vdc
lvm lvcreate --yes --wipesignatures y --type striped -i 2 -I 64k -n rootstripe -L 48M data
copy_root /dev/data/rootstripe
lvm_record SET data
pv_record SET 1 /dev/md0
pv_record SET 2 /dev/vdc
section "what lvm thinks of the 0.90 members"
lvm pvs -a -o pv_name,pv_uuid,vg_name
lvm vgchange -an data
section "mdstat before stopping"
cat /proc/mdstat
grep -q '\[UU\]' /proc/mdstat
md_record SET_MD /dev/md0 /dev/vda /dev/vdb
mdadm --stop /dev/md0
EOF
}
host_r1090() {
    disk_count=3
    root_uuid=4b424f4f-0002-4000-8000-000000000021
    root_label=r1090root
    verify_lvs=data/rootstripe
    make_whole_disk 1
    make_whole_disk 2
    make_whole_disk 3
}

# r5: three disks with one GPT partition each; RAID5 (1.2) named r5root; the ext4
# root directly on the array.
recipe_r5() {
    cat <<'EOF'
mdadm --create /dev/md/r5root --run --assume-clean --metadata=1.2 --level=5 \
    --raid-devices=3 --name=r5root --homehost=kbootvm \
    --uuid=4b424f4f:00000003:00000000:00000003 /dev/vda1 /dev/vdb1 /dev/vdc1
cat /proc/mdstat
copy_root /dev/md/r5root
section "mdstat before stopping"
cat /proc/mdstat
grep -q '\[UUU\]' /proc/mdstat
md_record SET_MD /dev/md/r5root /dev/vda1 /dev/vdb1 /dev/vdc1
kv SET_MD_CHUNK_SECTORS "$(cat /sys/block/$(basename $(readlink -f /dev/md/r5root))/md/chunk_size | awk '{print $1 / 512}')"
kv SET_MD_LAYOUT "$(cat /sys/block/$(basename $(readlink -f /dev/md/r5root))/md/layout)"
mdadm --stop /dev/md/r5root
EOF
}
host_r5() {
    disk_count=3
    root_uuid=4b424f4f-0002-4000-8000-000000000031
    root_label=r5root
    make_gpt_member 1 "$linux_raid_type" 4b424f4f-0001-4000-8000-000000000031
    make_gpt_member 2 "$linux_raid_type" 4b424f4f-0001-4000-8000-000000000032
    make_gpt_member 3 "$linux_raid_type" 4b424f4f-0001-4000-8000-000000000033
}

# stale: RAID1 (1.2) of three partitions named stale; VG vgs on it with a linear LV
# root (the ext4 root), a thin pool and a thin LV thinvol. Then the array runs
# degraded from members 1 and 2 while the VG is written, so member 3 (vdc1) is left
# behind with an older event count.
recipe_stale() {
    cat <<'EOF'
mdadm --create /dev/md/stale --run --assume-clean --metadata=1.2 --level=1 \
    --raid-devices=3 --name=stale --homehost=kbootvm \
    --uuid=4b424f4f:00000004:00000000:00000004 /dev/vda1 /dev/vdb1 /dev/vdc1
cat /proc/mdstat
lvm pvcreate --yes --uuid KbootR-stal-ePV0-0000-0000-0000-000001 --norestorefile /dev/md/stale
lvm vgcreate --yes vgs /dev/md/stale
lvm lvcreate --yes --wipesignatures y --type linear -n root -L 48M vgs
copy_root /dev/vgs/root
lvm lvcreate --yes --type thin-pool -n pool -L 8M vgs
lvm lvcreate --yes -V 16M -T vgs/pool -n thinvol
echo "kboot stale fixture thin volume" | dd of=/dev/vgs/thinvol conv=fsync
lvm vgchange -an vgs
section "mdstat with all three members"
cat /proc/mdstat
grep -q '\[UUU\]' /proc/mdstat
mdadm --examine /dev/vdc1
mdadm --stop /dev/md/stale
section "degraded: members 1 and 2 only"
mdadm --assemble --run /dev/md/stale /dev/vda1 /dev/vdb1
cat /proc/mdstat
lvm vgchange -ay vgs
echo "written while vdc1 was away" | dd of=/dev/vgs/thinvol bs=512 seek=8 conv=fsync
sync
sleep 1
lvm lvchange -an vgs/thinvol
lvm lvchange -ay vgs/thinvol
echo "written again" | dd of=/dev/vgs/thinvol bs=512 seek=16 conv=fsync
sync
sleep 1
lvm_record SET vgs
pv_record SET 1 "$(readlink -f /dev/md/stale)"
lvm vgchange -an vgs
section "mdstat before stopping"
cat /proc/mdstat
md_record SET_MD /dev/md/stale /dev/vda1 /dev/vdb1 /dev/vdc1
mdadm --stop /dev/md/stale
fresh=$(md_field /dev/vda1 Events)
stale=$(md_field /dev/vdc1 Events)
kv SET_STALE_MEMBER vdc1
[ $((fresh - stale)) -ge 2 ] || { echo "vdc1 events $stale not behind $fresh"; exit 1; }
EOF
}
host_stale() {
    disk_count=3
    root_uuid=4b424f4f-0002-4000-8000-000000000041
    root_label=staleroot
    verify_lvs=vgs/root
    make_gpt_member 1 "$linux_raid_type" 4b424f4f-0001-4000-8000-000000000041
    make_gpt_member 2 "$linux_raid_type" 4b424f4f-0001-4000-8000-000000000042
    make_gpt_member 3 "$linux_raid_type" 4b424f4f-0001-4000-8000-000000000043
}

# r0part: RAID0 with 1.0 metadata (superblock at the end) on whole disks 1 and 2; the
# array holds a GPT with one partition, the ext4 root. Since 1.0 members start with the
# array's first chunk, the kernel also sees that GPT on disk 1 and makes vda1, whose
# ext4 superblock looks real: kboot must use md127p1, never vda1.
recipe_r0part() {
    cat <<'EOF'
mdadm --create /dev/md/r0part --run --metadata=1.0 --level=0 --chunk=512 \
    --raid-devices=2 --name=r0part --homehost=kbootvm \
    --uuid=4b424f4f:00000005:00000000:00000005 /dev/vda /dev/vdb
cat /proc/mdstat
copy_root /dev/md/r0part
md_record SET_MD /dev/md/r0part /dev/vda /dev/vdb
mdadm --stop /dev/md/r0part
EOF
}
host_r0part() {
    disk_count=2
    root_uuid=4b424f4f-0002-4000-8000-000000000051
    root_label=r0partroot
    root_partuuid=4b424f4f-0001-4000-8000-000000000051
    make_whole_disk 1
    make_whole_disk 2
}

# dirty: one whole-disk ext4 (made on the host like the other roots: two kernels with
# the marker ramdisks, no grub.cfg) that the helper VM's own kernel mounts and changes
# as a kernel upgrade would: a new kernel vmlinuz-$V-journal with a ramdisk whose
# marker says ramdisk=journal, and a grub.cfg whose default entry boots them (with the
# word kboot_proof=journal). The recipe waits past the 5 s jbd2 commit and powers off
# at once (sysrq o: no sync, no unmount), so the change lives only in the journal; the
# host then checks with dumpe2fs and debugfs that needs_recovery is set and that
# /boot shows neither the new kernel nor grub/ without a replay (dirty/check.log).
recipe_dirty() {
    cat <<'EOF'
mkdir -p /mnt
mount -t ext4 -o rw /dev/vda /mnt
ls -l /mnt/boot
mkdir -p /mnt/boot/grub
tar -xf /dev/vdb -C /mnt/boot
ls -l /mnt/boot /mnt/boot/grub
cat /mnt/boot/grub/grub.cfg
# fsync each new file and its directory, as a package manager does: the data goes to
# its blocks and the metadata into a journal commit; no global sync, no checkpoint.
for file in /mnt/boot/vmlinuz-*-journal /mnt/boot/initrd.img-*-journal \
    /mnt/boot/grub/grub.cfg /mnt/boot/grub /mnt/boot; do
    sync "$file"
done
section "waiting past the jbd2 commit (5 s), then off without sync or unmount"
sleep 7
cat /proc/fs/jbd2/vda*/info || true
set +x
echo "VMFIX DONE"
echo o >/proc/sysrq-trigger
sleep 5
poweroff -f -n
EOF
}

dirty_grub_cfg() {
    cat <<EOF
set default="0"
set timeout=5
menuentry 'kboot journal proof' {
	search --no-floppy --fs-uuid --set=root $dirty_root_uuid
	linux	/boot/vmlinuz-$kernel_version-journal root=UUID=$dirty_root_uuid ro console=ttyS0 kboot_proof=journal
	initrd	/boot/initrd.img-$kernel_version-journal
}
menuentry 'kboot journal proof: the old kernel' {
	linux	/boot/vmlinuz-$old_version root=UUID=$dirty_root_uuid ro console=ttyS0 kboot_proof=old
	initrd	/boot/initrd.img-$old_version
}
EOF
}

# Builds the dirty set (see recipe_dirty); a set of its own, outside build_set (no
# verify boot: mounting would replay the journal).
build_dirty() {
    local set=dirty hash final=$vm_dir/dirty
    local dirty_root_uuid=4b424f4f-0002-4000-8000-0000000000d1
    # Room for a third 14 MB kernel next to the two.
    local root_fs_mib=96
    hash=$( (echo "$tools_hash" "$root_fs_mib" "$old_version" "$kernel_version"
        declare -f recipe_dirty dirty_grub_cfg build_dirty recipe_prelude fill_root_tree \
            make_root_fs run_vm
        sha256sum "$tests_dir/fixtures.sh") | sha256sum | cut -c1-16)
    if [[ -f "$final/.stamp" && $(<"$final/.stamp") == "$hash" && -f "$final/set.env" ]]; then
        return
    fi
    log "building image set dirty in the helper VM"
    set_work=$vm_dir/dirty.work
    rm -rf "$set_work"
    mkdir -p "$set_work"
    make_root_fs "$set_work/disk1.img" "$dirty_root_uuid" dirtyroot kboot-dirty
    # What the "upgrade" writes: the kernel under a new version, a ramdisk whose
    # marker says journal (the marker ramdisk plus an appended /init), a grub.cfg.
    local payload marker
    payload=$(mktemp -d "$set_work/payload.XXXXXX")
    marker=$(mktemp -d "$set_work/marker.XXXXXX")
    mkdir -p "$payload/grub"
    cp "$cache_dir/kernel/boot/vmlinuz-$kernel_version" "$payload/vmlinuz-$kernel_version-journal"
    sed 's/^echo "KBOOT-MARKER ramdisk=new /echo "KBOOT-MARKER ramdisk=journal /' \
        < <(zcat "$cache_dir/marker-new.cpio.gz" | (cd "$marker" && cpio --quiet -i init && cat init)) \
        >"$marker/init.new"
    grep -q 'ramdisk=journal' "$marker/init.new"
    mv "$marker/init.new" "$marker/init"
    chmod 755 "$marker/init"
    {
        cat "$cache_dir/marker-new.cpio.gz"
        (cd "$marker" && echo init | cpio --quiet -o -H newc -R 0:0 --reproducible) | gzip -9n
    } >"$payload/initrd.img-$kernel_version-journal"
    rm -rf "$marker"
    dirty_grub_cfg >"$payload/grub/grub.cfg"
    (cd "$payload" && tar --owner=0 --group=0 -cf "$set_work/payload.tar" \
        "vmlinuz-$kernel_version-journal" "initrd.img-$kernel_version-journal" grub)
    rm -rf "$payload"
    {
        recipe_prelude
        recipe_dirty
    } >"$set_work/recipe.sh"
    run_vm build "$set_work/recipe.sh" "$set_work/disk1.img" "$set_work/payload.tar:ro"
    # The proof holds only if the change is in the journal alone.
    {
        echo "== dumpe2fs -h"
        dumpe2fs -h "$set_work/disk1.img" 2>&1
        echo "== debugfs ls -l /boot"
        debugfs -R 'ls -l /boot' "$set_work/disk1.img" 2>&1
        echo "== debugfs stat /boot/grub/grub.cfg"
        debugfs -R 'stat /boot/grub/grub.cfg' "$set_work/disk1.img" 2>&1
        # And the journal does hold it: e2fsck on a scratch copy replays it.
        cp --sparse=always "$set_work/disk1.img" "$set_work/replayed.img"
        echo "== e2fsck -fy on a scratch copy (replays the journal)"
        e2fsck -fy "$set_work/replayed.img" 2>&1 || true
        echo "== debugfs ls -l /boot and cat grub.cfg after that replay"
        debugfs -R 'ls -l /boot' "$set_work/replayed.img" 2>&1
        debugfs -R 'cat /boot/grub/grub.cfg' "$set_work/replayed.img" 2>&1
    } >"$set_work/check.log"
    seen=$(debugfs -R 'cat /boot/grub/grub.cfg' "$set_work/replayed.img" 2>/dev/null)
    if ! grep -q kboot_proof=journal <<<"$seen"; then
        log "dirty: even a replayed copy lacks the new kernel; see $set_work/check.log"
        exit 1
    fi
    rm -f "$set_work/replayed.img"
    # (Each tool's output is read whole first: with pipefail, grep -q's early exit
    # could fail the pipeline and turn a match into none.)
    local seen
    seen=$(dumpe2fs -h "$set_work/disk1.img" 2>/dev/null)
    if ! grep -q '^Filesystem features:.*needs_recovery' <<<"$seen"; then
        log "dirty: the helper VM left no needs_recovery; see $set_work/check.log"
        exit 1
    fi
    seen=$(debugfs -R 'ls -l /boot' "$set_work/disk1.img" 2>/dev/null)
    if grep -q -e '-journal' -e ' grub' <<<"$seen"; then
        log "dirty: the change is visible without a journal replay; see $set_work/check.log"
        exit 1
    fi
    rm -f "$set_work/payload.tar"
    printf '%s\n' "DIRTY_DISK_COUNT=1" "DIRTY_DISK1=$final/disk1.img" \
        "DIRTY_ROOT_UUID=$dirty_root_uuid" "DIRTY_ROOT_LABEL=dirtyroot" \
        "DIRTY_NEW_KERNEL=/boot/vmlinuz-$kernel_version-journal" \
        "DIRTY_NEW_RAMDISK=/boot/initrd.img-$kernel_version-journal" >"$set_work/set.env"
    chmod a-w "$set_work/disk1.img"
    echo "$hash" >"$set_work/.stamp"
    rm -rf "$final"
    mv "$set_work" "$final"
}

# dirtyxfs: the same proof on XFS (mkfs.xfs on the host cannot fill a tree, so the
# helper VM copies disk-onefs's root tree in and unmounts cleanly first; the xfs
# module comes on the payload disk, since the tools initramfs has none). The kernel
# upgrade is then left in the log alone: xfs_logprint shows the transactions and
# xfs_db's /boot lacks the new files (dirtyxfs/check.log).
recipe_dirtyxfs() {
    cat <<'EOF'
mkdir -p /mnt /tmp/payload
tar -xf /dev/vdb -C /tmp/payload
for module in $(cat /tmp/payload/modules/load-order); do
    insmod "/tmp/payload/modules/$module" || grep -q "^${module%.ko} " /proc/modules
done
mount -t xfs /dev/vda /mnt
cp -a /tmp/payload/root/. /mnt/
umount /mnt
section "the upgrade, left in the log"
mount -t xfs /dev/vda /mnt
ls -l /mnt/boot
mkdir -p /mnt/boot/grub
cp /tmp/payload/new/vmlinuz-* /tmp/payload/new/initrd.img-* /mnt/boot/
cp /tmp/payload/new/grub/grub.cfg /mnt/boot/grub/grub.cfg
for file in /mnt/boot/vmlinuz-*-journal /mnt/boot/initrd.img-*-journal \
    /mnt/boot/grub/grub.cfg /mnt/boot/grub /mnt/boot; do
    sync "$file"
done
ls -l /mnt/boot /mnt/boot/grub
sleep 7
set +x
echo "VMFIX DONE"
echo o >/proc/sysrq-trigger
sleep 5
poweroff -f -n
EOF
}

build_dirtyxfs() {
    local set=dirtyxfs hash final=$vm_dir/dirtyxfs
    local dirty_root_uuid=4b424f4f-0002-4000-8000-0000000000d2
    # An xfs_logprint whose log was clean would print "state: <CLEAN>".
    local xfs_mib=320
    hash=$( (echo "$tools_hash" "$xfs_mib" "$old_version" "$kernel_version"
        declare -f recipe_dirtyxfs dirty_grub_cfg build_dirtyxfs recipe_prelude \
            fill_root_tree run_vm
        sha256sum "$tests_dir/fixtures.sh") | sha256sum | cut -c1-16)
    if [[ -f "$final/.stamp" && $(<"$final/.stamp") == "$hash" && -f "$final/set.env" ]]; then
        return
    fi
    log "building image set dirtyxfs in the helper VM"
    set_work=$vm_dir/dirtyxfs.work
    rm -rf "$set_work"
    mkdir -p "$set_work"
    truncate -s "${xfs_mib}M" "$set_work/disk1.img"
    mkfs.xfs -q -f \
        -m uuid="$dirty_root_uuid" -L dirtyxfs "$set_work/disk1.img"
    local payload marker module
    payload=$(mktemp -d "$set_work/payload.XXXXXX")
    marker=$(mktemp -d "$set_work/marker.XXXXXX")
    mkdir -p "$payload/root" "$payload/new/grub" "$payload/modules"
    fill_root_tree "$payload/root" kboot-dirtyxfs
    for module in $(module_load_order xfs); do
        cp "$modules_dir/$module" "$payload/modules/"
        basename "$module" >>"$payload/modules/load-order"
    done
    cp "$cache_dir/kernel/boot/vmlinuz-$kernel_version" "$payload/new/vmlinuz-$kernel_version-journal"
    zcat "$cache_dir/marker-new.cpio.gz" | (cd "$marker" && cpio --quiet -i init)
    sed -i 's/^echo "KBOOT-MARKER ramdisk=new /echo "KBOOT-MARKER ramdisk=journal /' "$marker/init"
    grep -q 'ramdisk=journal' "$marker/init"
    chmod 755 "$marker/init"
    {
        cat "$cache_dir/marker-new.cpio.gz"
        (cd "$marker" && echo init | cpio --quiet -o -H newc -R 0:0 --reproducible) | gzip -9n
    } >"$payload/new/initrd.img-$kernel_version-journal"
    rm -rf "$marker"
    dirty_grub_cfg >"$payload/new/grub/grub.cfg"
    (cd "$payload" && tar --owner=0 --group=0 -cf "$set_work/payload.tar" root new modules)
    rm -rf "$payload"
    {
        recipe_prelude
        recipe_dirtyxfs
    } >"$set_work/recipe.sh"
    run_vm build "$set_work/recipe.sh" "$set_work/disk1.img" "$set_work/payload.tar:ro"
    {
        echo "== xfs_logprint -t (a dirty log: transactions after the tail)"
        xfs_logprint -t "$set_work/disk1.img" 2>&1 | head -n 60 || true
        echo "== xfs_db -r: ls /boot and /boot/grub without log recovery"
        xfs_db -r -c 'ls /boot' "$set_work/disk1.img" 2>&1 || true
        xfs_db -r -c 'ls /boot/grub' "$set_work/disk1.img" 2>&1 || true
    } >"$set_work/check.log"
    local seen
    seen=$(xfs_logprint -t "$set_work/disk1.img" 2>/dev/null || true)
    if ! grep -q 'state: <DIRTY>' <<<"$seen"; then
        log "dirtyxfs: the helper VM left a clean log; see $set_work/check.log"
        exit 1
    fi
    seen=$(xfs_db -r -c 'ls /boot' "$set_work/disk1.img" 2>/dev/null || true)
    if grep -q -e '-journal' -e ' grub$' <<<"$seen"; then
        log "dirtyxfs: the change is visible without log recovery; see $set_work/check.log"
        exit 1
    fi
    rm -f "$set_work/payload.tar"
    printf '%s\n' "DIRTYXFS_DISK_COUNT=1" "DIRTYXFS_DISK1=$final/disk1.img" \
        "DIRTYXFS_ROOT_UUID=$dirty_root_uuid" \
        "DIRTYXFS_NEW_KERNEL=/boot/vmlinuz-$kernel_version-journal" \
        "DIRTYXFS_NEW_RAMDISK=/boot/initrd.img-$kernel_version-journal" >"$set_work/set.env"
    chmod a-w "$set_work/disk1.img"
    echo "$hash" >"$set_work/.stamp"
    rm -rf "$final"
    mv "$set_work" "$final"
}

sets=(r1lvm r1090 r5 stale r0part)

# make_gpt_member N TYPE PARTUUID: disk N of the set being built, one partition from
# 1 MiB to 1 MiB before the end.
make_gpt_member() {
    local index=$1 type=$2 partuuid=$3 image=$set_work/disk$1.img
    truncate -s "${image_size_mib}M" "$image"
    sfdisk --quiet --no-reread --no-tell-kernel "$image" >/dev/null <<EOF
label: gpt
label-id: ${partuuid/-0001-/-0000-}
unit: sectors
first-lba: $mib_sectors

start=$mib_sectors, size=$(((image_size_mib - 2) * mib_sectors)), type=$type, uuid=$partuuid, name=member$index
EOF
    set_env+=("SET_DISK${index}_PARTUUID=$partuuid")
    set_env+=("SET_DISK${index}_MEMBER_OFFSET_BYTES=$((mib_sectors * 512))")
}

# make_whole_disk N: disk N, no partition table; the member is the whole disk.
make_whole_disk() {
    truncate -s "${image_size_mib}M" "$set_work/disk$1.img"
    set_env+=("SET_DISK${1}_MEMBER_OFFSET_BYTES=0")
}

# The root tree of disk-onefs (fixtures.sh: fill_root_dir, fill_boot_dir): two
# kernels with the marker ramdisks, newest = the real version.
fill_root_tree() {
    local dir=$1 hostname=$2
    mkdir -p "$dir/boot" "$dir/etc" "$dir/sbin" "$dir/dev" "$dir/proc" "$dir/sys"
    echo "$hostname" >"$dir/etc/hostname"
    printf 'PRETTY_NAME="kboot test root"\nID=kboot-fixture\n' >"$dir/etc/os-release"
    cp "$cache_dir/kernel/boot/vmlinuz-$kernel_version" "$dir/boot/vmlinuz-$kernel_version"
    cp "$cache_dir/kernel/boot/vmlinuz-$kernel_version" "$dir/boot/vmlinuz-$old_version"
    cp "$cache_dir/marker-new.cpio.gz" "$dir/boot/initrd.img-$kernel_version"
    cp "$cache_dir/marker-old.cpio.gz" "$dir/boot/initrd.img-$old_version"
    cp "$cache_dir/kernel/boot/config-$kernel_version" "$dir/boot/config-$kernel_version"
    find "$dir" -exec touch -h -d @1700000000 {} +
}

# $1 = output image, $2 = UUID, $3 = label, $4 = hostname.
make_root_fs() {
    local image=$1 uuid=$2 label=$3 tree
    tree=$(mktemp -d "$vm_dir/root.XXXXXX")
    fill_root_tree "$tree" "$4"
    E2FSPROGS_FAKE_TIME=1700000000 mke2fs -q -F -t ext4 \
        -E "root_owner=0:0,hash_seed=$uuid" -U "$uuid" -L "$label" -d "$tree" \
        "$image" "$((root_fs_mib * 1024))k" >/dev/null
    rm -rf "$tree"
}

# The helper VM's initramfs, shared by every set; its hash is part of each set's.
build_tools() {
    local out=$vm_dir/tools.cpio.gz tree order
    local recipe
    recipe=$(declare -f vm_init lvm_conf module_load_order copy_with_libraries build_tools)
    local hash
    hash=$( (echo "$recipe" "${vm_modules[*]}" "$kernel_version"
        sha256sum /sbin/mdadm /sbin/lvm /sbin/dmsetup /bin/busybox) | sha256sum | cut -c1-16)
    if [[ -f "$out" && -f "$vm_dir/.stamp-tools" && $(<"$vm_dir/.stamp-tools") == "$hash" ]]; then
        tools_hash=$hash
        return
    fi
    log "building the helper VM's tools initramfs"
    tree=$(mktemp -d "$vm_dir/tools.XXXXXX")
    mkdir -p "$tree/bin" "$tree/lib/modules" "$tree/etc/lvm" "$tree/etc/mdadm"
    cp /bin/busybox "$tree/bin/busybox"
    copy_with_libraries /sbin/mdadm "$tree"
    copy_with_libraries /sbin/lvm "$tree"
    copy_with_libraries /sbin/dmsetup "$tree"
    lvm_conf >"$tree/etc/lvm/lvm.conf"
    echo "HOMEHOST <ignore>" >"$tree/etc/mdadm/mdadm.conf"
    order=$(module_load_order "${vm_modules[@]}")
    local module
    for module in $order; do
        cp "$modules_dir/$module" "$tree/lib/modules/"
    done
    for module in $order; do basename "$module"; done >"$tree/lib/modules/load-order"
    vm_init >"$tree/init"
    chmod 755 "$tree/init"
    (cd "$tree" && find . -mindepth 1 | LC_ALL=C sort |
        cpio --quiet -o -H newc -R 0:0 --reproducible) | gzip -6n >"$out.tmp"
    mv "$out.tmp" "$out"
    rm -rf "$tree"
    echo "$hash" >"$vm_dir/.stamp-tools"
    tools_hash=$hash
}

# Builds set $1 in a work directory and moves it into place once the VM said DONE.
build_set() {
    local set=$1 prefix hash
    prefix=$(echo "$set" | tr a-z A-Z)
    hash=$( (echo "$tools_hash" "$image_size_mib" "$root_fs_mib" "$mib_sectors" \
        "$linux_raid_type" "$old_version"
        declare -f "recipe_$set" "host_$set" recipe_prelude build_set make_gpt_member \
            make_whole_disk fill_root_tree make_root_fs run_vm verify_recipe
        sha256sum "$tests_dir/fixtures.sh") | sha256sum | cut -c1-16)
    local final=$vm_dir/$set
    if [[ -f "$final/.stamp" && $(<"$final/.stamp") == "$hash" && -f "$final/set.env" ]]; then
        return
    fi
    log "building image set $set in the helper VM"
    local started=$SECONDS
    set_work=$vm_dir/$set.work
    rm -rf "$set_work"
    mkdir -p "$set_work"
    set_env=()
    local disk_count root_uuid root_label verify_lvs="" root_partuuid=""
    "host_$set"
    make_root_fs "$set_work/root.ext4" "$root_uuid" "$root_label" "kboot-$set"
    if [[ -n $root_partuuid ]]; then
        # The root goes into partition 1 of a GPT that is itself copied onto the array.
        local inner=$set_work/root.gpt
        truncate -s "$(((root_fs_mib + 2) * 1048576))" "$inner"
        sfdisk --quiet --no-reread --no-tell-kernel "$inner" >/dev/null <<EOF
label: gpt
label-id: ${root_partuuid/-0001-/-0000-}
unit: sectors
first-lba: $mib_sectors

start=$mib_sectors, size=$((root_fs_mib * mib_sectors)), type=linux, uuid=$root_partuuid, name=r0root
EOF
        dd if="$set_work/root.ext4" of="$inner" bs=1M seek=1 conv=notrunc,sparse status=none
        mv "$inner" "$set_work/root.ext4"
        set_env+=("SET_ROOT_PARTUUID=$root_partuuid")
    fi
    set_env+=("SET_DISK_COUNT=$disk_count" "SET_ROOT_UUID=$root_uuid"
        "SET_ROOT_LABEL=$root_label" "SET_ROOT_FS_BYTES=$((root_fs_mib * 1048576))")
    local root_device
    root_device=vd$(printf "\\x$(printf %x $((97 + disk_count)))")
    {
        echo "ROOT_SOURCE=/dev/$root_device"
        recipe_prelude
        "recipe_$set"
    } >"$set_work/recipe.sh"
    local index disks=()
    for ((index = 1; index <= disk_count; index++)); do
        disks+=("$set_work/disk$index.img")
    done
    run_vm build "$set_work/recipe.sh" "${disks[@]}" "$set_work/root.ext4:ro"
    {
        echo "ROOT_UUID=$root_uuid"
        echo "VERIFY_LVS=\"$verify_lvs\""
        recipe_prelude
        verify_recipe
    } >"$set_work/verify.sh"
    local copies=()
    for ((index = 1; index <= disk_count; index++)); do
        cp --sparse=always "$set_work/disk$index.img" "$set_work/verify$index.img"
        copies+=("$set_work/verify$index.img")
    done
    run_vm verify "$set_work/verify.sh" "${copies[@]}"
    for ((index = 1; index <= disk_count; index++)); do
        if ! cmp "$set_work/disk$index.img" "$set_work/verify$index.img"; then
            log "read-only assembly changed disk $index of $set"
            exit 1
        fi
        rm -f "$set_work/verify$index.img"
        set_env+=("SET_DISK${index}=$final/disk$index.img")
    done
    {
        printf '%s\n' "${set_env[@]}"
        tr -d '\r' <"$set_work/build.env"
        tr -d '\r' <"$set_work/verify.env"
    } | sed "s/^SET_/${prefix}_/" >"$set_work/set.env"
    rm -f "$set_work/root.ext4" "$set_work/build.env" "$set_work/verify.env"
    chmod a-w "$set_work"/disk*.img
    echo "$hash" >"$set_work/.stamp"
    rm -rf "$final"
    mv "$set_work" "$final"
    log "image set $set built in $((SECONDS - started)) s"
}

# run_vm NAME RECIPE DISK...: boots the helper VM with RECIPE as /recipe.sh on the
# disks (vda, vdb, ... in order; a disk given as PATH:ro is read-only). Writes the
# console to $set_work/NAME.log and the KEY=value lines to $set_work/NAME.env.
run_vm() {
    local name=$1 recipe=$2 recipe_tree disk
    shift 2
    recipe_tree=$(mktemp -d "$set_work/recipe.XXXXXX")
    cp "$recipe" "$recipe_tree/recipe.sh"
    cat "$vm_dir/tools.cpio.gz" >"$set_work/initrd.img"
    (cd "$recipe_tree" && echo recipe.sh |
        cpio --quiet -o -H newc -R 0:0 --reproducible) | gzip -n >>"$set_work/initrd.img"
    rm -rf "$recipe_tree"
    local drives=()
    for disk in "$@"; do
        if [[ $disk == *:ro ]]; then
            drives+=(-drive "file=${disk%:ro},format=raw,if=virtio,readonly=on")
        else
            drives+=(-drive "file=$disk,format=raw,if=virtio")
        fi
    done
    : >"$set_work/$name.env"
    local status=0 started=$SECONDS
    timeout "$vm_timeout_seconds" qemu-system-x86_64 -accel tcg -m 512 -smp 1 \
        -nodefaults -display none -no-reboot \
        -kernel "$cache_dir/kernel/boot/vmlinuz-$kernel_version" \
        -initrd "$set_work/initrd.img" \
        -append "console=ttyS0 panic=-1 loglevel=5" \
        -serial "file:$set_work/$name.log" -serial "file:$set_work/$name.env" \
        "${drives[@]}" </dev/null || status=$?
    rm -f "$set_work/initrd.img"
    if ! grep -q '^VMFIX DONE' "$set_work/$name.log"; then
        log "the helper VM ($name) for $set failed (qemu status $status); its console:"
        tail -n 60 "$set_work/$name.log" >&2
        log "full log: $set_work/$name.log"
        exit 1
    fi
    log "helper VM $set/$name: $((SECONDS - started)) s"
}

# The second boot of every set: assemble and activate read-only from the
# superblocks alone (no names, no config), as a boot would, find the root filesystem
# by UUID, and stop; runs on copies that must come out unchanged.
verify_recipe() {
    cat <<'EOF'
section "read-only assembly from the superblocks, as a boot would"
mdadm --examine --scan
mdadm --assemble --scan --readonly --run || true
cat /proc/mdstat
grep -q "^md" /proc/mdstat
for lv in $VERIFY_LVS; do
    lvm lvchange -ay --config "activation/read_only_volume_list=[\"${lv%%/*}\"]" "$lv"
done
section dmsetup
dmsetup table
root=$(findfs "UUID=$ROOT_UUID")
kv SET_VERIFY_ROOT_DEVICE "$root"
for lv in $VERIFY_LVS; do lvm lvchange -an "$lv"; done
mdadm --stop --scan
EOF
}

write_env() {
    {
        cat "$cache_dir/fixtures.env"
        echo "VM_FIXTURES_DIR=$vm_dir"
        echo "VM_MDADM_VERSION=$(mdadm --version 2>&1 | sed 's/ - /,/g; s/ /_/g')"
        echo "VM_LVM_VERSION=$(lvm version 2>/dev/null | sed -n 's/^ *LVM version: *\([^ ]*\).*/\1/p')"
        local set
        for set in "${sets[@]}" dirty dirtyxfs; do
            cat "$vm_dir/$set/set.env"
        done
    } >"$cache_dir/vm-fixtures.env.tmp"
    mv "$cache_dir/vm-fixtures.env.tmp" "$cache_dir/vm-fixtures.env"
}

mkdir -p "$vm_dir"
build_tools
for set in "${sets[@]}"; do
    build_set "$set"
done
build_dirty
build_dirtyxfs
write_env
