#!/usr/bin/env bash
# The release build of both binaries, into target/release: mfad-core as cargo builds it,
# and on Linux with glibc the front, `mfad`, linked statically (static-pie, so still
# placed at a random address): it then starts without the dynamic loader and without
# loading libc and libgcc_s, which was a third of a cached `mfad process` (BENCHMARKS.md).
# The front calls nothing of glibc that loads code at run time (no user or host lookups).
# Used by contrib/install.sh, contrib/deb/build.sh and the benchmarks.
# Needs: cargo, and for the static front glibc's static libraries (libc6-dev).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked --quiet
# glibc is asked with getconf, not `ldd --version | grep -q`: under pipefail that pipe fails
# whenever grep exits before ldd has written its last line (SIGPIPE, one run in ten).
if [ "$(uname -s)" = Linux ] && getconf GNU_LIBC_VERSION >/dev/null 2>&1; then
  # Only the front's own link gets the flag (cargo rustc passes it to the final crate).
  # Run last: a later `cargo build --release` links the front dynamically again.
  cargo rustc --release --locked --quiet --bin mfad -- -C target-feature=+crt-static
fi
