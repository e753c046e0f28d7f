#!/usr/bin/env bash
# The whole test suite. Installs what the tests need (Debian and Python packages; only
# what is missing, without prompts), then checks formatting and lints and runs every test.
# Run as root, or as a user with sudo when a package is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

# awscli: the AWS CLI v2 the tests run; gnome-keyring + dbus: a Secret Service and
# notifications on a private bus; python3: the system Python the peer-uid test runs as
# another user; zsh, fish: the shells `mfad env`, completions and prompt snippets are
# tried in; xvfb, zenity, xdotool: the desktop prompt; systemd: systemd-analyze and
# systemd-socket-activate; desktop-file-utils: the autostart entry's check.
apt_packages=(awscli gnome-keyring dbus python3 zsh fish xvfb zenity xdotool systemd desktop-file-utils openssl socat tinyproxy)
missing=()
for package in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
    missing+=("$package")
done
if ((${#missing[@]})); then
  echo "tests/run.sh: installing Debian packages: ${missing[*]}"
  as_root=()
  [ "$(id -u)" -eq 0 ] || as_root=(sudo)
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# boto3 and moto's STS server, in the python3 found first on PATH (the one tests run).
if ! python3 -c 'import boto3, moto.server' 2>/dev/null; then
  echo "tests/run.sh: installing Python packages: moto[server] boto3"
  python3 -m pip install --quiet --disable-pip-version-check 'moto[server]' boto3
fi

# starship, to try the prompt module in contrib/: built from crates.io once (5 minutes).
tools=target/test-tools
if ! "$tools/bin/starship" --version >/dev/null 2>&1; then
  echo "tests/run.sh: building starship for the prompt-module test"
  cargo install --quiet --locked starship --version 1.27.0 --root "$tools"
fi
export PATH="$PWD/$tools/bin:$PATH"

cargo fmt --all -- --check
cargo clippy --locked --all-targets -- -D warnings
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --locked --profile ci
else
  cargo test --locked
fi
