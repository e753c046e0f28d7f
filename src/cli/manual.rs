//! What the man pages say beyond the clap definitions: the environment, the files, the
//! profile keys, and examples of each command.

/// A section of the man pages beyond what clap knows: a title and its entries
/// (term, explanation).
pub struct ManSection {
    pub title: &'static str,
    pub entries: &'static [(&'static str, &'static str)],
}

/// The variables mfad reads (the client forwards the AWS ones to the daemon, which
/// resolves each request in its caller's environment).
pub const ENVIRONMENT: ManSection = ManSection {
    title: "ENVIRONMENT",
    entries: &[
        (
            "MFAD_SOCKET",
            "The daemon's socket (default $XDG_RUNTIME_DIR/mfad/agent.sock, else ${TMPDIR:-/tmp}/mfad-$UID/agent.sock). A relative path is taken from the current directory.",
        ),
        (
            "MFAD_LOG",
            "The daemon's log level (error, warn, info, debug, trace); overrides log_level in config.toml.",
        ),
        (
            "AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE",
            "The AWS config and credentials files (default ~/.aws/config and ~/.aws/credentials).",
        ),
        (
            "AWS_PROFILE",
            "The profile mfad prompt shows when none is given.",
        ),
        (
            "AWS_REGION, AWS_DEFAULT_REGION",
            "The region of STS calls, before the profile's region.",
        ),
        (
            "AWS_ENDPOINT_URL_STS, AWS_ENDPOINT_URL",
            "Where STS is, before the profile's services section and endpoint_url.",
        ),
        (
            "AWS_CA_BUNDLE",
            "The CA certificates (PEM) STS's certificate must chain to, before the profile's ca_bundle.",
        ),
        (
            "HTTPS_PROXY, HTTP_PROXY, ALL_PROXY, NO_PROXY",
            "The proxy of STS calls (lower case first); its password never appears in logs or messages.",
        ),
        (
            "MFAD_SIGNIN_URL",
            "The federation endpoint mfad login uses instead of the partition's (a proxy, a test double).",
        ),
        (
            "DISPLAY, WAYLAND_DISPLAY, DBUS_SESSION_BUS_ADDRESS",
            "The desktop a code is asked on, and the session bus of notifications and the Secret Service.",
        ),
        (
            "XDG_CONFIG_HOME, XDG_STATE_HOME",
            "Where config.toml and the record of used codes live.",
        ),
    ],
};

pub const FILES: ManSection = ManSection {
    title: "FILES",
    entries: &[
        (
            "~/.aws/config",
            "Profiles: mfa_serial, credential_process = mfad process NAME, and the mfad_ keys (see CONFIGURATION in mfad(1)).",
        ),
        (
            "~/.aws/credentials",
            "Static keys a profile named by mfad_source_profile holds, and the sections mfad_write_profile keeps.",
        ),
        (
            "$XDG_CONFIG_HOME/mfad/config.toml",
            "The daemon's settings (default ~/.config/mfad/config.toml); mfad daemon --check-config checks it.",
        ),
        (
            "$XDG_RUNTIME_DIR/mfad/agent.sock",
            "The socket; agent.sock.lock holds the daemon's pid, agent.sock.log the log of a daemon a client started.",
        ),
        (
            "$XDG_STATE_HOME/mfad/used-codes.json",
            "The MFA codes already sent to STS (default ~/.local/state/mfad), shared by all the user's daemons.",
        ),
    ],
};

/// The keys of a profile in ~/.aws/config that mfad reads.
pub const PROFILE_KEYS: ManSection = ManSection {
    title: "CONFIGURATION",
    entries: &[
        (
            "mfa_serial",
            "ARN of the MFA device (a virtual/TOTP or hardware token; security keys work only in the console).",
        ),
        (
            "mfa_process",
            "A command that prints a code, e.g. ykman oath accounts code -s AWS.",
        ),
        (
            "mfad_source_profile",
            "A profile whose static keys are the long-term key, or an mfad profile whose session a role is assumed with (default: the key mfad add NAME stored).",
        ),
        (
            "mfad_session_duration",
            "The MFA session's lifetime, seconds or 12h style (default 12h; STS allows 900 to 129600 s, root at most 1h).",
        ),
        (
            "mfad_role_arn",
            "Assume this role with the MFA session of the profile's source.",
        ),
        (
            "mfad_role_session_name, mfad_external_id",
            "AssumeRole's session name (default mfad-NAME) and external id.",
        ),
        (
            "mfad_source_identity, mfad_session_tags, mfad_transitive_tag_keys",
            "AssumeRole's source identity, session tags (key=value,key=value) and the tag keys that pass on to chained roles (key,key).",
        ),
        (
            "mfad_role_duration",
            "The role session's lifetime (at most 1h when assumed with an MFA session).",
        ),
        (
            "mfad_sso_session, mfad_sso_account_id, mfad_sso_role_name",
            "Instead of a long-term key: a role of an IAM Identity Center account, through the [sso-session NAME] section (sso_start_url, sso_region, sso_registration_scopes). One browser sign-in serves every process; the token is refreshed ahead. mfad_source_profile may instead name a profile made by aws configure sso.",
        ),
        (
            "mfad_sso_flow",
            "How a person signs in: pkce (the browser on the caller's desktop, the default) or device (a code confirmed in a browser anywhere).",
        ),
        (
            "mfad_login_profile",
            "Instead of a long-term key: the profile aws login (AWS CLI 2.32+) signed in to, with its login_session. Its cache is served to every tool and refreshed once for all callers, ahead of time, under a lock; any MFA works there, security keys included.",
        ),
        (
            "mfad_login_store",
            "In the login profile, true: its session is kept in mfad's secret store instead of the CLI's plaintext cache (mfad aws-login --store); only mfad serves it.",
        ),
        (
            "mfad_wrap_process",
            "Instead of the above: a command that prints credential_process JSON; the daemon runs it once for all concurrent callers and keeps its output until 15 minutes before its Expiration.",
        ),
        (
            "mfad_write_profile",
            "Keep this section of the shared credentials file current with the profile's credentials.",
        ),
        (
            "region, endpoint_url, services, ca_bundle",
            "Standard; resolved the way the AWS SDKs do, in the caller's environment.",
        ),
    ],
};

/// Examples of a command (by its name, `mfad` for the top page).
pub fn examples(command: &str) -> &'static [(&'static str, &'static str)] {
    match command {
        "mfad" => &[
            (
                "mfad add dev",
                "Store the long-term key of profile dev (asked on the terminal).",
            ),
            (
                "mfad totp add arn:aws:iam::123456789012:mfa/alice < secret.txt",
                "Store the device's TOTP secret: no code is ever typed again.",
            ),
            (
                "aws s3 ls --profile dev",
                "With credential_process = mfad process dev in [profile dev], any AWS tool gets the session.",
            ),
            ("mfad status", "The sessions the daemon holds."),
        ],
        "mfad-process" => &[
            (
                "credential_process = mfad process dev",
                "In [profile dev] of ~/.aws/config.",
            ),
            (
                "mfad process dev | jq -r .Expiration",
                "When the session of dev ends.",
            ),
        ],
        "mfad-add" => &[
            ("mfad add dev", "Asked on the terminal, without echo."),
            (
                "AWS_ACCESS_KEY_ID=AKIA... AWS_SECRET_ACCESS_KEY=... mfad add dev --env",
                "From the environment.",
            ),
        ],
        "mfad-totp" | "mfad-totp-add" | "mfad-totp-code" | "mfad-totp-remove" => &[
            (
                "mfad totp add arn:aws:iam::123456789012:mfa/alice < secret.txt",
                "Store a base32 secret or otpauth:// URI.",
            ),
            (
                "mfad totp code arn:aws:iam::123456789012:mfa/alice",
                "A code no mfad daemon has sent (for the console).",
            ),
        ],
        "mfad-status" => &[
            (
                "mfad status",
                "A table of sessions, roles and written profiles.",
            ),
            (
                "mfad status --json | jq '.sessions[].expiration'",
                "For scripts.",
            ),
        ],
        "mfad-logout" => &[
            (
                "mfad logout dev",
                "Drop the session of dev and every role on it.",
            ),
            ("mfad logout --all", "Drop every session."),
        ],
        "mfad-exec" => &[
            (
                "mfad exec dev -- aws s3 ls",
                "Run a command with the credentials of dev in its environment.",
            ),
            (
                "mfad exec --server admin -- terraform apply",
                "For a command that may outlive the session: its SDKs fetch fresh credentials from a local endpoint whenever they need them.",
            ),
        ],
        "mfad-serve" => &[
            (
                "(umask 077; mfad serve admin --port 9911 > \"$XDG_RUNTIME_DIR/admin.env\")",
                "Serve admin's credentials on 127.0.0.1:9911 and keep the two variables for containers in a private file.",
            ),
            (
                "docker run --rm --network host --env-file \"$XDG_RUNTIME_DIR/admin.env\" amazon/aws-cli sts get-caller-identity",
                "A container whose SDK refreshes from it.",
            ),
        ],
        "mfad-login" => &[
            ("mfad login admin", "Open the console as the role of admin."),
            (
                "mfad login dev --print --destination https://console.aws.amazon.com/s3/home",
                "Print the sign-in URL (a credential for 15 minutes) for the S3 console instead.",
            ),
        ],
        "mfad-env" => &[
            (
                "eval \"$(mfad env dev)\"",
                "Set the variables in the current shell.",
            ),
            ("mfad env dev --shell fish | source", "In fish."),
        ],
        "mfad-prompt" => &[
            (
                "PS1='$(mfad prompt) '$PS1",
                "bash: show [dev 11h42m] for $AWS_PROFILE.",
            ),
            (
                "mfad prompt dev --format '{profile}:{left}{mark}'",
                "A segment of your own.",
            ),
        ],
        "mfad-daemon" => &[
            (
                "systemctl --user enable --now mfad.socket",
                "Start it with the session (contrib/systemd).",
            ),
            (
                "mfad daemon --check-config",
                "Check config.toml and print the effective settings.",
            ),
        ],
        "mfad-completions" => &[(
            "mfad completions bash > ~/.local/share/bash-completion/completions/mfad",
            "bash completions.",
        )],
        "mfad-mfa" | "mfad-mfa-enroll" | "mfad-mfa-list" | "mfad-mfa-resync"
        | "mfad-mfa-remove" => &[
            (
                "mfad mfa enroll dev",
                "From no MFA to a first session: create, enable and store a virtual device, set mfa_serial.",
            ),
            (
                "mfad mfa list dev",
                "The user's devices and which one dev uses.",
            ),
            (
                "mfad mfa resync dev",
                "When AWS rejects the device's codes as out of step.",
            ),
            (
                "mfad mfa remove dev",
                "Deactivate and delete the device, after confirmation.",
            ),
        ],
        "mfad-rotate" => &[(
            "mfad rotate dev && aws sts get-caller-identity --profile dev",
            "A new access key for dev; the session in use stays valid.",
        )],
        "mfad-audit" => &[
            (
                "mfad audit --profile admin",
                "Findings most severe first, each with its remedy.",
            ),
            (
                "mfad audit --profile admin --json > audit.json || test $? -eq 1",
                "In CI: fail only when the audit could not be done (exit 2).",
            ),
        ],
        "mfad-policy" => &[
            ("mfad policy > enforce-mfa.json", "The policy document."),
            (
                "mfad policy --apply --group developers --profile admin",
                "Create or update mfad-enforce-mfa and attach it to a group.",
            ),
        ],
        _ => &[],
    }
}
