#!/usr/bin/env bash
# `aws login`, measured (BENCHMARKS.md): a cached answer through the aws login bridge
# against one for an IAM user's MFA session, from one daemon, back to back with /bin/true
# (ROUNDS rounds of hyperfine, RUNS runs each); and CALLERS callers at once with a cache a
# minute from its end (COLD_ROUNDS rounds, a fresh daemon and sign-in each), beside
# botocore's own login provider in as many processes. The sign-in service is the project's
# double. The measuring code is in tests/integration/aws_login_bench.rs (ignored in the
# suite). Needs: hyperfine, boto3 with awscrt (tests/run.sh installs boto3 and awscrt).
set -euo pipefail
cd "$(dirname "$0")/.."
contrib/build-release.sh
for bench in cached_bridge_against_the_iam_path a_hundred_cold_callers_one_refresh; do
  MFAD_BENCH_BINARY="$PWD/target/release/mfad" \
    cargo nextest run --features system-tests --run-ignored only --no-capture \
    -E "test(=aws_login_bench::bench_$bench)" 2>&1 | grep -E '^(\||binary|load|aws login)'
done
