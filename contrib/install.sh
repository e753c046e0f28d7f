#!/bin/sh
# Install mfad and start it for one profile:
#
#   contrib/install.sh PROFILE MFA_SERIAL
#
# Builds and installs the binary (cargo install into ~/.local/bin, or $MFAD_PREFIX/bin),
# adds [profile PROFILE] to your AWS config unless it is there, stores the profile's
# long-term access key in the OS secret store (asked on the terminal), then starts the
# daemon with a first session (asks for an MFA code, unless `mfad totp add` stored the
# device's secret). Set MFAD_BIN to use an mfad binary that is already built.
set -eu
usage="usage: contrib/install.sh PROFILE MFA_SERIAL"
profile=${1:?$usage}
serial=${2:?$usage}
source_dir=$(cd "$(dirname "$0")/.." && pwd)
prefix=${MFAD_PREFIX:-$HOME/.local}
if [ -z "${MFAD_BIN:-}" ]; then
  cargo install --locked --path "$source_dir" --root "$prefix"
  MFAD_BIN=$prefix/bin/mfad
fi

config=${AWS_CONFIG_FILE:-$HOME/.aws/config}
mkdir -p "$(dirname "$config")"
if grep -q "^\[profile $profile\]" "$config" 2>/dev/null; then
  echo "$config already has [profile $profile]; left as it is"
else
  printf '\n[profile %s]\nmfa_serial = %s\ncredential_process = %s process %s\n' \
    "$profile" "$serial" "$MFAD_BIN" "$profile" >>"$config"
  echo "added [profile $profile] to $config"
fi

"$MFAD_BIN" add "$profile"
"$MFAD_BIN" process "$profile" >/dev/null
"$MFAD_BIN" status
