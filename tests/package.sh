#!/usr/bin/env bash
# The Debian package: built (contrib/deb/build.sh), installed with dpkg, tried from the
# installed files only, then removed. A profile is served through the AWS CLI by
# /usr/bin/mfad (moto's STS on 127.0.0.1, a private D-Bus session with gnome-keyring); the
# systemd user units verify; the man pages, completions and units are where the system
# looks for them. Run by tests/run.sh after the suite, as root.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${MFAD_PACKAGE_INSIDE:-}" ]; then
  deb=$(contrib/deb/build.sh)
  echo "tests/package.sh: $deb ($(stat -c %s "$deb") bytes)"
  dpkg -i "$deb" >/dev/null
  work=$(mktemp -d)
  trap 'dpkg -r mfad >/dev/null; rm -rf "$work"' EXIT
  mkdir -p "$work/home/.aws" "$work/run"
  chmod 700 "$work/run"
  env -i PATH="$PATH" LANG=C.UTF-8 MFAD_PACKAGE_INSIDE=1 HOME="$work/home" \
    XDG_RUNTIME_DIR="$work/run" AWS_EC2_METADATA_DISABLED=true \
    AWS_CONFIG_FILE="$work/home/.aws/config" AWS_SHARED_CREDENTIALS_FILE="$work/home/.aws/credentials" \
    dbus-run-session -- "$0" 2> >(grep -v "Failed to set fd limit" >&2)
  echo "tests/package.sh: the installed package works"
  exit
fi

fail() { echo "tests/package.sh: $*" >&2; exit 1; }

for file in /usr/bin/mfad /usr/bin/mfad-core /usr/share/man/man1/mfad.1.gz \
  /usr/share/man/man1/mfad-process.1.gz /usr/share/bash-completion/completions/mfad \
  /usr/share/zsh/vendor-completions/_mfad /usr/share/fish/vendor_completions.d/mfad.fish \
  /usr/lib/systemd/user/mfad.socket /usr/lib/systemd/user/mfad.service; do
  dpkg -S "$file" >/dev/null 2>&1 || fail "$file is not in the package"
done
grep -q '^mfad ' <<<"$(/usr/bin/mfad --version)" || fail "mfad --version"
# The front starts without the dynamic loader (contrib/build-release.sh), and still at a
# random address.
grep -q 'program interpreter' <<<"$(readelf -l /usr/bin/mfad)" && fail "the front is linked dynamically"
grep -q 'DYN (' <<<"$(readelf -h /usr/bin/mfad)" || fail "the front is not position-independent"
systemd-analyze verify --user --man=no /usr/lib/systemd/user/mfad.socket \
  /usr/lib/systemd/user/mfad.service || fail "the systemd user units do not verify"
grep -q '^ExecStart=/usr/bin/mfad daemon$' /usr/lib/systemd/user/mfad.service ||
  fail "mfad.service does not start /usr/bin/mfad"
bash -c 'source /usr/share/bash-completion/completions/mfad && complete -p mfad' >/dev/null ||
  fail "the bash completion does not load"

MFAD=/usr/bin/mfad
source tests/local-aws.sh
write_dev_profile
identity=$(/usr/bin/aws sts get-caller-identity --profile dev --endpoint-url "http://127.0.0.1:$port" --output text --query Arn) ||
  fail "the AWS CLI could not use the profile served by the installed mfad"
[ -n "$identity" ] || fail "no identity"
[ "$(readlink "/proc/$(cat "$XDG_RUNTIME_DIR/mfad/agent.sock.lock")/exe")" = /usr/bin/mfad-core ] ||
  fail "the daemon is not the installed mfad-core"
grep -q 'dev' <<<"$(/usr/bin/mfad status)" || fail "mfad status does not show the session"
