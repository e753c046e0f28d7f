//! The `aws login` figures of BENCHMARKS.md. They measure rather than test, so they are
//! ignored in the suite; `benches/aws_login.sh` runs them with a release build and prints
//! the tables. They still fail when a run did not do what it measures.

use crate::aws_login::{ARN, signed_in};
use crate::sso_bench::{all_at_once, binary, load, median, paired_rounds, setting};
use crate::support::*;
use std::process::Command;
use std::time::Duration;

/// A cached answer for an `aws login` bridge against one for an IAM user's MFA session,
/// from one daemon, measured back to back with /bin/true in ROUNDS rounds of hyperfine.
#[test]
#[ignore = "a benchmark: run by benches/aws_login.sh"]
fn bench_cached_bridge_against_the_iam_path() {
    let (runs, rounds) = (setting("RUNS", 200), setting("ROUNDS", 5));
    let world = signed_in(Duration::from_secs(900));
    let sts = double_with_alice(30);
    let script = code_script(&world.env, 30);
    let mut config = std::fs::read_to_string(world.env.config_path()).unwrap();
    config.push_str(&alice_profile(
        "iam",
        &sts.url,
        &format!("mfa_process = {script}\n"),
    ));
    world.env.write_config(&config);
    world.env.write_credentials(&alice_credentials());
    let mfad = binary();
    let signin_url = world.signin.url.clone();
    let with_env = |command: &mut Command| {
        command
            .env("MFAD_LOG", "info")
            .env("AWS_ENDPOINT_URL_SIGNIN", &signin_url);
    };
    for profile in ["dev", "iam"] {
        let mut warm = world.env.command(&mfad);
        with_env(warm.args(["process", profile]));
        assert_success(&warm.output().unwrap());
    }
    let commands = [
        "/bin/true".to_owned(),
        format!("{mfad} process dev"),
        format!("{mfad} process iam"),
    ];
    let names = [
        "/bin/true",
        "mfad process, aws login bridge (cached)",
        "mfad process, IAM user's MFA session (cached)",
    ];
    let medians = paired_rounds(&world.env, with_env, &commands, &names, (runs, rounds));
    let mut bridge_over_iam: Vec<f64> =
        (0..rounds).map(|r| medians[1][r] / medians[2][r]).collect();
    println!(
        "aws login bridge / IAM, median of the per-round ratios: {:.3}",
        median(&mut bridge_over_iam)
    );
    assert_eq!(
        world.signin.counts().token_by_refresh,
        0,
        "every answer was cached"
    );
}

/// 100 callers at once with a cache a minute from its end: through mfad (a fresh daemon
/// each round, started by the first caller), and through botocore's own login provider
/// (100 boto3 processes on the login profile itself), each round on a fresh sign-in.
#[test]
#[ignore = "a benchmark: run by benches/aws_login.sh"]
fn bench_a_hundred_cold_callers_one_refresh() {
    let (callers, rounds) = (setting("CALLERS", 100), setting("COLD_ROUNDS", 5));
    let mfad = binary();
    println!("binary: {mfad}; load before: {}", load());
    println!(
        "| | wall time for all {callers} | answered | CreateOAuth2Token | refused (used refresh token) |"
    );
    println!("|---|---:|---:|---:|---:|");
    for round in 0..rounds {
        let world = signed_in(Duration::from_secs(60));
        let commands = (0..callers)
            .map(|_| {
                let mut command = world.env.command(&mfad);
                command
                    .args(["process", "dev"])
                    .env("MFAD_LOG", "info")
                    .env("AWS_ENDPOINT_URL_SIGNIN", &world.signin.url);
                command
            })
            .collect();
        let (took, answered, _) = all_at_once(commands);
        let counts = world.signin.counts();
        println!(
            "| mfad, round {} | {:.0} ms | {answered} | {} | {} |",
            round + 1,
            took.as_secs_f64() * 1e3,
            counts.token_by_refresh,
            counts.used_refresh_tokens
        );
        assert_eq!(answered, callers);
        assert_eq!(counts.token_by_refresh, 1);
    }
    let world = signed_in(Duration::from_secs(60));
    let commands = (0..callers)
        .map(|_| {
            let mut command = world.env.command("python3");
            command
                .env("STS", &world.sts.url)
                .env("AWS_ENDPOINT_URL_SIGNIN", &world.signin.url)
                .args([
                    "-c",
                    "import boto3, os\nprint(boto3.Session(profile_name='console').client('sts', endpoint_url=os.environ['STS']).get_caller_identity()['Arn'])",
                ]);
            command
        })
        .collect();
    let (took, answered, outputs) = all_at_once(commands);
    let counts = world.signin.counts();
    println!(
        "| botocore's login provider, {callers} processes | {:.0} ms | {answered} | {} | {} |",
        took.as_secs_f64() * 1e3,
        counts.token_by_refresh,
        counts.used_refresh_tokens
    );
    assert!(
        outputs
            .iter()
            .filter(|o| o.status.success())
            .all(|o| String::from_utf8_lossy(&o.stdout).trim() == ARN)
    );
    println!("load after: {}", load());
}
