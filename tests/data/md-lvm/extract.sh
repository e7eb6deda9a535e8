#!/bin/bash
# Refreshes this directory from the image sets tests/vm-fixtures.sh built with the
# real mdadm and lvm2 (see there), so the md and LVM parsers' unit tests can read
# real superblocks, PV labels and VG metadata without booting the helper VM:
#   SET-diskN-head.bin.gz   the start of disk N up to where data begins: for a GPT
#                           member the first 3 MiB (GPT, then the member's first 2 MiB:
#                           md 1.2 superblock + bitmap, PV label, metadata area); for a
#                           whole-disk member (0.90 or a bare PV) the first MiB (PV
#                           label and metadata area; the LV data starts at 1 MiB)
#   SET-diskN-tail.bin.gz   the last 2 MiB of disk N (0.90/1.0 superblocks sit at the
#                           member's end; for GPT members the last MiB is the backup GPT)
#   SET.env                 what the helper VM recorded for these images: UUIDs,
#                           member offsets, data offsets, events, PE start (keys as in
#                           target/kboot-cache/vm-fixtures.env; DISKn paths dropped)
#   SET-build.log.gz        the helper VM's console: mdadm --examine/--detail, lvm's JSON
#                           reports, the VG metadata text, dmsetup tables
#   SET-verify.log.gz       the read-only reassembly check
# The unit tests read them through src/devices/test_samples.rs (md, LVM label,
# metadata and table, partition and blockdev tests).
# Offsets inside head.bin are image offsets: a member starts at
# SET_DISKn_MEMBER_OFFSET_BYTES. tail.bin ends where the image ends.
#
# Usage: bash tests/data/md-lvm/extract.sh [CACHE_DIR]   (default target/kboot-cache)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache_dir=${1:-$here/../../../target/kboot-cache}
bash "$here/../../vm-fixtures.sh" "$cache_dir"
vm_dir=$cache_dir/vm
for set in r1lvm r1090 r5 stale; do
    prefix=$(echo "$set" | tr a-z A-Z)
    for image in "$vm_dir/$set"/disk*.img; do
        disk=$(basename "$image" .img)
        member_offset=$(sed -n "s/^${prefix}_${disk^^}_MEMBER_OFFSET_BYTES=//p" "$vm_dir/$set/set.env")
        if ((member_offset > 0)); then head_bytes=$((member_offset + (2 << 20))); else head_bytes=$((1 << 20)); fi
        head -c "$head_bytes" "$image" | gzip -9n >"$here/$set-$disk-head.bin.gz"
        tail -c $((2 << 20)) "$image" | gzip -9n >"$here/$set-$disk-tail.bin.gz"
    done
    grep -v '_DISK[0-9]*=' "$vm_dir/$set/set.env" >"$here/$set.env"
    gzip -9nc "$vm_dir/$set/build.log" >"$here/$set-build.log.gz"
    gzip -9nc "$vm_dir/$set/verify.log" >"$here/$set-verify.log.gz"
done
