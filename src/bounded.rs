//! Inputs with bounds: files a caller names are read with a size cap and never opened in
//! a way that can block (a FIFO without a writer), and blocking work runs off the async
//! workers with a time limit, so a hung file system stalls one thread and one caller,
//! never the daemon.

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

/// The largest AWS config, credentials or CA bundle file mfad reads (SSO-generated
/// configs of large organisations stay well below it).
pub const MAX_FILE_BYTES: u64 = 16 << 20;

/// How long reading or writing one file may take before the caller is told.
pub const FILE_TIME_LIMIT: Duration = Duration::from_secs(5);

/// Why a file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("it is {0}, not a regular file")]
    NotAFile(&'static str),
    #[error("it is larger than {} MiB", .0 >> 20)]
    TooLarge(u64),
    #[error("it has nothing to read now (a terminal or other device?)")]
    WouldBlock,
    #[error("it is not UTF-8 text")]
    NotText,
    #[error("{0}")]
    Io(io::Error),
}

impl From<io::Error> for FileError {
    fn from(error: io::Error) -> Self {
        match error.kind() {
            io::ErrorKind::WouldBlock => Self::WouldBlock,
            _ => Self::Io(error),
        }
    }
}

/// Open a file for reading without ever blocking in `open` (FIFOs, terminals), and check
/// that it is something to read: a regular file, or a character device such as
/// `/dev/null` (read with the same cap). `None` if it does not exist.
pub fn open(path: &Path) -> Result<Option<File>, FileError> {
    let flags = rustix::fs::OFlags::NONBLOCK | rustix::fs::OFlags::NOCTTY;
    let file = match OpenOptions::new()
        .read(true)
        .custom_flags(flags.bits() as i32)
        .open(path)
    {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let kind = file.metadata()?.file_type();
    let refused = if kind.is_dir() {
        Some("a directory")
    } else if kind.is_fifo() {
        Some("a FIFO (named pipe)")
    } else if kind.is_socket() {
        Some("a socket")
    } else if kind.is_block_device() {
        Some("a block device")
    } else {
        None
    };
    match refused {
        Some(what) => Err(FileError::NotAFile(what)),
        None => Ok(Some(file)),
    }
}

/// Read at most `cap` bytes of a file. `None` if it does not exist.
pub fn read_bytes(path: &Path, cap: u64) -> Result<Option<Vec<u8>>, FileError> {
    let Some(file) = open(path)? else {
        return Ok(None);
    };
    if file.metadata()?.len() > cap {
        return Err(FileError::TooLarge(cap));
    }
    let mut bytes = Vec::new();
    file.take(cap + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > cap {
        return Err(FileError::TooLarge(cap));
    }
    Ok(Some(bytes))
}

/// Read a text file of at most `cap` bytes. `None` if it does not exist.
pub fn read_text(path: &Path, cap: u64) -> Result<Option<String>, FileError> {
    match read_bytes(path, cap)? {
        Some(bytes) => String::from_utf8(bytes)
            .map(Some)
            .map_err(|_| FileError::NotText),
        None => Ok(None),
    }
}

/// What a child process printed, each stream cut at a cap, and how it ended. A child that
/// prints more loses its pipes (and gets SIGPIPE) rather than filling mfad's memory.
pub struct ChildOutput {
    pub status: std::process::ExitStatus,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

/// The most mfad reads of what a helper program prints on each stream.
pub const MAX_CHILD_OUTPUT: u64 = 64 << 10;

/// Wait for a child (spawned with piped stdout and stderr) and read at most
/// [`MAX_CHILD_OUTPUT`] of each of its streams.
pub async fn child_output(mut child: tokio::process::Child) -> io::Result<ChildOutput> {
    use tokio::io::AsyncReadExt;
    async fn capped(stream: Option<impl tokio::io::AsyncRead + Unpin>) -> io::Result<Vec<u8>> {
        let mut bytes = Vec::new();
        if let Some(stream) = stream {
            stream
                .take(MAX_CHILD_OUTPUT)
                .read_to_end(&mut bytes)
                .await?;
        }
        Ok(bytes)
    }
    let (stdout, stderr) =
        tokio::try_join!(capped(child.stdout.take()), capped(child.stderr.take()))?;
    let status = child.wait().await?;
    Ok(ChildOutput {
        status,
        stdout,
        stderr,
    })
}

/// Run a person's command line (`passphrase_command`, `mfa_process`, a wrapped credential
/// helper) through `sh -c` with `env` added, no stdin, and its stderr not read (it may hold
/// anything, and mfad does not log it): what it printed on stdout (capped) when it exits 0
/// within `limit`; else what went wrong, in words.
///
/// The command runs in a process group of its own, and that whole group is killed once
/// the command has exited, timed out or been given up: a child it left in the background
/// (`(sleep 130 &); cat pass`) neither delays the answer by holding stdout open nor
/// outlives it, and `sleep 1000; echo x` is ended at `limit` with everything it started.
/// Programs that are meant to outlive their caller (gpg-agent, a password manager's
/// daemon) start their own session and are not touched.
pub async fn shell_stdout<K, V>(
    command: &str,
    env: impl IntoIterator<Item = (K, V)>,
    limit: Duration,
) -> Result<Vec<u8>, String>
where
    K: AsRef<std::ffi::OsStr>,
    V: AsRef<std::ffi::OsStr>,
{
    let mut child = tokio::process::Command::new("/bin/sh")
        .arg("-c")
        .arg(command)
        .envs(env)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("could not start ({e})"))?;
    let _group = child.id().map(ProcessGroup);
    let mut printed = Vec::new();
    let ran = tokio::time::timeout(limit, stdout_until_exit(&mut child, &mut printed)).await;
    let outcome = match ran {
        Err(_) => Err(format!("did not finish within {}s", limit.as_secs_f64())),
        Ok(Err(e)) => Err(format!("failed ({e})")),
        Ok(Ok(status)) if !status.success() => Err(format!("exited with {status}")),
        Ok(Ok(_)) => return Ok(printed),
    };
    zeroize::Zeroize::zeroize(&mut printed);
    outcome
}

/// Read what `child` prints until it exits (not until its stdout closes: a background
/// child may hold that open for ever), then what it left in the pipe. At most
/// [`MAX_CHILD_OUTPUT`] is kept; past that the pipe is closed, so a child printing without
/// end dies of SIGPIPE.
async fn stdout_until_exit(
    child: &mut tokio::process::Child,
    printed: &mut Vec<u8>,
) -> io::Result<std::process::ExitStatus> {
    use tokio::io::AsyncReadExt;
    let mut stdout = child.stdout.take();
    let mut chunk = [0u8; 4096];
    let status = loop {
        let Some(open) = stdout.as_mut() else {
            break child.wait().await?;
        };
        tokio::select! {
            read = open.read(&mut chunk) => match read? {
                0 => stdout = None,
                n => {
                    printed.extend_from_slice(&chunk[..n]);
                    if printed.len() as u64 >= MAX_CHILD_OUTPUT {
                        printed.truncate(MAX_CHILD_OUTPUT as usize);
                        stdout = None;
                    }
                }
            },
            status = child.wait() => break status?,
        }
    };
    if let Some(open) = &stdout {
        // Whatever the command wrote before it exited is in the pipe now: read it without
        // waiting (tokio keeps the pipe non-blocking) until the pipe is empty.
        use std::os::fd::AsFd;
        while (printed.len() as u64) < MAX_CHILD_OUTPUT {
            match rustix::io::read(open.as_fd(), &mut chunk) {
                Ok(0) | Err(_) => break,
                Ok(n) => printed.extend_from_slice(&chunk[..n]),
            }
        }
        printed.truncate(MAX_CHILD_OUTPUT as usize);
    }
    chunk.fill(0);
    Ok(status)
}

/// A helper's process group, killed (whatever is left of it) when this is dropped.
struct ProcessGroup(u32);

impl Drop for ProcessGroup {
    fn drop(&mut self) {
        if let Some(group) = rustix::process::Pid::from_raw(self.0 as i32) {
            // Nothing left of the group is what we want.
            let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
        }
    }
}

/// Blocking work that did not finish in time.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Stalled {
    #[error("it did not finish within {}s", .0.as_secs_f64())]
    TimedOut(Duration),
    #[error("an earlier attempt is still stuck")]
    StillStuck,
}

/// Keys of jobs that overran their limit and have not finished yet.
static STUCK: LazyLock<Mutex<HashSet<String>>> = LazyLock::new(Mutex::default);

/// Run blocking work on tokio's blocking pool and wait for it at most `limit`. A job that
/// overruns is left to finish on its own (a hung file system cannot be interrupted), and
/// until it does, jobs of the same `key` (a path) are refused at once: a stuck path costs
/// one thread, not one per request.
pub async fn offload<T: Send + 'static>(
    key: &str,
    limit: Duration,
    job: impl FnOnce() -> T + Send + 'static,
) -> Result<T, Stalled> {
    if STUCK.lock().unwrap().contains(key) {
        return Err(Stalled::StillStuck);
    }
    let done = Arc::new(Mutex::new(false));
    let (finished, owned_key) = (done.clone(), key.to_owned());
    let task = tokio::task::spawn_blocking(move || {
        let result = job();
        let mut stuck = STUCK.lock().unwrap();
        *finished.lock().unwrap() = true;
        stuck.remove(&owned_key);
        result
    });
    match tokio::time::timeout(limit, task).await {
        Ok(Ok(result)) => Ok(result),
        Ok(Err(join_error)) => std::panic::resume_unwind(join_error.into_panic()),
        Err(_) => {
            let mut stuck = STUCK.lock().unwrap();
            if !*done.lock().unwrap() {
                stuck.insert(key.to_owned());
            }
            Err(Stalled::TimedOut(limit))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fifos_directories_and_oversized_files_are_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &fifo,
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
        let error = read_text(&fifo, 100).unwrap_err();
        assert!(error.to_string().contains("a FIFO"), "{error}");
        let error = read_text(dir.path(), 100).unwrap_err();
        assert!(error.to_string().contains("a directory"), "{error}");
        let big = dir.path().join("big");
        std::fs::write(&big, vec![b'x'; 101]).unwrap();
        assert!(matches!(
            read_text(&big, 100),
            Err(FileError::TooLarge(100))
        ));
        assert!(matches!(
            read_text(Path::new("/dev/zero"), 100),
            Err(FileError::TooLarge(100))
        ));
        assert_eq!(
            read_text(Path::new("/dev/null"), 100).unwrap().as_deref(),
            Some("")
        );
        assert!(
            read_text(&dir.path().join("missing"), 100)
                .unwrap()
                .is_none()
        );
    }

    /// Whether a process has ended (gone, or a zombie nobody reaped yet).
    fn ended(pid: &str) -> bool {
        match std::fs::read_to_string(format!("/proc/{}/stat", pid.trim())) {
            Ok(stat) => stat
                .rsplit(')')
                .next()
                .unwrap_or("")
                .trim_start()
                .starts_with('Z'),
            Err(_) => true,
        }
    }

    fn until(mut check: impl FnMut() -> bool) -> bool {
        (0..500).any(|_| {
            std::thread::sleep(Duration::from_millis(10));
            check()
        })
    }

    #[tokio::test]
    async fn a_helper_is_answered_when_it_exits_and_its_background_children_end_with_it() {
        let dir = tempfile::tempdir().unwrap();
        let pid_file = dir.path().join("pid");
        // The background child holds stdout open for 30 s: waiting for the pipe to close
        // would run into the 20 s limit.
        let command = format!("(sleep 30 & echo $! > {}); echo pass", pid_file.display());
        let printed = shell_stdout(&command, [("A", "B")], Duration::from_secs(20))
            .await
            .unwrap();
        assert_eq!(printed, b"pass\n");
        let pid = std::fs::read_to_string(&pid_file).unwrap();
        assert!(
            until(|| ended(&pid)),
            "the background child {pid} outlived the helper"
        );
    }

    #[tokio::test]
    async fn a_helper_that_overruns_is_killed_with_everything_it_started() {
        let dir = tempfile::tempdir().unwrap();
        let pid_file = dir.path().join("pid");
        let command = format!(
            "sleep 1000 & echo $! > {}; wait; echo x",
            pid_file.display()
        );
        let error = shell_stdout(&command, [("A", "B")], Duration::from_millis(300))
            .await
            .unwrap_err();
        assert!(error.contains("did not finish within 0.3s"), "{error}");
        let pid = std::fs::read_to_string(&pid_file).unwrap();
        assert!(until(|| ended(&pid)), "sleep 1000 ({pid}) was not killed");
    }

    #[tokio::test]
    async fn a_stuck_job_is_timed_out_and_its_key_refused_until_it_ends() {
        let (release, held) = std::sync::mpsc::channel::<()>();
        let stuck = offload("test-key", Duration::from_millis(50), move || {
            let _ = held.recv();
        })
        .await;
        assert_eq!(stuck, Err(Stalled::TimedOut(Duration::from_millis(50))));
        let again = offload("test-key", Duration::from_secs(5), || ()).await;
        assert_eq!(again, Err(Stalled::StillStuck));
        assert_eq!(
            offload("other-key", Duration::from_secs(5), || 7).await,
            Ok(7)
        );
        release.send(()).unwrap();
        // Once the stuck job ends, its key is served again.
        let mut result = Err(Stalled::StillStuck);
        for _ in 0..500 {
            result = offload("test-key", Duration::from_secs(5), || ()).await;
            if result.is_ok() {
                break;
            }
            tokio::task::yield_now().await;
            std::thread::sleep(Duration::from_millis(2));
        }
        assert_eq!(result, Ok(()));
    }
}
