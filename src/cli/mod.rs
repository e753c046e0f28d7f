//! The command line, as clap definitions (also the source of man pages and completions);
//! what the man pages say beyond them is in [`manual`].

pub mod manual;

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
    /// Print credentials of PROFILE as credential_process JSON (Version 1: AccessKeyId,
    /// SecretAccessKey, SessionToken, Expiration, AccountId) for the AWS CLI and SDKs;
    /// starts the daemon if none runs, which may ask for an MFA code or a sign-in
    Process {
        /// The profile in ~/.aws/config
        profile: String,
    },
    /// Set up PROFILE: the secret store, the config, the access key and the TOTP secret,
    /// each asked once
    ///
    /// The secret store comes first: with no Secret Service, the encrypted file store is
    /// created (its passphrase typed twice) before any secret is asked. Then [profile
    /// PROFILE] is added to ~/.aws/config when it is missing, and the profile's access key
    /// and its MFA device's TOTP secret are asked only when they are not stored already
    /// (Enter skips the TOTP secret: mfad then asks for codes).
    Setup {
        /// The profile in ~/.aws/config (added when it is not there)
        profile: String,
        /// The MFA device's ARN, for a profile that is not in ~/.aws/config yet
        #[arg(long, value_name = "ARN")]
        serial: Option<String>,
        /// Read the TOTP secret (base32 or otpauth:// URI) from FILE instead of asking
        #[arg(long, value_name = "FILE")]
        totp_file: Option<std::path::PathBuf>,
        /// Read the key from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY
        #[arg(long)]
        env: bool,
    },
    /// Store the long-term access key of PROFILE in the OS secret store
    Add {
        /// The profile in ~/.aws/config
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
        /// The profile in ~/.aws/config
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
        /// The profile in ~/.aws/config
        profile: String,
        /// The port on 127.0.0.1 (default: any free port)
        #[arg(long, default_value_t = 0)]
        port: u16,
    },
    /// Open the AWS console signed in with PROFILE: a role profile signs in with its role
    /// session; a profile without a role as its IAM user through GetFederationToken, which
    /// carries no MFA. The sign-in URL is a credential: it is never logged
    Login {
        /// The profile in ~/.aws/config
        profile: String,
        /// Print the sign-in URL instead of opening a browser (anyone who opens it within
        /// 15 minutes is signed in)
        #[arg(long)]
        print: bool,
        /// The console page to land on (default: the console home in the profile's region)
        #[arg(long, value_name = "URL")]
        destination: Option<String>,
    },
    /// Sign in to AWS in the browser as `aws login` does (password and any MFA, security
    /// keys included), for people without AWS CLI 2.32+: the session is written where the
    /// CLI and the SDKs read it, and PROFILE gets login_session. Profiles with
    /// mfad_login_profile = PROFILE are then served from it; when it ends, their callers
    /// are offered this sign-in again (in their browser, or on their terminal)
    AwsLogin {
        /// The profile in ~/.aws/config that gets login_session (created if missing)
        profile: String,
        /// Sign in with a browser on another device (over SSH, say): open the page shown
        /// there, then paste the code it gives back here
        #[arg(long)]
        remote: bool,
        /// Keep the session in mfad's secret store instead of the plaintext cache the CLI
        /// and the SDKs read (then only mfad serves it)
        #[arg(long)]
        store: bool,
    },
    /// Print PROFILE's credentials as variable assignments for eval
    Env {
        /// The profile in ~/.aws/config
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
    Rotate {
        /// The profile in ~/.aws/config whose IAM user's key is replaced
        profile: String,
    },
    /// Audit the account's MFA: the root user, users without MFA, old or unused access keys,
    /// devices nobody holds, and whether a deny-without-MFA policy applies; and, as a note,
    /// the users whose only MFA is a security key (they need `aws login` for the CLI).
    /// Exit status 0: nothing found, 1: findings, 2: could not audit
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
        /// The shell to print them for
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Drop the session of PROFILE, or all sessions
    Logout {
        /// The profile whose session to drop
        #[arg(required_unless_present = "all")]
        profile: Option<String>,
        /// Drop every session
        #[arg(long, conflicts_with = "profile")]
        all: bool,
    },
    /// IAM Identity Center: sign in to an sso-session, sign out, write profiles for every
    /// account and role
    Sso {
        #[command(subcommand)]
        command: SsoCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum SsoCommand {
    /// Sign in to an sso-session now (in the browser, else with a code), for every
    /// profile that uses it
    Login {
        /// The [sso-session NAME] of ~/.aws/config
        #[arg(required_unless_present = "profile")]
        session: Option<String>,
        /// The sso-session of this profile
        #[arg(long, conflicts_with = "session")]
        profile: Option<String>,
    },
    /// Sign out of an sso-session (or all): its token is revoked and forgotten, with the
    /// role credentials obtained through it
    Logout {
        /// The [sso-session NAME]; all of them when left out
        session: Option<String>,
    },
    /// Whether each sso-session is signed in, until when, and the roles taken through it;
    /// exits 1 when SESSION is named and not signed in
    Status {
        /// Only this [sso-session NAME]
        session: Option<String>,
        /// Print the report as JSON
        #[arg(long)]
        json: bool,
    },
    /// Add an mfad profile for every account and role the sso-session's person may take
    Populate {
        /// The [sso-session NAME] of ~/.aws/config
        session: String,
        /// Put this before each profile's name
        #[arg(long, default_value = "")]
        prefix: String,
        /// The region of the profiles written
        #[arg(long)]
        region: Option<String>,
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
    Add {
        /// The MFA device's ARN (mfa_serial)
        serial: String,
    },
    /// Print the current code of SERIAL
    Code {
        /// The MFA device's ARN (mfa_serial)
        serial: String,
    },
    /// Remove the TOTP secret of SERIAL
    Remove {
        /// The MFA device's ARN (mfa_serial)
        serial: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum MfaCommand {
    /// Create a virtual MFA device for the IAM user of PROFILE (its key stored with
    /// `mfad add`), enable it with two consecutive codes, set mfa_serial in the profile
    /// and fetch a first session. The seed is kept in the secret store and shown as a QR
    /// code on the terminal for a phone app.
    Enroll {
        /// The profile in ~/.aws/config
        profile: String,
        /// The device's name in IAM (default: the user name, then NAME-2, NAME-3 and so on)
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
        /// The profile in ~/.aws/config
        profile: String,
        /// Print JSON instead of a table
        #[arg(long)]
        json: bool,
    },
    /// Resynchronise the device of PROFILE with AWS (when AWS rejects its codes as out of
    /// step): two consecutive codes from the seed mfad holds, else typed
    Resync {
        /// The profile in ~/.aws/config
        profile: String,
        /// Type the codes from the phone app even though mfad holds the seed
        #[arg(long)]
        ask: bool,
    },
    /// Deactivate and delete the device of PROFILE (with its MFA session), and remove its
    /// seed, the profile's mfa_serial and its sessions. Asks for confirmation
    Remove {
        /// The profile in ~/.aws/config
        profile: String,
        /// Do not ask for confirmation
        #[arg(long)]
        yes: bool,
    },
}
