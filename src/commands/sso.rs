//! `mfad sso login|logout|status|populate`: IAM Identity Center through the daemon, which
//! holds the tokens (they never reach this process).

use super::sso_status;
use crate::cli::SsoCommand;
use crate::client::ask_daemon;
use crate::config::{self, CallerEnv, edit};
use crate::failure::Failure;
use crate::messages;
use crate::protocol::{Request, Response, SsoAccount, SsoTarget};

pub fn run(command: &SsoCommand) -> Result<(), Failure> {
    match command {
        SsoCommand::Login { session, profile } => {
            let target = match (session, profile) {
                (Some(session), _) => SsoTarget::Session(session.clone()),
                (None, Some(profile)) => SsoTarget::Profile(profile.clone()),
                (None, None) => unreachable!("clap requires one"),
            };
            done(ask_daemon(|caller| Request::SsoLogin {
                target: target.clone(),
                caller,
            })?)
        }
        SsoCommand::Logout { session } => done(ask_daemon(|caller| Request::SsoLogout {
            session: session.clone(),
            caller,
        })?),
        SsoCommand::Status { session, json } => sso_status::run(session.as_deref(), *json),
        SsoCommand::Populate {
            session,
            prefix,
            region,
        } => populate(session, prefix, region.as_deref()),
    }
}

fn done(answer: Response) -> Result<(), Failure> {
    match answer {
        Response::Done { message } => {
            println!("{message}");
            Ok(())
        }
        other => Err(messages::unexpected_answer(other)),
    }
}

/// Add `[profile PREFIX<account>-<role>]` for every account and role of the session that
/// the config does not have yet, touching no other byte of it.
fn populate(session: &str, prefix: &str, region: Option<&str>) -> Result<(), Failure> {
    let answer = ask_daemon(|caller| Request::SsoAccounts {
        session: session.to_owned(),
        caller,
    })?;
    let Response::SsoAccounts { accounts } = answer else {
        return Err(messages::unexpected_answer(answer));
    };
    let env: CallerEnv = std::env::vars().collect();
    let path = config::config_path(&env);
    let wanted = profiles(session, prefix, region, &accounts);
    let added = std::cell::RefCell::new(Vec::new());
    config::credfile::edit(&path, "profiles", |text| {
        let mut added = added.borrow_mut();
        added.clear();
        let mut text = text.to_owned();
        for (name, settings) in &wanted {
            let header = edit::header_of(name);
            if text
                .lines()
                .any(|line| line.trim() == format!("[{header}]"))
            {
                continue;
            }
            for (key, value) in settings {
                text = edit::set(&text, &header, key, value).unwrap_or(text);
            }
            added.push(name.clone());
        }
        Ok(Some(text))
    })
    .map_err(|error| messages::config_not_updated(&path, error))?;
    let added = added.into_inner();
    if added.is_empty() {
        println!(
            "every account and role of {session} has a profile in {} already",
            path.display()
        );
    } else {
        println!("added to {}: {}", path.display(), added.join(", "));
    }
    Ok(())
}

/// The profiles for the accounts and roles, named `PREFIX<account name>-<role>` made safe.
fn profiles(
    session: &str,
    prefix: &str,
    region: Option<&str>,
    accounts: &[SsoAccount],
) -> Vec<(String, Vec<(&'static str, String)>)> {
    let mut profiles = Vec::new();
    for account in accounts {
        let account_name = if account.name.is_empty() {
            &account.account_id
        } else {
            &account.name
        };
        for role in &account.roles {
            let name = safe_name(&format!("{prefix}{account_name}-{role}"));
            let mut settings = vec![
                ("mfad_sso_session", session.to_owned()),
                ("mfad_sso_account_id", account.account_id.clone()),
                ("mfad_sso_role_name", role.clone()),
            ];
            if let Some(region) = region {
                settings.push(("region", region.to_owned()));
            }
            settings.push(("credential_process", format!("mfad process {name}")));
            profiles.push((name, settings));
        }
    }
    profiles
}

/// A profile name a config and a shell both take: lower-case letters, digits, `_`, `.`,
/// and single `-` for anything else.
fn safe_name(name: &str) -> String {
    let mut cleaned = String::new();
    for c in name.chars() {
        let c = if c.is_ascii_alphanumeric() || "_.".contains(c) {
            c.to_ascii_lowercase()
        } else {
            '-'
        };
        if !(c == '-' && cleaned.ends_with('-')) {
            cleaned.push(c);
        }
    }
    cleaned.trim_matches('-').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_names_are_made_safe_and_each_role_gets_one() {
        let accounts = [SsoAccount {
            account_id: "111122223333".into(),
            name: "Prod [EU] / main".into(),
            roles: vec!["AdministratorAccess".into(), "Read Only".into()],
        }];
        let made = profiles("corp", "corp-", Some("eu-west-1"), &accounts);
        let names: Vec<_> = made.iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(
            names,
            [
                "corp-prod-eu-main-administratoraccess",
                "corp-prod-eu-main-read-only"
            ]
        );
        assert!(
            made[0]
                .1
                .contains(&("mfad_sso_account_id", "111122223333".into()))
        );
        assert!(made[0].1.contains(&("region", "eu-west-1".into())));
    }
}
