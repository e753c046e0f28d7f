//! Files mfad reads or writes.

use crate::failure::{Failure, FailureKind};
use std::fmt::Display;
use std::path::Path;

// --- Files ---------------------------------------------------------------------------

pub fn aws_files_hang(files: &str, stalled: impl Display) -> Failure {
    Failure::new(
        FailureKind::Config,
        format!("reading {files}: {stalled}"),
        "the file system holding them hangs (a network file system?); check it, or point AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE elsewhere",
    )
}

pub fn credentials_file_hangs(path: &Path, stalled: impl Display) -> Failure {
    Failure::new(
        FailureKind::Config,
        format!("updating {}: {stalled}", path.display()),
        "the file system holding it hangs (a network file system?); check it",
    )
}

pub fn used_codes_record_hangs(stalled: impl Display) -> Failure {
    Failure::new(
        FailureKind::Internal,
        format!("the record of used MFA codes could not be read: {stalled}"),
        "the file system holding ~/.local/state/mfad hangs; check it (mfad sends no code it cannot record)",
    )
}
