#!/usr/bin/env bash
# The figures of BENCHMARKS.md, measured in one run on this machine:
#   - a cached `mfad process` and `mfad prompt` next to /bin/true, the AWS CLI v2's
#     `aws configure export-credentials` on a cached MFA role profile, and PyPI's
#     aws-credential-process on its cached MFA session (medians, hyperfine);
#   - the time from a renewal to the updated profile on disk (mfad_write_profile);
#   - the daemon's resident memory idle and with 100 sessions.
# Needs: hyperfine, awscli (Debian, v2), gnome-keyring, dbus, moto[server], and
# aws-credential-process at $ACP (default /opt/acp-venv/bin/aws-credential-process; see
# BENCHMARKS.md for how it was installed). Everything runs on 127.0.0.1 in a private
# D-Bus session with a throwaway home.
set -euo pipefail

source "$(dirname "$0")/harness.sh"

ACP=${ACP:-/opt/acp-venv/bin/aws-credential-process}
# BASELINE=/path/to/an/older/mfad BASELINE_NAME=label: also time that build, side by side.
BASELINE_NAME=${BASELINE_NAME:-baseline}
RUNS=${RUNS:-300}
SLOW_RUNS=${SLOW_RUNS:-30}
SERIAL=arn:aws:iam::123456789012:mfa/alice
KEY_ID=AKIAIOSFODNN7EXAMPLE
SECRET=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY

cat >"$AWS_CONFIG_FILE" <<CONFIG
[profile dev]
mfa_serial = $SERIAL
mfad_source_profile = base
mfa_process = date +%N | cut -c1-6
region = us-east-1
endpoint_url = http://127.0.0.1:$port
credential_process = $MFAD process dev

[profile written]
mfa_serial = arn:aws:iam::123456789012:mfa/writer
mfad_source_profile = base
mfa_process = date +%N | cut -c1-6
mfad_write_profile = written-mfa
region = us-east-1
endpoint_url = http://127.0.0.1:$port

[profile role]
role_arn = arn:aws:iam::123456789012:role/bench
source_profile = base
mfa_serial = $SERIAL
role_session_name = bench
region = us-east-1
CONFIG
printf '[base]\naws_access_key_id = %s\naws_secret_access_key = %s\n' "$KEY_ID" "$SECRET" >"$AWS_SHARED_CREDENTIALS_FILE"

# Seed each tool's cache with a session that lasts 12 h, as after a first MFA prompt.
expires=$(date -u -d '+12 hours' +%Y-%m-%dT%H:%M:%SZ)
"$MFAD" process dev >/dev/null
python3 - "$expires" <<'PY'
# The AWS CLI's assume-role cache: ~/.aws/cli/cache/<sha1 of the AssumeRole arguments>.json
import hashlib, json, os, sys
args = {"RoleArn": "arn:aws:iam::123456789012:role/bench", "RoleSessionName": "bench",
        "SerialNumber": "arn:aws:iam::123456789012:mfa/alice"}
key = hashlib.sha1(json.dumps(args, sort_keys=True).encode()).hexdigest()
cache = os.path.expanduser("~/.aws/cli/cache")
os.makedirs(cache, exist_ok=True)
with open(os.path.join(cache, key + ".json"), "w") as f:
    json.dump({"Credentials": {"AccessKeyId": "ASIACLICACHED", "SecretAccessKey": "s",
               "SessionToken": "t", "Expiration": sys.argv[1]}}, f)
PY
"$(dirname "$ACP")/python" - "$KEY_ID" "$SECRET" <<'PY'
# aws-credential-process keeps its long-term key and MFA session in the keyring.
import datetime, sys, keyring, aws_credential_process as acp
key_id, secret = sys.argv[1:]
keyring.set_password("aws_credential_process", key_id, secret)
acp.AWSCredSession.load_from_credentials({"AccessKeyId": "ASIAACPCACHED", "SecretAccessKey": "s",
    "SessionToken": "t",
    "Expiration": (datetime.datetime.now(datetime.timezone.utc)
        + datetime.timedelta(hours=12)).replace(microsecond=0)},
    key_id + "-mfa-session")
PY

cli_check=$(/usr/bin/aws configure export-credentials --profile role </dev/null)
case "$cli_check" in *ASIACLICACHED*) ;; *) echo "the AWS CLI did not use its cache: $cli_check" >&2; exit 1 ;; esac
acp_check=$("$ACP" --access-key-id "$KEY_ID" --mfa-serial-number "$SERIAL")
case "$acp_check" in *ASIAACPCACHED*) ;; *) echo "aws-credential-process did not use its cache: $acp_check" >&2; exit 1 ;; esac

json=$WORK/hyperfine
hyperfine -N --warmup 20 --runs "$RUNS" --export-json "$json-fast.json" \
  -n '/bin/true' '/bin/true' \
  -n 'mfad process (cached)' "$MFAD process dev" \
  -n 'mfad prompt' "$MFAD prompt dev" >/dev/null

# Optionally, an earlier build side by side, each with a daemon on a socket of its own
# (both started through env, which costs them the same).
if [ -n "${BASELINE:-}" ]; then
  env MFAD_SOCKET="$WORK/baseline.sock" "$BASELINE" process dev >/dev/null
  env MFAD_SOCKET="$WORK/current.sock" "$MFAD" process dev >/dev/null
  hyperfine -N --warmup 20 --runs "$RUNS" --export-json "$json-ab.json" \
    -n "mfad process (cached), this build" "env MFAD_SOCKET=$WORK/current.sock $MFAD process dev" \
    -n "mfad process (cached), $BASELINE_NAME" "env MFAD_SOCKET=$WORK/baseline.sock $BASELINE process dev" \
    -n "mfad prompt, this build" "env MFAD_SOCKET=$WORK/current.sock $MFAD prompt dev" \
    -n "mfad prompt, $BASELINE_NAME" "env MFAD_SOCKET=$WORK/baseline.sock $BASELINE prompt dev" >/dev/null
  kill "$(cat "$WORK/baseline.sock.lock")" "$(cat "$WORK/current.sock.lock")" 2>/dev/null || true
fi
hyperfine -N --warmup 3 --runs "$SLOW_RUNS" --export-json "$json-slow.json" \
  -n 'aws configure export-credentials (cached role)' '/usr/bin/aws configure export-credentials --profile role' \
  -n 'aws-credential-process (cached session)' "$ACP --access-key-id $KEY_ID --mfa-serial-number $SERIAL" >/dev/null

# Renewal to disk: each `mfad process written` after a logout renews the session (moto
# STS) and rewrites [written-mfa]; the daemon logs how long after the renewal the file was
# in place. hyperfine times the whole renewal as a caller sees it.
hyperfine -N --warmup 2 --runs "$SLOW_RUNS" --export-json "$json-renewal.json" \
  --prepare "$MFAD logout written" \
  -n 'mfad process (renewal + written profile)' "$MFAD process written" >/dev/null
grep -o '([0-9.]* ms after the renewal)' "$XDG_RUNTIME_DIR/mfad/agent.sock.log" |
  grep -o '[0-9.]*' >"$json-to-disk.txt"

daemon_pid=$(cat "$XDG_RUNTIME_DIR/mfad/agent.sock.lock")
rss() { awk '/^VmRSS/ {print $2}' "/proc/$daemon_pid/status"; }
rss_one=$(rss)
for i in $(seq 1 100); do
  printf '[profile p%s]\nmfa_serial = arn:aws:iam::123456789012:mfa/user%s\nmfad_source_profile = base\nmfa_process = date +%%N | cut -c2-7\nregion = us-east-1\nendpoint_url = http://127.0.0.1:%s\n' "$i" "$i" "$port" >>"$AWS_CONFIG_FILE"
done
for i in $(seq 1 100); do "$MFAD" process "p$i" >/dev/null; done
sessions=$("$MFAD" status --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["sessions"]))')
rss_hundred=$(rss)

# Restarts with 100 saved sessions. Each run stops the daemon; `mfad process p50` then
# starts a new one, as any caller does, which loads the saved sessions and answers. The
# p profiles can no longer renew (their mfa_process fails), so a run that did not restore
# would fail instead of being timed.
lock=$XDG_RUNTIME_DIR/mfad/agent.sock.lock
log=$XDG_RUNTIME_DIR/mfad/agent.sock.log
cat >"$WORK/stop" <<STOP
#!/bin/sh
pid=\$(cat "$lock")
kill "\$pid"
while kill -0 "\$pid" 2>/dev/null; do sleep 0.002; done
STOP
chmod +x "$WORK/stop"
p_codes='date +%N | cut -c2-7'
renewing() { sed -i "s/^mfa_process = $1\$/mfa_process = $2/" "$AWS_CONFIG_FILE"; }
restart_bench() { # label, export name
  renewing "$p_codes" false
  hyperfine -N --warmup 2 --runs "$SLOW_RUNS" --export-json "$json-$2.json" \
    --prepare "$WORK/stop" -n "$1" "$MFAD process p50" >/dev/null
  renewing false "$p_codes"
}
restart_bench 'first `mfad process` after a restart, Secret Service' restart-ss
grep -o 'loaded [0-9]* saved sessions from the Secret Service[^(]* in [0-9.]* ms' "$log" |
  grep -o '[0-9.]* ms' | grep -o '[0-9.]*' >"$json-load-ss.txt"

# The same with the file store, unlocked by passphrase_command at each start.
mkdir -p "$HOME/.config/mfad"
printf '[store]\nbackend = "file"\npassphrase_command = "echo bench-passphrase"\n' >"$HOME/.config/mfad/config.toml"
"$MFAD" store init >/dev/null
"$WORK/stop"
for i in $(seq 1 100); do "$MFAD" process "p$i" >/dev/null; done
restart_bench 'first `mfad process` after a restart, file store' restart-file
grep -o 'loaded 100 saved sessions from the file store[^(]* in [0-9.]* ms' "$log" |
  grep -o '[0-9.]* ms' | grep -o '[0-9.]*' >"$json-load-file.txt"
grep -o 'unlocked the file store .* in [0-9.]* ms' "$log" |
  grep -o '[0-9.]* ms$' | grep -o '[0-9.]*' >"$json-unlock.txt"
hyperfine -N --warmup 20 --runs "$RUNS" --export-json "$json-cached-file.json" \
  -n '/bin/true' '/bin/true' \
  -n 'mfad process (cached), file store' "$MFAD process p50" >/dev/null

python3 - "$json-fast.json" "$json-slow.json" "$json-renewal.json" "$json-to-disk.txt" <<'PY'
import json, statistics, sys
rows = [r for f in sys.argv[1:3] for r in json.load(open(f))["results"]]
floor = rows[0]["median"]
mfad = rows[1]["median"]
print("| command | median | mean ± σ | runs | × /bin/true | × mfad process |")
print("|---|---:|---:|---:|---:|---:|")
for r in rows:
    print(f"| {r['command']} | {r['median']*1000:.2f} ms | {r['mean']*1000:.2f} ± {r['stddev']*1000:.2f} ms "
          f"| {len(r['times'])} | {r['median']/floor:.1f} | {r['median']/mfad:.1f} |")
renewal = json.load(open(sys.argv[3]))["results"][0]
to_disk = [float(x) for x in open(sys.argv[4]).read().split()]
print()
print("| renewal with mfad_write_profile | median | runs |")
print("|---|---:|---:|")
print(f"| `mfad process` after a logout (STS call + file written) | {renewal['median']*1000:.2f} ms | {len(renewal['times'])} |")
print(f"| from the renewal to the profile on disk (daemon log) | {statistics.median(to_disk):.2f} ms | {len(to_disk)} |")
PY
if [ -n "${BASELINE:-}" ]; then
  echo
  python3 - "$json-ab.json" <<'PY'
import json, sys
rows = json.load(open(sys.argv[1]))["results"]
print("| side by side (through env) | median | mean ± σ | runs |")
print("|---|---:|---:|---:|")
for r in rows:
    print(f"| {r['command']} | {r['median']*1000:.2f} ms | {r['mean']*1000:.2f} ± {r['stddev']*1000:.2f} ms | {len(r['times'])} |")
PY
fi
echo
python3 - "$json" <<'PY'
import json, statistics, sys
base = sys.argv[1]
def median_ms(name):
    return statistics.median(float(x) for x in open(f"{base}-{name}.txt").read().split())
print("| restart with 100 saved sessions | median | runs |")
print("|---|---:|---:|")
for name in ("restart-ss", "restart-file"):
    r = json.load(open(f"{base}-{name}.json"))["results"][0]
    print(f"| {r['command']} (daemon start, load, answer) | {r['median']*1000:.2f} ms | {len(r['times'])} |")
for name, what in (("load-ss", "loading 100 sessions, Secret Service (daemon log)"),
                   ("load-file", "loading 100 sessions, file store (daemon log)"),
                   ("unlock", "unlocking the file store with passphrase_command (daemon log)")):
    runs = len(open(f"{base}-{name}.txt").read().split())
    print(f"| {what} | {median_ms(name):.2f} ms | {runs} |")
rows = json.load(open(f"{base}-cached-file.json"))["results"]
floor = rows[0]["median"]
print()
print("| after the restarts | median | runs | × /bin/true |")
print("|---|---:|---:|---:|")
for r in rows:
    print(f"| {r['command']} | {r['median']*1000:.2f} ms | {len(r['times'])} | {r['median']/floor:.1f} |")
PY
echo
echo "| daemon resident memory (VmRSS) | KiB |"
echo "|---|---:|"
echo "| idle, 1 session | $rss_one |"
echo "| $sessions sessions | $rss_hundred |"
