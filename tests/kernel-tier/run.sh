#!/usr/bin/env bash
# Kernel tier: prove faultline's netem faults on a stock distro kernel that ships sch_netem
# (the development machines' kernel has none). Boots Debian's cloud kernel in QEMU with a
# busybox initramfs that holds the faultline-agent binary and vm-init.sh, which drives the
# agent over its HTTP API and prints `KT-RESULT name PASS|FAIL|SKIP detail` lines on the
# serial console. This script collects them, prints a summary and exits non-zero on any
# failure or when no result came back. Run from anywhere, as root. See README.md.
#
# Environment:
#   FAULTLINE_CACHE       cache root (default ~/.cache/faultline); the kernel .deb and its
#                         extracted tree live under kernel-tier/ there and are reused
#   FAULTLINE_KT_PROFILE  cargo profile for the agent: debug (default: shares the unit
#                         tier's dependency builds; stripped, it is small) or release
#   FAULTLINE_KT_TIMEOUT  seconds the guest may run (default 300)
#   FAULTLINE_KT_ACCEL    tcg (default; guest time counts instructions), tcg-realtime (guest
#                         time is host time, as before) or kvm (only where /dev/kvm works)
#   FAULTLINE_KT_ICOUNT   QEMU's -icount value under tcg (default shift=2,sleep=off)
#   FAULTLINE_KT_APPEND   more guest kernel parameters (e.g. to compare timer settings)
#   FAULTLINE_KT_KEEP     set to 1 to keep the build dir (initramfs, console log)
#   CARGO_TARGET_DIR      honoured as usual (default: target/ in the repository)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
cache=${FAULTLINE_CACHE:-$HOME/.cache/faultline}/kernel-tier
profile=${FAULTLINE_KT_PROFILE:-debug}
guest_timeout=${FAULTLINE_KT_TIMEOUT:-300}
t_start=$SECONDS

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'kernel tier: error: %s\n' "$*" >&2; exit 2; }

[ "$(id -u)" -eq 0 ] || die "must run as root (installs packages, builds an initramfs with device-owned files)"
[ "$(uname -m)" = x86_64 ] || die "only x86_64 hosts are supported (the guest kernel is amd64)"

# --- 1. packages (idempotent) ---------------------------------------------------------
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'ok installed'; }
need=()
for p in qemu-system-x86 busybox-static cpio kmod iproute2; do installed "$p" || need+=("$p"); done
if [ ${#need[@]} -gt 0 ]; then
    say "installing ${need[*]}"
    apt_get() { DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 "$@"; }
    apt_get install -y -q --no-install-recommends "${need[@]}" >/dev/null ||
        { apt_get update -q >/dev/null && apt_get install -y -q --no-install-recommends "${need[@]}" >/dev/null; } ||
        die "apt-get install ${need[*]} failed"
fi

# --- 2. kernel: the package linux-image-cloud-amd64 depends on, cached ------------------
mkdir -p "$cache"
# Two runs at once (other worktrees, CI jobs) share the cache: one downloads and extracts.
exec 9>"$cache/.lock"
flock 9
pkg=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null | awk '/Depends: linux-image-/ { print $2; exit }' || true)
if [ -z "$pkg" ]; then
    apt-get update -q >/dev/null 2>&1 || true
    pkg=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null | awk '/Depends: linux-image-/ { print $2; exit }' || true)
fi
if [ -z "$pkg" ]; then
    # No package lists (offline): fall back to the newest cached kernel.
    deb=$(ls -1 "$cache"/linux-image-*-cloud-amd64_*.deb 2>/dev/null | sort -V | tail -n 1 || true)
    [ -n "$deb" ] || die "cannot resolve linux-image-cloud-amd64 (apt-get update?) and no kernel is cached in $cache"
    pkg=$(basename "$deb" | cut -d_ -f1)
fi
deb=$(ls -1 "$cache/${pkg}"_*.deb 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$deb" ]; then
    say "downloading $pkg into $cache"
    # apt warns that the _apt user cannot write $cache and downloads as root: harmless.
    (cd "$cache" && apt-get download "$pkg" 2>&1 | grep -v '^W: Download is performed unsandboxed' >&2) ||
        die "apt-get download $pkg failed"
    deb=$(ls -1 "$cache/${pkg}"_*.deb | sort -V | tail -n 1)
fi
kroot=$cache/${pkg}
if [ ! -e "$kroot/.ready" ]; then
    say "extracting $(basename "$deb")"
    rm -rf "$kroot" && mkdir -p "$kroot"
    dpkg-deb -x "$deb" "$kroot"
    kv=$(ls "$kroot/lib/modules")
    # The .deb has no modules.dep (its postinst makes it): make one to learn dependencies.
    depmod -b "$kroot" "$kv"
    touch "$kroot/.ready"
fi
flock -u 9
kv=$(ls "$kroot/lib/modules")
vmlinuz=$kroot/boot/vmlinuz-$kv
[ -f "$vmlinuz" ] || die "no $vmlinuz in $deb"

# --- 3. the agent ---------------------------------------------------------------------
target_dir=${CARGO_TARGET_DIR:-$repo/target}
case "$profile" in
    release) cargo_profile=(--release); out=release ;;
    debug) cargo_profile=(); out=debug ;;
    *) die "FAULTLINE_KT_PROFILE must be release or debug, not $profile" ;;
esac
say "building faultline-agent and faultline ($profile)"
t_build=$SECONDS
(cd "$repo" && CARGO_TARGET_DIR=$target_dir cargo build -q "${cargo_profile[@]}" -p faultline-agent -p faultline) ||
    die "cargo build -p faultline-agent -p faultline failed"
agent=$target_dir/$out/faultline-agent
[ -x "$agent" ] || die "no agent binary at $agent"
# `faultline run`, for the watchdog check (kill -9 of a run mid-netem).
faultline=$target_dir/$out/faultline
[ -x "$faultline" ] || die "no faultline binary at $faultline"
build_secs=$((SECONDS - t_build))

# --- 4. initramfs ---------------------------------------------------------------------
work=$(mktemp -d /tmp/faultline-kt.XXXXXX)
cleanup() { if [ "${FAULTLINE_KT_KEEP:-0}" = 1 ]; then say "kept $work"; else rm -rf "$work"; fi; }
trap cleanup EXIT
root=$work/root
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,run,tmp,var,etc,kt} "$root/lib/modules/$kv"
say "building the initramfs for $kv"

cp /bin/busybox "$root/bin/busybox"
for applet in $("$root/bin/busybox" --list); do
    [ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
done
# The kernel's usermode helper path for module autoloading (switched on only for nftables).
ln -s ../bin/busybox "$root/sbin/modprobe"

# A binary plus the shared libraries and loader `ldd` lists for it, at the same paths.
copy_with_libs() {
    local bin=$1 dest=$2 lib
    cp "$bin" "$root$dest"
    for lib in $(ldd "$bin" | grep -o '/[^ ]*'); do
        [ -e "$root$lib" ] || { mkdir -p "$root$(dirname "$lib")" && cp -L "$lib" "$root$lib"; }
    done
}
copy_with_libs /usr/sbin/ip /usr/sbin/ip
copy_with_libs /usr/sbin/tc /usr/sbin/tc
# nft only checks the partition fault's tables; without it that check is skipped.
if [ -x /usr/sbin/nft ]; then copy_with_libs /usr/sbin/nft /usr/sbin/nft; fi
copy_with_libs "$agent" /usr/bin/faultline-agent
copy_with_libs "$faultline" /usr/bin/faultline
# Debug info is most of a debug build's size and of no use in the guest.
strip "$root/usr/bin/faultline-agent" "$root/usr/bin/faultline" 2>/dev/null || true

# Modules: the qdiscs and their classifiers/actions, veth and ifb, nf_tables and its
# expressions, loop (ioThrottle's device, when not built in), plus whatever they depend on (modules.dep lists dependencies transitively).
# Compressed modules (.ko.xz/.ko.zst/.ko.gz, Debian kernels from trixie on) are unpacked
# here so the agent's finit_module gets a plain ELF module on any kernel, including one
# built without CONFIG_MODULE_DECOMPRESS.
mods=$kroot/lib/modules/$kv
wanted=$(cd "$mods" && find kernel/net/sched kernel/drivers/net/veth.ko* kernel/drivers/net/ifb.ko* \
    kernel/drivers/block/loop.ko* \
    kernel/net/netfilter/nf_tables.ko* kernel/net/netfilter/nft_*.ko* \
    kernel/net/ipv4/netfilter/nft_*.ko* kernel/net/ipv6/netfilter/nft_*.ko* -name '*.ko*' 2>/dev/null)
needed=$(for m in $wanted; do
    echo "$m"
    awk -v m="$m:" '$1 == m { for (i = 2; i <= NF; i++) print $i }' "$mods/modules.dep"
done | sort -u)
for m in $needed; do
    src=$mods/$m plain=$root/lib/modules/$kv/${m%.ko*}.ko
    mkdir -p "$(dirname "$plain")"
    case "$m" in
        *.ko) cp "$src" "$plain" ;;
        *.ko.xz) xz -dc "$src" > "$plain" ;;
        *.ko.zst) zstd -qdc "$src" > "$plain" ;;
        *.ko.gz) gzip -dc "$src" > "$plain" ;;
        *) die "unknown module format: $m" ;;
    esac
done
for f in modules.order modules.builtin modules.builtin.modinfo; do
    [ -f "$mods/$f" ] && sed 's/\.ko\.\(xz\|zst\|gz\)$/.ko/' "$mods/$f" > "$root/lib/modules/$kv/$f" || true
done
depmod -b "$root" "$kv"
grep -q 'sch_netem.ko:' "$root/lib/modules/$kv/modules.dep" || die "the guest kernel $kv has no sch_netem module"

install -m 0755 "$here/vm-init.sh" "$root/init"
printf '#!/bin/sh\n# Logs and refuses the kernel'"'"'s module autoload requests.\necho "$*" >> /tmp/modprobe-requests\nexit 1\n' \
    > "$root/kt/modprobe-refuse"
chmod 0755 "$root/kt/modprobe-refuse"
head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$root/kt/token"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) > "$work/initrd.gz"
say "initramfs $(du -h "$work/initrd.gz" | cut -f1), $(echo "$needed" | wc -w) modules"

# --- 5. boot --------------------------------------------------------------------------
# TCG by default: a /dev/kvm that exists can still fail (nested virtualisation here stops
# the guest with "KVM internal error ... emulation failure"), and TCG boots in seconds.
#
# Under TCG the guest's clock counts instructions: 4 ns each (-icount shift=2), and an idle
# guest jumps to its next timer (sleep=off). In real time an emulated timer interrupt,
# leaving idle or a restarted tick costs 0.3-0.8 ms of emulated MMIO, and that landed on
# every packet netem releases: a 10 ms delay measured 10.3-10.8 ms, and still 9.97-10.64
# with idle=poll nohz=off. On hardware these cost microseconds. Counted instructions keep
# the emulator's cost and the host's load out of the guest's time, as on a real node: the
# floor rose 10.010-10.015 ms with three busy loops on the host's two cores. A fixed shift,
# not shift=auto: auto re-ties guest time to host time, and on a loaded CI host that moved
# the baseline floor from 0.04 to 0.32 ms. FAULTLINE_KT_ICOUNT overrides the -icount value.
# tcg-realtime is the old mode (guest time = host time, polling idle), for comparison.
case "${FAULTLINE_KT_ACCEL:-tcg}" in
    tcg) accel=(-accel tcg -icount "${FAULTLINE_KT_ICOUNT:-shift=2,sleep=off}") guest_args="" ;;
    tcg-realtime) accel=(-accel tcg) guest_args="idle=poll nohz=off" ;;
    kvm) accel=(-accel kvm -cpu host) guest_args="" ;;
    *) die "FAULTLINE_KT_ACCEL must be tcg, tcg-realtime or kvm" ;;
esac
say "booting $kv (${FAULTLINE_KT_ACCEL:-tcg}: ${accel[*]}, timeout ${guest_timeout}s)"
console=$work/console.log
t_boot=$SECONDS
set +e
timeout "$guest_timeout" qemu-system-x86_64 "${accel[@]}" -m 512 -smp 1 -nographic -no-reboot \
    -kernel "$vmlinuz" -initrd "$work/initrd.gz" \
    -append "console=ttyS0 quiet panic=-1 $guest_args ${FAULTLINE_KT_APPEND:-}" </dev/null >"$console" 2>&1
qemu_rc=$?
set -e
guest_secs=$((SECONDS - t_boot))

# --- 6. results -----------------------------------------------------------------------
clean=$work/console.txt
sed 's/\x1b\[[0-9;?]*[A-Za-z]//g; s/\x1b[()][A-Za-z0-9]//g; s/\r//g' "$console" > "$clean"
boot_at=$(grep -o 'KT-LOG kernel .*boot took [0-9.]* s' "$clean" | grep -o '[0-9.]* s$' || true)
grep -o 'KT-LOG .*' "$clean" | sed 's/^KT-LOG /   /' >&2 || true
results=$(grep -o 'KT-RESULT .*' "$clean" || true)
pass=0 fail=0 skip=0
while read -r _ name verdict detail; do
    [ -n "${name:-}" ] || continue
    printf 'KT-RESULT %-14s %-4s %s\n' "$name" "$verdict" "$detail"
    case "$verdict" in PASS) pass=$((pass + 1)) ;; SKIP) skip=$((skip + 1)) ;; *) fail=$((fail + 1)) ;; esac
done <<<"$results"
done_marker=yes
grep -q 'KT-DONE' "$clean" || done_marker=no
if [ "$done_marker" = no ]; then
    echo "guest did not finish (qemu exit $qemu_rc after ${guest_secs}s; 124 means timeout)"
    fail=$((fail + 1))
fi
if [ "$fail" -gt 0 ] || [ "$pass" -eq 0 ]; then
    grep 'KT-AGENT-LOG' "$clean" | sed 's/^KT-AGENT-LOG /   agent: /' || true
    # Result markers are filtered out here: they were printed above, once (test.sh counts them).
    echo "--- last 50 console lines ---"
    grep -v 'KT-RESULT\|KT-AGENT-LOG' "$clean" | tail -n 50
fi
echo "kernel tier: $pass passed, $fail failed, $skip skipped" \
    "(kernel $kv; guest ${guest_secs}s, boot to init ${boot_at:-?}; agent build ${build_secs}s; total $((SECONDS - t_start))s)"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
