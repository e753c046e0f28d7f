//! `mfad`, the front every command starts in. The two commands that run all day, `mfad
//! process PROFILE` (every AWS call) and `mfad prompt [PROFILE]` (every shell prompt),
//! are answered here by a binary that holds little more than the socket client, so they
//! start as cheaply as a program can: most of a cached call's time was the loader mapping
//! and relocating the whole program (see BENCHMARKS.md). Anything else, `--help` and any
//! flag included, is handed by exec to `mfad-core` beside it, under the name `mfad`.
//!
//! The front starts at the C entry point: std's own start (a probe of the main thread's
//! stack through /proc/self/maps, a signal stack, a poll of the standard descriptors)
//! was a measurable share of a millisecond call, and these two commands need none of it.

#![no_main]

use mfad::cli::DEFAULT_PROMPT_FORMAT;
use mfad::commands;
use std::io::Write;
use std::os::unix::process::CommandExt;
use std::process::Command;

const SUCCESS: libc::c_int = 0;
const FAILURE: libc::c_int = 1;

#[unsafe(no_mangle)]
extern "C" fn main(_argc: libc::c_int, _argv: *const *const libc::c_char) -> libc::c_int {
    // What std's start does that matters here: a reader gone away is an error to report,
    // not a signal that kills.
    // SAFETY: setting a signal's disposition to ignored, before any thread exists.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
    // Before anything: every mfad process may come to hold a secret.
    if let Err(error) = mfad::coredump::forbid() {
        eprintln!("mfad: cannot keep secrets out of core dumps (setrlimit, prctl): {error}");
        return FAILURE;
    }
    let code = fast_path().unwrap_or_else(hand_over);
    // std's exit would flush stdout; returning from C's main does not.
    let _ = std::io::stdout().flush();
    code
}

/// `process PROFILE` and `prompt [PROFILE]` as plain words; `None` for anything else.
fn fast_path() -> Option<libc::c_int> {
    let args: Vec<String> = std::env::args_os()
        .skip(1)
        .map(|arg| arg.into_string().ok())
        .collect::<Option<_>>()?;
    if args.iter().any(|arg| arg.starts_with('-')) {
        return None;
    }
    match args.as_slice() {
        [command, profile] if command == "process" => Some(match commands::process::run(profile) {
            Ok(()) => SUCCESS,
            Err(failure) => {
                eprintln!("mfad process {profile}: {failure}");
                FAILURE
            }
        }),
        [command, profile @ ..] if command == "prompt" && profile.len() <= 1 => {
            commands::prompt::run(profile.first().map(String::as_str), DEFAULT_PROMPT_FORMAT);
            Some(SUCCESS)
        }
        _ => None,
    }
}

/// Become `mfad-core` with the same arguments; returns only when that fails.
fn hand_over() -> libc::c_int {
    let error = match mfad::paths::core_binary() {
        Ok(core) => {
            let error = Command::new(&core)
                .arg0("mfad")
                .args(std::env::args_os().skip(1))
                .exec();
            format!("cannot run {} ({error})", core.display())
        }
        Err(error) => format!("cannot find where mfad was started from ({error})"),
    };
    eprintln!(
        "mfad: {error}; mfad and {} belong in one directory: install both (the package, or `cargo install mfad`)",
        mfad::paths::CORE_BINARY
    );
    FAILURE
}
