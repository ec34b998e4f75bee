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
# (build-support/order/profile.sh), so the two must change together.
#
#   build-support/dist.sh   # about 4 minutes after a release build, 12 from nothing
set -euo pipefail
cd "$(dirname "$0")/.."
target=${CARGO_TARGET_DIR:-target}
mkdir -p "$target/dist"
for bin in faultline faultline-agent; do
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
done
ls -l "$target/dist/faultline" "$target/dist/faultline-agent" >&2
