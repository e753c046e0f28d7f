#!/usr/bin/env bash
# The daemon's resident memory (VmRSS, VmHWM and the anonymous/file split from
# /proc/PID/status): idle with one session, with 100 sessions, and after 1000 concurrent
# callers of a cached profile. BINARY measures another build (an older mfad) instead of
# this one: run the script once per build, so that neither finds the other's saved
# sessions or used codes (each run has a fresh home, keyring and STS).
# Needs: gnome-keyring, dbus, moto[server], python3.
set -euo pipefail

source "$(dirname "$0")/harness.sh"

BINARY=${BINARY:-$MFAD}

{
  printf '[profile dev]\nmfa_serial = arn:aws:iam::123456789012:mfa/alice\nmfad_source_profile = base\nmfa_process = date +%%N | cut -c1-6\nregion = us-east-1\nendpoint_url = http://127.0.0.1:%s\n' "$port"
  for i in $(seq 1 99); do
    printf '[profile p%s]\nmfa_serial = arn:aws:iam::123456789012:mfa/user%s\nmfad_source_profile = base\nmfa_process = date +%%N | cut -c2-7\nregion = us-east-1\nendpoint_url = http://127.0.0.1:%s\n' "$i" "$i" "$port"
  done
} >"$AWS_CONFIG_FILE"
printf '[base]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = s\n' >"$AWS_SHARED_CREDENTIALS_FILE"

# One build's daemon, measured at each stage; prints a table row per stage.
measure() {
  local name=$1 binary=$2 socket=$WORK/$3.sock
  local -a run=(env MFAD_SOCKET="$socket" "$binary")
  "${run[@]}" process dev >/dev/null
  local pid
  pid=$(cat "$socket.lock")
  # The readings with sessions are taken once the daemon has settled: restored, logged
  # and (since issue 19) handed back, 5 s after its last connection, the pages its start
  # and renewals used. VmHWM keeps the peak of the work before.
  sleep 8
  row() { awk -v name="$name" -v stage="$1" '/^(VmRSS|VmHWM|RssAnon|RssFile)/ {v[$1]=$2} END {printf "| %s | %s | %d | %d | %d | %d |\n", name, stage, v["VmRSS:"], v["VmHWM:"], v["RssAnon:"], v["RssFile:"]}' "/proc/$pid/status"; }
  row "idle, 1 session"
  for i in $(seq 1 99); do "${run[@]}" process "p$i" >/dev/null; done
  sleep 8
  row "100 sessions"
  python3 - "$binary" "$socket" <<'PY'
import os, subprocess, sys
binary, socket = sys.argv[1:]
env = dict(os.environ, MFAD_SOCKET=socket)
callers = [subprocess.Popen([binary, "process", "dev"], env=env, stdout=subprocess.DEVNULL) for _ in range(1000)]
failed = sum(1 for c in callers if c.wait() != 0)
assert failed == 0, f"{failed} callers failed"
PY
  sleep 1
  row "after 1000 concurrent callers"
  kill "$pid"
}

echo "binary: $BINARY"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "| build | daemon | VmRSS KiB | VmHWM KiB | RssAnon KiB | RssFile KiB |"
echo "|---|---|---:|---:|---:|---:|"
measure "$BINARY" "$BINARY" daemon
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
