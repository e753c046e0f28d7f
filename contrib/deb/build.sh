#!/usr/bin/env bash
# Build mfad's Debian package from a release build and print its path:
# target/deb/mfad_VERSION_ARCH.deb, with
#   /usr/bin/mfad and /usr/bin/mfad-core      the front and the whole program
#   /usr/share/man/man1/mfad*.1.gz            the man pages of man/
#   bash, zsh and fish completions            from `mfad completions SHELL`
#   /usr/lib/systemd/user/mfad.{socket,service}  the user units, socket-activated
#                                             (`systemctl --user enable --now mfad.socket`)
# Needs: cargo, dpkg-deb, gzip.
set -euo pipefail
cd "$(dirname "$0")/../.."
contrib/build-release.sh
version=$(awk -F'"' '/^version = / { print $2; exit }' Cargo.toml)
arch=$(dpkg --print-architecture)
root=target/deb/root
rm -rf "$root"
install -d "$root/DEBIAN" "$root/usr/bin" "$root/usr/share/man/man1" \
  "$root/usr/share/bash-completion/completions" "$root/usr/share/zsh/vendor-completions" \
  "$root/usr/share/fish/vendor_completions.d" "$root/usr/lib/systemd/user" \
  "$root/usr/share/doc/mfad"
install -m 0755 target/release/mfad target/release/mfad-core "$root/usr/bin/"
for page in man/*.1; do
  gzip -9n <"$page" >"$root/usr/share/man/man1/$(basename "$page").gz"
done
target/release/mfad completions bash >"$root/usr/share/bash-completion/completions/mfad"
target/release/mfad completions zsh >"$root/usr/share/zsh/vendor-completions/_mfad"
target/release/mfad completions fish >"$root/usr/share/fish/vendor_completions.d/mfad.fish"
sed 's|%h/.local/bin/mfad|/usr/bin/mfad|' contrib/systemd/mfad.service >"$root/usr/lib/systemd/user/mfad.service"
install -m 0644 contrib/systemd/mfad.socket "$root/usr/lib/systemd/user/"
gzip -9n <README.md >"$root/usr/share/doc/mfad/README.md.gz"
cat >"$root/usr/share/doc/mfad/copyright" <<COPYRIGHT
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: mfad
License: MIT OR Apache-2.0
COPYRIGHT
find "$root/usr" -type f -exec chmod go-w {} +
size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
cat >"$root/DEBIAN/control" <<CONTROL
Package: mfad
Version: $version
Architecture: $arch
Maintainer: mfad developers <mfad@users.noreply.github.com>
Installed-Size: $size
Depends: libc6 (>= 2.34), libgcc-s1
Recommends: gnome-keyring | keepassxc
Suggests: awscli, pinentry-curses
Section: utils
Priority: optional
Homepage: https://github.com/mfad/mfad
Description: MFA-aware AWS credential helper daemon
 mfad is a credential_process helper for the AWS CLI and SDKs: a daemon caches
 sts:GetSessionToken and IAM Identity Center sessions, asks for (or derives) the
 MFA code once for all concurrent callers, renews ahead of expiry and keeps
 long-term keys in the Secret Service or an encrypted file, never in plaintext.
CONTROL
deb="target/deb/mfad_${version}_${arch}.deb"
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
echo "$deb"
