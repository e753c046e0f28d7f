#!/usr/bin/env bash
# The whole test suite. Installs what the tests need (Debian and Python packages; only
# what is missing, without prompts), then checks formatting and lints and runs every test,
# the system tests included (plain `cargo test` runs only the part that needs nothing
# but Rust and Python). Run as root: some tests act as another user or mount a file system.
set -euo pipefail
cd "$(dirname "$0")/.."

# awscli: the AWS CLI v2 the tests run; gnome-keyring + dbus: a Secret Service and
# notifications on a private bus; python3: the system Python the peer-uid test runs as
# another user (python3-venv: a venv for moto and boto3 when it is the python3 on PATH);
# zsh, fish: the shells `mfad env`, completions and prompt snippets are tried in; xvfb,
# zenity, xdotool: the desktop prompt; systemd: systemd-analyze and systemd-socket-activate;
# desktop-file-utils: the autostart entry's check; openssl, socat, tinyproxy: a test CA,
# a TLS front and a proxy between mfad and the STS double; faketime: a daemon whose clock
# jumps; python3-fusepy: a file system that hangs; e2fsprogs (chattr): a read-only
# directory even for root; util-linux (setpriv): another local user posing as the daemon;
# chromium: a real browser that follows the Identity Center sign-in to mfad's callback page;
# groff-base: the man pages rendered without warnings; binutils (readelf), libc6-dev: the
# package's front linked statically, and checked to be.
apt_packages=(awscli gnome-keyring dbus python3 python3-venv zsh fish xvfb zenity xdotool systemd desktop-file-utils openssl socat tinyproxy faketime python3-fusepy e2fsprogs util-linux chromium groff-base binutils libc6-dev)
missing=()
for package in "${apt_packages[@]}"; do
  grep -q "install ok installed" <<<"$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null)" ||
    missing+=("$package")
done
if ((${#missing[@]})); then
  echo "tests/run.sh: installing Debian packages: ${missing[*]}"
  as_root=()
  [ "$(id -u)" -eq 0 ] || as_root=(sudo)
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# boto3 (with awscrt, which botocore's `aws login` provider signs its DPoP proofs with) and
# moto's STS server, for the python3 the tests run (the first on PATH). A Debian
# python3 is externally managed (PEP 668), and upgrading its packages breaks the Debian AWS
# CLI that runs on it: there they go into a venv in target/test-tools, which then comes
# first on PATH (the AWS CLI keeps /usr/bin/python3).
venv=target/test-tools/python
if [ -x "$venv/bin/python3" ]; then
  export PATH="$PWD/$venv/bin:$PATH"
fi
if ! python3 -c 'import boto3, moto.server, awscrt' 2>/dev/null; then
  echo "tests/run.sh: installing Python packages: moto[server] boto3 awscrt"
  if python3 -c 'import os, sys, sysconfig
sys.exit(not os.path.exists(os.path.join(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED")))'; then
    python3 -m venv "$venv"
    export PATH="$PWD/$venv/bin:$PATH"
  fi
  python3 -m pip install --quiet --disable-pip-version-check 'moto[server]' boto3 awscrt
fi

# starship, to try the prompt module in contrib/: built from crates.io once (5 minutes).
tools=target/test-tools
if ! "$tools/bin/starship" --version >/dev/null 2>&1; then
  echo "tests/run.sh: building starship for the prompt-module test"
  cargo install --quiet --locked starship --version 1.27.0 --root "$tools"
fi
export PATH="$PWD/$tools/bin:$PATH"

cargo fmt --all -- --check
cargo clippy --locked --all-targets --all-features -- -D warnings
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --locked --profile ci --features system-tests
else
  cargo test --locked --features system-tests
fi

# The crate as it would be published (its deliberate file list), built from that list.
cargo package --locked --quiet
# The Debian package: built from a release build, installed with dpkg, tried from the
# installed files and removed (dpkg needs root).
if [ "$(id -u)" -eq 0 ]; then
  tests/package.sh
else
  echo "tests/run.sh: tests/package.sh installs a package and needs root; run it as root" >&2
  exit 1
fi
