//! The command line, as clap definitions (also the source of man pages and completions).

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::ffi::OsString;

#[derive(Debug, Parser)]
#[command(
    name = "mfad",
    version,
    about = "MFA-aware AWS credential helper daemon",
    long_about = "mfad keeps AWS MFA sessions (sts:GetSessionToken) in a small daemon and hands them to \
the AWS CLI, SDKs and Terraform through credential_process: one MFA code per session, however \
many processes ask at once.\n\nIn ~/.aws/config:\n\n  [profile dev]\n  mfa_serial = arn:aws:iam::123456789012:mfa/alice\n  credential_process = mfad process dev"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the daemon in the foreground (clients start it in the background when needed)
    Daemon(DaemonArgs),
    /// Print credentials of PROFILE as credential_process JSON
    Process {
        /// The profile in ~/.aws/config
        profile: String,
    },
    /// Store the long-term access key of PROFILE in the OS secret store
    Add {
        profile: String,
        /// Read the key from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY
        #[arg(long)]
        env: bool,
    },
    /// Store, show or remove TOTP secrets of MFA devices
    Totp {
        #[command(subcommand)]
        command: TotpCommand,
    },
    /// Show the sessions the daemon holds
    Status {
        /// Print JSON instead of a table
        #[arg(long)]
        json: bool,
    },
    /// Run a command with PROFILE's credentials in its environment
    Exec {
        profile: String,
        /// Give the command a local credential endpoint (AWS_CONTAINER_CREDENTIALS_FULL_URI
        /// and a random AWS_CONTAINER_AUTHORIZATION_TOKEN) instead of static keys, so its
        /// SDKs refresh by themselves through renewals
        #[arg(long)]
        server: bool,
        /// The command and its arguments, after --
        #[arg(last = true, required = true, value_name = "COMMAND")]
        command: Vec<OsString>,
    },
    /// Serve PROFILE's credentials on 127.0.0.1 for containers and other hosts' SDKs
    /// (the ECS container credentials protocol); prints the two variables that point an
    /// SDK at it as KEY=value lines (for `docker run --env-file`), then serves until stopped
    Serve {
        profile: String,
        /// The port on 127.0.0.1 (default: any free port)
        #[arg(long, default_value_t = 0)]
        port: u16,
    },
    /// Open the AWS console signed in with PROFILE: a role profile signs in with its role
    /// session; a profile without a role as its IAM user through GetFederationToken, which
    /// carries no MFA. The sign-in URL is a credential: it is never logged
    Login {
        profile: String,
        /// Print the sign-in URL instead of opening a browser (anyone who opens it within
        /// 15 minutes is signed in)
        #[arg(long)]
        print: bool,
        /// The console page to land on (default: the console home in the profile's region)
        #[arg(long, value_name = "URL")]
        destination: Option<String>,
    },
    /// Print PROFILE's credentials as variable assignments for eval
    Env {
        profile: String,
        /// The shell whose syntax to print
        #[arg(long, value_enum, default_value_t = Shell::Sh)]
        shell: Shell,
    },
    /// Print a short segment for the shell prompt: the profile and its time left
    Prompt {
        /// The profile (default: $AWS_PROFILE)
        profile: Option<String>,
        /// A template with {profile}, {left}, {mark} (! when renewal is due), {expires}, {state}
        #[arg(long, default_value = DEFAULT_PROMPT_FORMAT)]
        format: String,
    },
    /// The secret store: create the file store, change its passphrase, move entries
    /// between stores, show which store is used
    Store {
        #[command(subcommand)]
        command: StoreCommand,
    },
    /// Set up, list and remove the MFA devices of the IAM user behind a profile
    Mfa {
        #[command(subcommand)]
        command: MfaCommand,
    },
    /// Replace the long-term access key of PROFILE: a new key made with the MFA session,
    /// proven, stored, then the old one deleted. Sessions made with the old key stay valid
    Rotate { profile: String },
    /// Audit the account's MFA: the root user, users without MFA, old or unused access keys,
    /// devices nobody holds, and whether a deny-without-MFA policy applies. Exit status
    /// 0: nothing found, 1: findings, 2: could not audit
    Audit {
        /// The profile whose credentials read the account (any profile; default: the
        /// SDKs' chain)
        #[arg(long)]
        profile: Option<String>,
        /// Print JSON instead of a table
        #[arg(long)]
        json: bool,
    },
    /// Print the enforce-MFA policy (everything denied without MFA but setting up a device),
    /// or with --apply create or update it in the account and attach it
    #[command(group(clap::ArgGroup::new("target").args(["group", "user"]).requires("apply")))]
    Policy {
        /// Create or update the customer managed policy mfad-enforce-mfa and attach it
        #[arg(long, requires = "target")]
        apply: bool,
        /// The group to attach it to
        #[arg(long)]
        group: Option<String>,
        /// The user to attach it to
        #[arg(long)]
        user: Option<String>,
        /// The profile whose credentials write it (any profile; default: the SDKs' chain)
        #[arg(long)]
        profile: Option<String>,
    },
    /// Print shell completions for mfad
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Drop the session of PROFILE, or all sessions
    Logout {
        #[arg(required_unless_present = "all")]
        profile: Option<String>,
        /// Drop every session
        #[arg(long, conflicts_with = "profile")]
        all: bool,
    },
}

/// The segment `mfad prompt` prints unless `--format` says otherwise.
pub const DEFAULT_PROMPT_FORMAT: &str = "{profile} {left}{mark}";

#[derive(Debug, Args)]
pub struct DaemonArgs {
    /// Check the daemon's config file ($XDG_CONFIG_HOME/mfad/config.toml) and exit
    #[arg(long)]
    pub check_config: bool,
}

/// Shells whose variable syntax `mfad env` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    Sh,
    Fish,
    Powershell,
}

#[derive(Debug, Subcommand)]
pub enum StoreCommand {
    /// Create the encrypted file store (its passphrase asked twice)
    Init,
    /// Change the file store's passphrase
    Passwd,
    /// Move every entry (keys, TOTP secrets, sessions) to another store: each is copied,
    /// checked, then removed from the old store
    Migrate {
        /// The store to move the entries to
        #[arg(long, value_enum)]
        to: MigrateTarget,
    },
    /// Show which store is used and what it holds
    Status,
}

/// Where `mfad store migrate` moves the entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MigrateTarget {
    File,
    SecretService,
}

#[derive(Debug, Subcommand)]
pub enum TotpCommand {
    /// Store the TOTP secret of SERIAL (base32 or otpauth:// URI, from stdin or the terminal)
    Add { serial: String },
    /// Print the current code of SERIAL
    Code { serial: String },
    /// Remove the TOTP secret of SERIAL
    Remove { serial: String },
}

#[derive(Debug, Subcommand)]
pub enum MfaCommand {
    /// Create a virtual MFA device for the IAM user of PROFILE (its key stored with
    /// `mfad add`), enable it with two consecutive codes, set mfa_serial in the profile
    /// and fetch a first session. The seed is kept in the secret store and shown as a QR
    /// code on the terminal for a phone app.
    Enroll {
        profile: String,
        /// The device's name in IAM (default: the user name, then NAME-2, NAME-3…)
        #[arg(long)]
        device_name: Option<String>,
        /// Keep the seed only in the phone app: the two codes are asked
        #[arg(long)]
        no_store: bool,
        /// Add a device to a user who already has one (AWS allows 8; two are recommended)
        #[arg(long)]
        additional: bool,
        /// Also print the seed and the otpauth:// URI (they give the device to whoever sees them)
        #[arg(long)]
        show_secret: bool,
    },
    /// List the MFA devices of the IAM user of PROFILE: which one the profile uses and
    /// whether mfad holds its secret
    List {
        profile: String,
        /// Print JSON instead of a table
        #[arg(long)]
        json: bool,
    },
    /// Resynchronise the device of PROFILE with AWS (when AWS rejects its codes as out of
    /// step): two consecutive codes from the seed mfad holds, else typed
    Resync {
        profile: String,
        /// Type the codes from the phone app even though mfad holds the seed
        #[arg(long)]
        ask: bool,
    },
    /// Deactivate and delete the device of PROFILE (with its MFA session), and remove its
    /// seed, the profile's mfa_serial and its sessions. Asks for confirmation
    Remove {
        profile: String,
        /// Do not ask for confirmation
        #[arg(long)]
        yes: bool,
    },
}

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
