#!/usr/bin/env bash
# A credential refresh through the local endpoint (`mfad serve`, the container credentials
# protocol) against one through credential_process (`mfad process`), both from a cached
# session, in one run:
#   - from the shell: hyperfine of `curl` on the endpoint and of `mfad process dev`;
#   - from inside an SDK: what botocore pays per refresh, its ContainerMetadataFetcher
#     against running the credential_process command as its ProcessProvider does
#     (medians of $REFRESHES each).
# Needs: hyperfine, curl, gnome-keyring, dbus, moto[server], boto3.
set -euo pipefail

source "$(dirname "$0")/harness.sh"

RUNS=${RUNS:-300}
REFRESHES=${REFRESHES:-300}

write_dev_profile

"$MFAD" process dev >/dev/null
"$MFAD" serve dev >"$WORK/endpoint.env" 2>/dev/null &
server=$!
trap 'kill $server 2>/dev/null; kill $moto 2>/dev/null; "$MFAD" logout --all >/dev/null 2>&1 || true; kill "$(cat "$XDG_RUNTIME_DIR/mfad/agent.sock.lock" 2>/dev/null)" 2>/dev/null || true' EXIT
until grep -q AWS_CONTAINER_AUTHORIZATION_TOKEN "$WORK/endpoint.env" 2>/dev/null; do sleep 0.05; done
set -a
source "$WORK/endpoint.env"
set +a

echo "== from the shell (hyperfine, $RUNS runs each)"
hyperfine --shell=none --warmup 20 --runs "$RUNS" --export-json "$WORK/shell.json" \
  -n 'curl on the endpoint (mfad serve)' \
  "curl -sf -H 'Authorization: $AWS_CONTAINER_AUTHORIZATION_TOKEN' $AWS_CONTAINER_CREDENTIALS_FULL_URI" \
  -n 'mfad process dev' "$MFAD process dev" >/dev/null
python3 - "$WORK/shell.json" <<'PY'
import json, sys
for result in json.load(open(sys.argv[1]))["results"]:
    times = sorted(t * 1000 for t in result["times"])
    print(f"| {result['command']} | {result['median'] * 1000:.2f} ms | {times[len(times) // 20]:.2f}–{times[-len(times) // 20 - 1]:.2f} ms |")
PY

echo
echo "== inside botocore ($REFRESHES refreshes each, medians)"
python3 - "$MFAD" "$REFRESHES" <<'PY'
import json, os, statistics, subprocess, sys, time
from botocore.utils import ContainerMetadataFetcher
mfad, n = sys.argv[1], int(sys.argv[2])
fetcher = ContainerMetadataFetcher()
uri = os.environ["AWS_CONTAINER_CREDENTIALS_FULL_URI"]
headers = {"Authorization": os.environ["AWS_CONTAINER_AUTHORIZATION_TOKEN"]}

def endpoint():
    return fetcher.retrieve_full_uri(uri, headers=headers)["AccessKeyId"]

def process():
    # What botocore's ProcessProvider does: run the command, read its JSON.
    out = subprocess.run([mfad, "process", "dev"], capture_output=True, check=True).stdout
    return json.loads(out)["AccessKeyId"]

assert endpoint() == process(), "both hand out the cached session"
for name, refresh in [("local endpoint (ContainerMetadataFetcher)", endpoint),
                      ("credential_process (mfad process dev)", process)]:
    for _ in range(20):
        refresh()
    times = []
    for _ in range(n):
        start = time.perf_counter()
        refresh()
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    print(f"| {name} | {statistics.median(times):.2f} ms | {times[len(times) // 20]:.2f}–{times[-len(times) // 20 - 1]:.2f} ms |")
PY
