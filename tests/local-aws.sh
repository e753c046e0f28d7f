# Sourced inside a private D-Bus session (dbus-run-session) with a throwaway HOME,
# XDG_RUNTIME_DIR, AWS_CONFIG_FILE and AWS_SHARED_CREDENTIALS_FILE, by the benchmarks
# (benches/harness.sh) and the package test (tests/package.sh): unlocks a gnome-keyring
# Secret Service on that bus and starts moto's server on a free port of 127.0.0.1 ($port,
# pid $moto); on exit, logs $MFAD out and stops its daemon and moto.

echo -n local | gnome-keyring-daemon --unlock --components=secrets >/dev/null
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 -m moto.server -p "$port" >/dev/null 2>&1 &
moto=$!
trap 'kill $moto 2>/dev/null; "$MFAD" logout --all >/dev/null 2>&1 || true; kill "$(cat "$XDG_RUNTIME_DIR/mfad/agent.sock.lock" 2>/dev/null)" 2>/dev/null || true' EXIT
until python3 -c "import socket; socket.create_connection(('127.0.0.1', $port))" 2>/dev/null; do sleep 0.1; done

# [profile dev]: an MFA session of [base]'s long-term key at moto (codes from
# mfa_process), handed out by $MFAD through credential_process.
write_dev_profile() {
  cat >"$AWS_CONFIG_FILE" <<CONFIG
[profile dev]
mfa_serial = arn:aws:iam::123456789012:mfa/alice
mfad_source_profile = base
mfa_process = date +%N | cut -c1-6
region = us-east-1
endpoint_url = http://127.0.0.1:$port
credential_process = $MFAD process dev
CONFIG
  printf '[base]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n' >"$AWS_SHARED_CREDENTIALS_FILE"
}
