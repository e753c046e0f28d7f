# Sourced by the benchmark scripts. First pass: build mfad in release mode (unless BINARY
# names a build to measure instead) and run the
# calling script again inside a private D-Bus session with a throwaway home (MFAD, WORK,
# HOME, XDG_*, AWS_* set). Second pass: tests/local-aws.sh (gnome-keyring unlocked, moto
# on $port, write_dev_profile; on exit, logs out, stops the daemon and moto).

if [ -z "${MFAD_BENCH_INSIDE:-}" ]; then
  cd "$(dirname "$0")/.."
  # BINARY (an older build) is measured instead: then this one need not be built.
  [ -n "${BINARY:-}" ] || contrib/build-release.sh
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  mkdir -p "$work/home/.aws" "$work/run"
  chmod 700 "$work/run"
  MFAD_BENCH_INSIDE=1 MFAD="$PWD/target/release/mfad" WORK="$work" \
    HOME="$work/home" XDG_RUNTIME_DIR="$work/run" XDG_DATA_HOME="$work/home/.local/share" \
    AWS_CONFIG_FILE="$work/home/.aws/config" AWS_SHARED_CREDENTIALS_FILE="$work/home/.aws/credentials" \
    AWS_EC2_METADATA_DISABLED=true \
    dbus-run-session -- "$0" "$@" 2> >(grep -v "Failed to set fd limit" >&2)
  exit
fi

source "$(dirname "$0")/../tests/local-aws.sh"
