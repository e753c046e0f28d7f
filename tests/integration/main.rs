//! mfad's integration tests, in one binary (one link instead of one per file).
//!
//! Plain `cargo test` runs the part that needs nothing but Rust and Python: real mfad
//! processes over the real socket, the STS double, the credentials-file property tests,
//! the layering and remedy checks. The system tests (a Secret Service, the AWS CLI and
//! boto3, an X display, systemd, TLS and a proxy, shells, root) are compiled too but
//! ignored, each saying what it needs, unless the `system-tests` feature is on:
//! `tests/run.sh` installs what they need and runs them all.

mod support;

mod audit;
mod aws_login;
mod aws_login_bench;
mod clients;
mod codes;
mod credfile_edits;
mod daemon;
mod desktop;
mod endpoint;
mod errors;
mod exec;
mod helpers;
mod install;
mod layers;
mod login;
mod man;
mod mfa;
mod network;
mod persistence;
mod profiles;
mod prompt;
mod remedies;
mod roles;
mod rotate;
mod rust_sdk;
mod security;
mod service;
mod sessions;
mod sso;
mod sso_bench;
mod store;
mod wrap;
