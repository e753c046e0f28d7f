//! The Rust SDK's own credential_process provider runs `mfad process`. The test sets the
//! process environment the SDK reads (holding `PROCESS_ENV`).

use crate::support::*;
use aws_config::BehaviorVersion;

#[test]
fn rust_sdk_gets_an_mfa_session_through_credential_process() {
    let sts = double_with_alice(30);
    let env = TestEnv::new();
    let script = code_script(&env, 30);
    env.write_config(&alice_profile(
        "dev",
        &sts.url,
        &format!("mfa_process = {script}"),
    ));
    env.write_credentials(&alice_credentials());
    let _env = PROCESS_ENV.lock().unwrap_or_else(|e| e.into_inner());
    // SAFETY: see PROCESS_ENV.
    unsafe {
        std::env::set_var("AWS_CONFIG_FILE", env.config_path());
        std::env::set_var("AWS_SHARED_CREDENTIALS_FILE", env.credentials_path());
        std::env::set_var("XDG_RUNTIME_DIR", env.runtime_dir());
        std::env::set_var("HOME", env.home());
        std::env::remove_var("DBUS_SESSION_BUS_ADDRESS");
        std::env::remove_var("MFAD_SOCKET");
    }
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let identity = runtime
        .block_on(async {
            let config = aws_config::defaults(BehaviorVersion::latest())
                .profile_name("dev")
                .load()
                .await;
            aws_sdk_sts::Client::new(&config)
                .get_caller_identity()
                .send()
                .await
        })
        .unwrap_or_else(|e| {
            panic!(
                "{}\n{}",
                aws_sdk_sts::error::DisplayErrorContext(&e),
                env.daemon_log()
            )
        });
    assert_eq!(identity.arn(), Some("arn:aws:iam::123456789012:user/alice"));
    assert_eq!(sts.counts().get_session_token, 1);
    assert_eq!(sts.counts().get_caller_identity, 1);
}
