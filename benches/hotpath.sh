#!/usr/bin/env bash
# The hot path, side by side: a cached `mfad process` and `mfad prompt` of this build (and
# of BASELINE, an older mfad binary, if given) against /bin/true, measured back to back in
# ROUNDS rounds of hyperfine (RUNS runs each). Prints, per command, the median time of all
# runs, p50 and p99, and the median over rounds of its ratio to /bin/true measured in the
# same round; with BASELINE, also the median ratio of this build to the baseline.
# Every command is executed directly (hyperfine -N: no shell, no `env` in front), and
# both builds' clients ask the one daemon of this build (the protocol is the same), so
# what differs is only the client: its start and its request.
# Needs: hyperfine, gnome-keyring, dbus, moto[server].
set -euo pipefail

source "$(dirname "$0")/harness.sh"

# BINARY measures another build (its mfad-core beside it) instead of this one.
MFAD=${BINARY:-$MFAD}

RUNS=${RUNS:-200}
ROUNDS=${ROUNDS:-5}
BASELINE=${BASELINE:-}
BASELINE_NAME=${BASELINE_NAME:-baseline}

write_dev_profile

# Both builds are run from fresh copies in one directory, so neither gains from where
# its file lies or what of it the page cache holds.
cp "$MFAD" "$WORK/mfad"
# The front hands everything but process and prompt (and the daemon) to mfad-core beside it.
if [ -e "$(dirname "$MFAD")/mfad-core" ]; then cp "$(dirname "$MFAD")/mfad-core" "$WORK/mfad-core"; fi
MFAD="$WORK/mfad"
if [ -n "$BASELINE" ]; then
  cp "$BASELINE" "$WORK/mfad-baseline"
  BASELINE="$WORK/mfad-baseline"
fi
"$MFAD" process dev >/dev/null
commands=(/bin/true "$MFAD process dev" "$MFAD prompt dev")
names=("/bin/true" "mfad process (cached)" "mfad prompt")
if [ -n "$BASELINE" ]; then
  "$BASELINE" process dev >/dev/null
  commands+=("$BASELINE process dev" "$BASELINE prompt dev")
  names+=("mfad process (cached), $BASELINE_NAME" "mfad prompt, $BASELINE_NAME")
fi

echo "binary: $MFAD ($(stat -c %s "$MFAD") bytes)${BASELINE:+; baseline: $BASELINE ($(stat -c %s "$BASELINE") bytes)}"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
# Odd rounds run the commands in order, even rounds in reverse: neither build always
# runs right after the other.
reversed=()
for ((i = ${#commands[@]} - 1; i >= 0; i--)); do reversed+=("${commands[i]}"); done
for round in $(seq "$ROUNDS"); do
  if ((round % 2)); then order=("${commands[@]}"); else order=("${reversed[@]}"); fi
  hyperfine -N --warmup 20 --runs "$RUNS" --export-json "$WORK/round-$round.json" "${order[@]}" >/dev/null
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"

python3 - "$WORK" "$ROUNDS" "$BASELINE" "${#names[@]}" "${names[@]}" "${commands[@]}" <<'PY'
import json, statistics, sys
work, rounds, baseline, count = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
names, commands = sys.argv[5:5 + count], sys.argv[5 + count:]
def in_order(results):
    by_command = {r["command"]: r for r in results}
    return [by_command[c] for c in commands]
runs = [in_order(json.load(open(f"{work}/round-{r}.json"))["results"]) for r in range(1, rounds + 1)]
def pct(times, p):
    times = sorted(times)
    return times[min(len(times) - 1, int(p / 100 * len(times)))]
print(f"| command | median | p50 | p99 | × /bin/true (median of {rounds} rounds) |")
print("|---|---:|---:|---:|---:|")
for i, name in enumerate(names):
    times = [t for r in runs for t in r[i]["times"]]
    ratio = statistics.median(r[i]["median"] / r[0]["median"] for r in runs)
    print(f"| {name} | {statistics.median(times)*1e3:.2f} ms | {pct(times,50)*1e3:.2f} ms | {pct(times,99)*1e3:.2f} ms | {ratio:.2f} |")
if baseline:
    for i, what in ((1, "mfad process"), (2, "mfad prompt")):
        ratio = statistics.median(r[i]["median"] / r[i + 2]["median"] for r in runs)
        print(f"{what}: this build / baseline = {ratio:.3f} (median of {rounds} rounds)")
PY
