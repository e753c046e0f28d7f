#!/bin/sh
# Install mfad and start it for one profile:
#
#   contrib/install.sh PROFILE MFA_SERIAL [TOTP_SECRET_FILE]
#
# Builds the binaries (contrib/build-release.sh: the front linked statically) and installs
# them into ~/.local/bin (or $MFAD_PREFIX/bin),
# then `mfad setup`: chooses the secret store first (with no Secret Service, it creates the
# encrypted file store, its passphrase asked twice), adds [profile PROFILE] to your AWS
# config unless it is there, and asks for the profile's access key and the MFA device's
# TOTP secret (read from TOTP_SECRET_FILE if given; Enter skips it, and mfad asks for
# codes instead), each only if it is not stored already. Then starts the daemon with a
# first session. Set MFAD_BIN to use an mfad binary that is already built.
set -eu
usage="usage: contrib/install.sh PROFILE MFA_SERIAL [TOTP_SECRET_FILE]"
profile=${1:?$usage}
serial=${2:?$usage}
totp_file=${3:-}
source_dir=$(cd "$(dirname "$0")/.." && pwd)
prefix=${MFAD_PREFIX:-$HOME/.local}
if [ -z "${MFAD_BIN:-}" ]; then
  "$source_dir/contrib/build-release.sh"
  install -d "$prefix/bin"
  install -m 0755 "$source_dir/target/release/mfad" "$source_dir/target/release/mfad-core" "$prefix/bin/"
  MFAD_BIN=$prefix/bin/mfad
fi

"$MFAD_BIN" setup "$profile" --serial "$serial" ${totp_file:+--totp-file "$totp_file"}
"$MFAD_BIN" process "$profile" >/dev/null
"$MFAD_BIN" status
