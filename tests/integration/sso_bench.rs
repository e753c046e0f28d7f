//! The Identity Center figures of BENCHMARKS.md. They measure rather than test, so they
//! are ignored in the suite; `benches/sso.sh` runs them with a release build and prints
//! the tables. They still fail when a run did not do what it measures.

use crate::sso::{device_token, following_browser, session, sso_env};
use crate::support::sso_double::SsoDouble;
use crate::support::*;
use secrecy::ExposeSecret;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The mfad under measure: `MFAD_BENCH_BINARY` (the release build), else the test build.
pub(crate) fn binary() -> String {
    std::env::var("MFAD_BENCH_BINARY").unwrap_or_else(|_| MFAD.to_owned())
}

pub(crate) fn setting(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

pub(crate) fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

pub(crate) fn percentile(values: &mut [f64], p: usize) -> f64 {
    values.sort_by(f64::total_cmp);
    values[(values.len() * p / 100).min(values.len() - 1)]
}

pub(crate) fn load() -> String {
    let loadavg = std::fs::read_to_string("/proc/loadavg").unwrap();
    loadavg.split(' ').take(3).collect::<Vec<_>>().join(" ")
}

/// A cached answer for an Identity Center role against one for an IAM user's MFA session,
/// from one daemon, measured back to back with /bin/true in ROUNDS rounds of hyperfine.
#[test]
#[ignore = "a benchmark: run by benches/sso.sh"]
fn bench_cached_sso_answer_against_the_iam_path() {
    let (runs, rounds) = (setting("RUNS", 200), setting("ROUNDS", 5));
    let sts = double_with_alice(30);
    let double = SsoDouble::start();
    let env = sso_env(&double);
    let script = code_script(&env, 30);
    let mut config = std::fs::read_to_string(env.config_path()).unwrap();
    config.push_str(&alice_profile(
        "dev",
        &sts.url,
        &format!("mfa_process = {script}\n"),
    ));
    env.write_config(&config);
    env.write_credentials(&alice_credentials());
    let browser = following_browser(&env);
    let mfad = binary();
    let with_env = |command: &mut Command| {
        command
            .env("MFAD_LOG", "info")
            .env("BROWSER", &browser)
            .env("AWS_ENDPOINT_URL_SSO_OIDC", &double.url)
            .env("AWS_ENDPOINT_URL_SSO", &double.url);
    };
    for profile in ["role1", "dev"] {
        let mut warm = env.command(&mfad);
        with_env(warm.args(["process", profile]));
        assert_success(&warm.output().unwrap());
    }
    let commands = [
        "/bin/true".to_owned(),
        format!("{mfad} process role1"),
        format!("{mfad} process dev"),
    ];
    let names = [
        "/bin/true",
        "mfad process, Identity Center role (cached)",
        "mfad process, IAM user's MFA session (cached)",
    ];
    let medians = paired_rounds(&env, with_env, &commands, &names, (runs, rounds));
    let mut sso_over_iam: Vec<f64> = (0..rounds).map(|r| medians[1][r] / medians[2][r]).collect();
    println!(
        "Identity Center / IAM, median of the per-round ratios: {:.3}",
        median(&mut sso_over_iam)
    );
    assert_eq!(
        double.counts().role_credentials,
        1,
        "every answer was cached"
    );
}

/// `commands` measured back to back with hyperfine in `rounds` rounds of `runs` runs (odd
/// rounds in order, even rounds reversed), each in `env` as `with_env` sets it up; prints
/// the binary, the load and the table (median, p50, p99, ratio to the first command), and
/// returns each command's median of each round.
pub(crate) fn paired_rounds(
    env: &TestEnv,
    with_env: impl Fn(&mut Command),
    commands: &[String],
    names: &[&str],
    (runs, rounds): (usize, usize),
) -> Vec<Vec<f64>> {
    println!("binary: {}; load before: {}", binary(), load());
    let mut medians = vec![Vec::new(); commands.len()];
    let mut times = vec![Vec::new(); commands.len()];
    for round in 0..rounds {
        let json = env.dir.path().join(format!("round-{round}.json"));
        let mut order: Vec<usize> = (0..commands.len()).collect();
        if round % 2 == 1 {
            order.reverse();
        }
        let mut hyperfine = env.command("hyperfine");
        with_env(&mut hyperfine);
        hyperfine
            .args(["-N", "--warmup", "20", "--runs", &runs.to_string()])
            .arg("--export-json")
            .arg(&json)
            .args(order.iter().map(|&i| &commands[i]))
            .stdout(Stdio::null());
        assert_success(&hyperfine.output().unwrap());
        let report: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
        for result in report["results"].as_array().unwrap() {
            let i = commands
                .iter()
                .position(|c| c == result["command"].as_str().unwrap())
                .unwrap();
            medians[i].push(result["median"].as_f64().unwrap());
            times[i].extend(
                result["times"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|t| t.as_f64().unwrap()),
            );
        }
    }
    println!("load after: {}", load());
    println!("| command | median | p50 | p99 | × /bin/true (median of {rounds} rounds) |");
    println!("|---|---:|---:|---:|---:|");
    for (i, name) in names.iter().enumerate() {
        let mut ratios: Vec<f64> = (0..rounds).map(|r| medians[i][r] / medians[0][r]).collect();
        println!(
            "| {name} | {:.2} ms | {:.2} ms | {:.2} ms | {:.2} |",
            median(&mut times[i]) * 1e3,
            percentile(&mut times[i], 50) * 1e3,
            percentile(&mut times[i], 99) * 1e3,
            median(&mut ratios)
        );
    }
    medians
}

/// Spawn `callers` at once and wait for all; the wall time and how many succeeded.
pub(crate) fn all_at_once(callers: Vec<Command>) -> (Duration, usize, Vec<Output>) {
    let start = Instant::now();
    let children: Vec<_> = callers
        .into_iter()
        .map(|mut c| {
            c.stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let outputs: Vec<Output> = children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect();
    let succeeded = outputs.iter().filter(|o| o.status.success()).count();
    (start.elapsed(), succeeded, outputs)
}

/// A standard SSO profile `cliN` of the session for role N, as `aws configure sso`
/// writes it.
fn cli_profiles() -> String {
    (1..=3)
        .map(|n| format!("[profile cli{n}]\nsso_session = corp\nsso_account_id = 111122223333\nsso_role_name = Role{n}\nregion = eu-west-1\n"))
        .collect()
}

/// The CLI cache holding a token of the double whose access token ended a minute ago,
/// with a refresh token that works or with none (a sign-in that has lapsed).
fn expired_token_in_the_cli_cache(env: &TestEnv, double: &SsoDouble, refreshable: bool) {
    let (mut token, registration) = device_token(double);
    double.expire_tokens();
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    token.expires_at = now.as_secs() - 60;
    if !refreshable {
        token.refresh_token = None;
    }
    let cache = mfad::sso::cache::cli_cache_file(&env.home(), &session(double));
    std::fs::create_dir_all(cache.parent().unwrap()).unwrap();
    let json = mfad::sso::cache::to_json(&session(double), &token, &registration);
    std::fs::write(&cache, json.expose_secret()).unwrap();
}

fn first_error(outputs: &[Output]) -> String {
    outputs
        .iter()
        .find(|o| !o.status.success())
        .and_then(|o| {
            let stderr = String::from_utf8_lossy(&o.stderr);
            stderr.trim().lines().last().map(str::to_owned)
        })
        .unwrap_or_default()
}

/// 100 callers over 3 roles with no token (mfad) or an expired one (the AWS CLI, botocore),
/// each round on a fresh double and a fresh daemon.
#[test]
#[ignore = "a benchmark: run by benches/sso.sh"]
fn bench_a_hundred_cold_callers_against_the_aws_cli() {
    let (callers, rounds) = (setting("CALLERS", 100), setting("COLD_ROUNDS", 5));
    let mfad = binary();
    println!("binary: {mfad}; load before: {}", load());
    let mut walls = Vec::new();
    for _ in 0..rounds {
        let double = SsoDouble::start();
        let env = sso_env(&double);
        let browser = following_browser(&env);
        let commands = (0..callers)
            .map(|i| {
                let mut command = env.command(&mfad);
                command.args(["process", &format!("role{}", i % 3 + 1)]);
                command
                    .env("MFAD_LOG", "info")
                    .env("BROWSER", &browser)
                    .env("AWS_ENDPOINT_URL_SSO_OIDC", &double.url)
                    .env("AWS_ENDPOINT_URL_SSO", &double.url);
                command
            })
            .collect();
        let (wall, succeeded, outputs) = all_at_once(commands);
        assert_eq!(succeeded, callers, "{}", first_error(&outputs));
        let counts = double.counts();
        assert_eq!(
            (
                counts.register_client,
                counts.authorize,
                counts.create_token()
            ),
            (1, 1, 1)
        );
        walls.push(wall.as_secs_f64());
        println!(
            "mfad: {callers} callers in {:.0} ms, {succeeded} answered; {counts:?}",
            wall.as_secs_f64() * 1e3
        );
    }
    println!(
        "mfad, {callers} cold callers over 3 roles: median {:.0} ms of {rounds} rounds",
        median(&mut walls) * 1e3
    );

    // The AWS CLI v2 (Debian's 2.9) once the sign-in has lapsed: an expired token and no
    // refresh token. (It cannot be pointed at the double to refresh: endpoint overrides
    // came in 2.13; botocore below shows what its refresh does.)
    let double = SsoDouble::start();
    let env = sso_env(&double);
    let mut config = std::fs::read_to_string(env.config_path()).unwrap();
    config.push_str(&cli_profiles());
    env.write_config(&config);
    expired_token_in_the_cli_cache(&env, &double, false);
    let commands = (0..callers)
        .map(|i| {
            let mut command = env.command(AWS_CLI_V2);
            command.args([
                "configure",
                "export-credentials",
                "--profile",
                &format!("cli{}", i % 3 + 1),
            ]);
            command
        })
        .collect();
    let (wall, succeeded, outputs) = all_at_once(commands);
    println!(
        "AWS CLI {}: {callers} callers in {:.0} ms, {succeeded} answered; first error: {}",
        version(&env, AWS_CLI_V2),
        wall.as_secs_f64() * 1e3,
        first_error(&outputs)
    );

    // botocore (the AWS CLI v2's credential code, current release), which can be pointed
    // at the double: the access token expired, its refresh token still good.
    expired_token_in_the_cli_cache(&env, &double, true);
    let before = double.counts();
    let commands = (0..callers)
        .map(|i| {
            let mut command = env.command("python3");
            command
                .env("AWS_ENDPOINT_URL_SSO_OIDC", &double.url)
                .env("AWS_ENDPOINT_URL_SSO", &double.url)
                .args([
                    "-c",
                    "import boto3, sys\nboto3.Session(profile_name=sys.argv[1]).get_credentials().get_frozen_credentials()",
                    &format!("cli{}", i % 3 + 1),
                ]);
            command
        })
        .collect();
    let (wall, succeeded, outputs) = all_at_once(commands);
    let after = double.counts();
    println!(
        "botocore {}: {callers} callers in {:.0} ms, {succeeded} answered; CreateToken (refresh) {}, GetRoleCredentials {}; first error: {}",
        version(&env, "botocore"),
        wall.as_secs_f64() * 1e3,
        after.token_by_refresh - before.token_by_refresh,
        after.role_credentials - before.role_credentials,
        first_error(&outputs)
    );
}

fn version(env: &TestEnv, program: &str) -> String {
    let output = if program == "botocore" {
        env.command("python3")
            .args(["-c", "import botocore; print(botocore.__version__)"])
            .output()
    } else {
        env.command(program).arg("--version").output()
    };
    String::from_utf8_lossy(&output.unwrap().stdout)
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_owned()
}
