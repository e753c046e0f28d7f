//! Every `mfad …` command that a message or remedy quotes (in backticks, in a string of
//! the source) exists: it parses with the clap definition of the command line.

use clap::Parser;
use mfad::cli::Cli;
use std::path::Path;

fn rust_files(dir: &Path, found: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

/// The commands quoted in backticks in a text: what follows `mfad ` up to the closing
/// backtick.
fn quoted_commands(text: &str) -> Vec<String> {
    text.split('`')
        .skip(1)
        .step_by(2)
        .filter_map(|quoted| quoted.strip_prefix("mfad "))
        .map(str::to_owned)
        .collect()
}

/// The arguments of a quoted command, with placeholders (`{profile}`, `PROFILE`) made
/// concrete and shell redirections and pipes cut off.
fn arguments(command: &str) -> Vec<String> {
    command
        .split_whitespace()
        .take_while(|token| !["<", ">", "|", "&&", ";"].contains(token))
        .map(|token| {
            let placeholder = token.starts_with('{')
                || (token.len() > 1 && token.chars().all(|c| c.is_ascii_uppercase() || c == '_'));
            if placeholder {
                "x".to_owned()
            } else {
                token.to_owned()
            }
        })
        .collect()
}

#[test]
fn every_quoted_mfad_command_parses() {
    let mut files = Vec::new();
    rust_files(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut files,
    );
    let mut checked = 0;
    let mut wrong = Vec::new();
    for file in files {
        let source = std::fs::read_to_string(&file).unwrap();
        // Messages live in strings; comments name commands without their arguments.
        let code: String = source
            .lines()
            .filter(|line| !line.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        for command in quoted_commands(&code) {
            // Synopses in doc comments ("mfad logout [PROFILE | --all]") are not commands.
            if command.contains('[') {
                continue;
            }
            let mut argv = vec!["mfad".to_owned()];
            argv.extend(arguments(&command));
            checked += 1;
            if let Err(error) = Cli::try_parse_from(&argv) {
                wrong.push(format!(
                    "{}: `mfad {command}`: {}",
                    file.display(),
                    error.kind()
                ));
            }
        }
    }
    assert!(checked >= 10, "only {checked} quoted commands found");
    assert!(
        wrong.is_empty(),
        "quoted commands that do not exist:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn a_command_that_does_not_exist_is_caught() {
    let commands = quoted_commands("restart it: `mfad daemon --replace`, or `mfad status`");
    assert_eq!(commands, ["daemon --replace", "status"]);
    let mut argv = vec!["mfad".to_owned()];
    argv.extend(arguments(&commands[0]));
    assert!(Cli::try_parse_from(&argv).is_err());
    assert_eq!(
        arguments("totp add {serial} < secret.txt"),
        ["totp", "add", "x"]
    );
}

/// One path from error to message: outside the catalogue (`src/messages/`) and `Failure`
/// itself, no code writes a `Failure` with text of its own; errors of a domain say theirs
/// through `Explain`.
#[test]
fn failures_are_written_in_the_catalogue_only() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut outside = Vec::new();
    for file in &files {
        let relative = file.strip_prefix(&src).unwrap();
        if relative.starts_with("messages") || relative == Path::new("failure.rs") {
            continue;
        }
        let source = std::fs::read_to_string(file).unwrap();
        let code = source.split("#[cfg(test)]\nmod tests").next().unwrap();
        if code.contains("Failure::new(") {
            outside.push(relative.display().to_string());
        }
    }
    assert!(files.len() > 50, "the source tree was not found");
    assert!(
        outside.is_empty(),
        "Failure::new outside the catalogue: {outside:?}"
    );
}
