//! `mfad logout [PROFILE | --all]`.

use crate::client::{Client, Start};
use crate::failure::{Failure, FailureKind};
use crate::paths::DaemonPaths;
use crate::protocol::{Request, Response};

pub fn run(profile: Option<&str>) -> Result<(), Failure> {
    let paths = DaemonPaths::from_env();
    let mut client = match Client::connect(&paths, Start::Never) {
        Ok(client) => client,
        Err(failure) if failure.kind == FailureKind::NoDaemon => {
            println!("no mfad daemon runs, so no sessions are held");
            return Ok(());
        }
        Err(failure) => return Err(failure),
    };
    let request = Request::Logout {
        profile: profile.map(str::to_owned),
    };
    if let Response::Done { message } = client.request(&request)? {
        println!("{message}");
    }
    Ok(())
}
