#!/usr/bin/env bash
# Builds the two binaries the way they ship (the Dockerfile runs this; bench.sh measures
# what it leaves): `faultline` and `faultline-agent`, each one self-contained file in
# ${CARGO_TARGET_DIR:-target}/dist/.
#
# Two settings beyond `cargo build --release`, given to the binaries' own link only (the
# dependencies are the release build's, shared with it):
#
#   -C target-feature=+crt-static  a static-pie: glibc linked in, still position-independent
#       (ASLR as before). The binary runs on any x86_64 Linux without a matching libc, and
#       a run no longer maps libc, libm, libgcc_s and the loader: 2.2 MiB of their pages
#       were resident in every `faultline run` (issue 10, P7), of which the binary uses a
#       fraction. Host names still resolve: glibc >= 2.34 builds its `files` and `dns`
#       lookups into libc itself, so nothing is dlopen'ed for them (other NSS modules, such
#       as sss or mdns, are not available to a static binary). It cannot go in RUSTFLAGS:
#       without --target those reach proc-macros too, which cannot be static.
#   -C lto=fat  one module for the whole program: calls between crates become direct (a
#       thin-LTO build sends 141,000 of them through a 21,500-entry GOT the loader fills at
#       every start) and fewer pointers need relocating. Too slow for every bench and test
#       binary on two cores, so only here.
#
# The function order (build-support/order/faultline.txt) is profiled on this build
# (build-support/order/profile.sh), so the two must change together, and this script sees
# to it: after building it runs `profile.sh --check`, and when more than 1% of the file's
# names are gone from the new `faultline` (fat LTO renumbers its local names at almost any
# change of the code; a 3% loss cost P7 2.8 MiB of resident code) it re-profiles this
# build and links the binaries again with the new order: once per run, and the new file
# must then be fresh, or the script fails. The regenerated file is left in the work tree
# to be committed with the change that made it stale. A failed re-profiling is an error
# (exit 1; profile.sh writes the file only after every workload ran, so the old one is
# kept), never a silently stale build. The agent has no order file, nothing to check.
#
#   build-support/dist.sh   # about 4 minutes after a release build, 12 from nothing;
#                           # a re-profile adds about as much again: seconds under
#                           # callgrind, then both binaries link again
#   FAULTLINE_NO_REPROFILE=1 build-support/dist.sh
#                           # build only: the check still prints, nothing is re-profiled
#                           # (profile.sh sets it for the build it profiles)
set -euo pipefail
cd "$(dirname "$0")/.."
target=${CARGO_TARGET_DIR:-target}
mkdir -p "$target/dist"

build() { # BIN: builds it as it ships into $target/dist/BIN
    local bin=$1 headers
    echo "dist.sh: $bin (static-pie, fat LTO)" >&2
    cargo rustc --release --locked -q -p "$bin" --bin "$bin" -- \
        -C target-feature=+crt-static -C lto=fat
    # cargo rustc leaves it where `cargo build --release` would, which the next release or
    # bench build replaces: dist/ keeps this one.
    install -m 0755 "$target/release/$bin" "$target/dist/$bin"
    # A static-pie is position-independent (type DYN) and names no loader (no INTERP).
    headers=$(readelf -h -l "$target/dist/$bin")
    if ! grep -q 'Type: *DYN' <<<"$headers" || grep -q 'INTERP' <<<"$headers"; then
        echo "dist.sh: $target/dist/$bin is not a static-pie" >&2
        exit 1
    fi
}

check_order() { # prints profile.sh --check's line; returns its status (3: stale)
    local line status=0
    line=$(build-support/order/profile.sh --check) || status=$?
    echo "dist.sh: $line" >&2
    return "$status"
}

for bin in faultline faultline-agent; do
    build "$bin"
done

status=0
check_order || status=$?
case $status in
0) ;;
3)
    if [ "${FAULTLINE_NO_REPROFILE:-}" = 1 ]; then
        echo "dist.sh: FAULTLINE_NO_REPROFILE=1: not re-profiling here; $target/dist/faultline has the stale order" >&2
    else
        echo "dist.sh: re-profiling: the order file no longer names this build's functions, so" \
            "the code a run executes would be scattered again (build-support/order/profile.sh," \
            "then both binaries link again; FAULTLINE_NO_REPROFILE=1 skips it)" >&2
        started=$SECONDS
        before=$(sha256sum <"$target/dist/faultline")
        # FAULTLINE_NO_REPROFILE=1: profile.sh builds through this script, which must not
        # re-profile in turn. Its output goes to stderr: stdout is the build's (none).
        if ! FAULTLINE_NO_REPROFILE=1 build-support/order/profile.sh >&2; then
            echo "dist.sh: re-profiling failed (output above); build-support/order/faultline.txt" \
                "is stale. Fix it and rerun, or set FAULTLINE_NO_REPROFILE=1 to ship the stale order" >&2
            exit 1
        fi
        echo "dist.sh: re-profiled in $((SECONDS - started)) s; linking again with the new order" >&2
        # The build scripts watch build-support/order/ (pack_relocs.rs), so cargo relinks
        # `faultline` with the new file, and the agent too (its script watches the whole
        # folder, for a file of its own appearing): now rather than in the next build.
        for bin in faultline faultline-agent; do
            build "$bin"
        done
        if [ "$(sha256sum <"$target/dist/faultline")" = "$before" ]; then
            echo "dist.sh: faultline is the same binary after re-profiling: the new order did not reach its link" >&2
            exit 1
        fi
        # Profiled on this very build: anything short of fresh means the names move from
        # one link to the next, which another round would not fix.
        check_order || { echo "dist.sh: the order file is still stale after re-profiling" >&2; exit 1; }
        echo "dist.sh: build-support/order/faultline.txt regenerated: commit it with the change that made it stale" >&2
    fi
    ;;
*)
    echo "dist.sh: build-support/order/profile.sh --check failed (status $status)" >&2
    exit 1
    ;;
esac
ls -l "$target/dist/faultline" "$target/dist/faultline-agent" >&2
