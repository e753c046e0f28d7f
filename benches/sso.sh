#!/usr/bin/env bash
# IAM Identity Center, measured (BENCHMARKS.md): a cached answer for an Identity Center
# role against one for an IAM user's MFA session, from one daemon, back to back with
# /bin/true (ROUNDS rounds of hyperfine, RUNS runs each); and CALLERS cold callers over
# three roles against the project's SSO double (COLD_ROUNDS rounds, a fresh daemon each),
# beside what the AWS CLI v2 and botocore do for the same callers with an expired token.
# The measuring code is in tests/integration/sso_bench.rs (ignored in the suite).
# Needs: hyperfine, awscli, boto3 (tests/run.sh installs them).
set -euo pipefail
cd "$(dirname "$0")/.."
contrib/build-release.sh
# The cached answers first, on a machine the hundred Python callers have not just loaded.
for bench in cached_sso_answer_against_the_iam_path a_hundred_cold_callers_against_the_aws_cli; do
  MFAD_BENCH_BINARY="$PWD/target/release/mfad" \
    cargo nextest run --features system-tests --run-ignored only --no-capture \
    -E "test(=sso_bench::bench_$bench)" 2>&1 | grep -E '^(\||binary|load|mfad|AWS CLI|botocore|Identity)'
done
