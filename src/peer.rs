//! Who is on the other side of the socket.
//!
//! The client sends its environment (which may hold a proxy password) and the MFA code a
//! person types, and hands the credentials it gets back to the AWS CLI. So, like ssh and
//! gpg clients, it first checks that the socket's directory is the user's own and not
//! writable by others, and after connecting that the process listening is of the user's
//! own uid. The daemon checks the uid of every process that connects.

use crate::failure::{Explain, FailureKind};
use std::fmt;
use std::fs::DirBuilder;
use std::io;
use std::os::fd::AsFd;
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

/// The effective uid of this process.
pub fn my_uid() -> u32 {
    rustix::process::geteuid().as_raw()
}

/// The uid of the process at the other end of a connected Unix socket.
pub fn peer_uid(socket: impl AsFd) -> io::Result<u32> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        Ok(rustix::net::sockopt::socket_peercred(socket)?.uid.as_raw())
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        use std::os::fd::AsRawFd;
        let (mut uid, mut gid) = (0, 0);
        // SAFETY: getpeereid writes two integers for a valid socket descriptor.
        let rc = unsafe { libc::getpeereid(socket.as_fd().as_raw_fd(), &mut uid, &mut gid) };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(uid)
    }
}

/// Why the client will not talk to what is at the socket path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Untrusted {
    /// The directory (or the socket in it) belongs to another user.
    Owner {
        path: PathBuf,
        what: &'static str,
        uid: u32,
    },
    /// The directory can be written by others, who could put a socket or file of theirs
    /// there.
    Writable {
        path: PathBuf,
        what: &'static str,
        mode: u32,
    },
    /// The path is not what it should be (a file where the directory should be…).
    Kind { path: PathBuf, found: &'static str },
    /// The process listening on the socket runs as another user.
    Peer { socket: PathBuf, uid: u32 },
}

impl fmt::Display for Untrusted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let me = my_uid();
        match self {
            Self::Owner { path, what, uid } => write!(
                f,
                "the {what} {} belongs to {}, not to you ({}); another user may be posing as your mfad daemon, so mfad sent it nothing",
                path.display(),
                describe_uid(*uid),
                describe_uid(me)
            ),
            Self::Writable { path, what, mode } => write!(
                f,
                "the {what} {} can be written by others (mode {mode:o}), who could put files of theirs in it; mfad uses it for nothing and leaves its mode as it is",
                path.display()
            ),
            Self::Kind { path, found } => {
                write!(
                    f,
                    "{} is {found}, not what mfad expects there",
                    path.display()
                )
            }
            Self::Peer { socket, uid } => write!(
                f,
                "the process listening on {} runs as {}, not as you ({}); mfad sent it nothing",
                socket.display(),
                describe_uid(*uid),
                describe_uid(me)
            ),
        }
    }
}

impl Explain for Untrusted {
    fn kind(&self) -> FailureKind {
        FailureKind::Untrusted
    }

    fn remedy(&self) -> String {
        match self {
            Self::Writable { path, what, .. } if *what == SOCKET_DIR => format!(
                "make it private (chmod 700 {}) or point MFAD_SOCKET at a socket in a directory only you can write",
                path.display()
            ),
            Self::Writable { path, .. } => format!(
                "make it private (chmod 700 {}) if it is yours to change, or move it away so that mfad creates its own",
                path.display()
            ),
            Self::Kind { path, .. } => format!(
                "move {} away, or point MFAD_SOCKET elsewhere",
                path.display()
            ),
            Self::Owner { .. } | Self::Peer { .. } => {
                "set XDG_RUNTIME_DIR, or MFAD_SOCKET to a path in a directory only you can write (e.g. ~/.mfad/agent.sock), and tell your administrator".into()
            }
        }
    }
}

/// What the socket's directory is called in messages.
pub const SOCKET_DIR: &str = "socket directory";

/// Create `dir` (mode 0700, with any missing parents), or check an existing one with
/// [`check_own_dir`]. mfad never changes the mode of a directory it did not create: an
/// existing one that is unsafe is refused, naming it (`MFAD_SOCKET=$HOME/x.sock` leaves
/// `$HOME` as it is, and `/tmp` keeps its sticky bit).
pub fn ensure_own_dir(dir: &Path, what: &'static str) -> Result<(), CheckError> {
    let create = || DirBuilder::new().mode(0o700).create(dir);
    match create() {
        // A new directory is mfad's own: 0700, or narrower by the umask.
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            if let Some(parent) = dir.parent() {
                DirBuilder::new()
                    .recursive(true)
                    .mode(0o700)
                    .create(parent)?;
            }
            match create() {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => check_own_dir(dir, what),
                Err(e) => Err(e.into()),
            }
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => check_own_dir(dir, what),
        Err(e) => Err(e.into()),
    }
}

/// Check that an existing directory is the user's and not writable by others. A symbolic
/// link to it counts only if the user made it.
pub fn check_own_dir(dir: &Path, what: &'static str) -> Result<(), CheckError> {
    let me = my_uid();
    let link = std::fs::symlink_metadata(dir)?;
    if link.file_type().is_symlink() && link.uid() != me {
        return Err(CheckError::Untrusted(Untrusted::Owner {
            path: dir.to_owned(),
            what: "symbolic link",
            uid: link.uid(),
        }));
    }
    let meta = std::fs::metadata(dir)?;
    if !meta.is_dir() {
        return Err(CheckError::Untrusted(Untrusted::Kind {
            path: dir.to_owned(),
            found: "not a directory",
        }));
    }
    if meta.uid() != me {
        return Err(CheckError::Untrusted(Untrusted::Owner {
            path: dir.to_owned(),
            what,
            uid: meta.uid(),
        }));
    }
    if meta.mode() & 0o022 != 0 {
        return Err(CheckError::Untrusted(Untrusted::Writable {
            path: dir.to_owned(),
            what,
            mode: meta.mode() & 0o7777,
        }));
    }
    Ok(())
}

/// Check that an existing socket directory is the user's and not writable by others, and
/// that a socket in it is the user's too.
pub fn check_private_dir(dir: &Path, socket: &Path) -> Result<(), CheckError> {
    let me = my_uid();
    check_own_dir(dir, SOCKET_DIR)?;
    match std::fs::symlink_metadata(socket) {
        Ok(meta) if meta.uid() != me => Err(CheckError::Untrusted(Untrusted::Owner {
            path: socket.to_owned(),
            what: "socket",
            uid: meta.uid(),
        })),
        Ok(meta) if !meta.file_type().is_socket() => Err(CheckError::Untrusted(Untrusted::Kind {
            path: socket.to_owned(),
            found: "not a socket",
        })),
        _ => Ok(()),
    }
}

/// A directory that cannot be trusted, or one that cannot be looked at.
#[derive(Debug)]
pub enum CheckError {
    Untrusted(Untrusted),
    Io(io::Error),
}

impl From<io::Error> for CheckError {
    fn from(error: io::Error) -> Self {
        Self::Io(error)
    }
}

/// Check that the process listening on a connected socket runs as this user.
pub fn check_peer(socket_path: &Path, stream: impl AsFd) -> Result<(), CheckError> {
    let uid = peer_uid(stream)?;
    if uid != my_uid() {
        return Err(CheckError::Untrusted(Untrusted::Peer {
            socket: socket_path.to_owned(),
            uid,
        }));
    }
    Ok(())
}

/// `uid 1000 (alice)`: the name from /etc/passwd when it has one.
pub fn describe_uid(uid: u32) -> String {
    match user_name(uid) {
        Some(name) => format!("uid {uid} ({name})"),
        None => format!("uid {uid}"),
    }
}

fn user_name(uid: u32) -> Option<String> {
    passwd_entry(uid).map(|fields| fields[0].clone())
}

/// The home directory `/etc/passwd` gives a uid.
pub fn home_of(uid: u32) -> Option<PathBuf> {
    passwd_entry(uid)
        .map(|fields| PathBuf::from(&fields[5]))
        .filter(|home| home.is_absolute())
}

/// The fields of a uid's line in `/etc/passwd` (name, password, uid, gid, gecos, home,
/// shell).
fn passwd_entry(uid: u32) -> Option<Vec<String>> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let fields: Vec<String> = line.split(':').map(str::to_owned).collect();
        let id: u32 = fields.get(2)?.parse().ok()?;
        (id == uid && fields.len() >= 7).then_some(fields)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::failure::Explain;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_private_directory_passes_and_a_writable_one_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("agent.sock");
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
        assert!(check_private_dir(dir.path(), &socket).is_ok());
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
        let Err(CheckError::Untrusted(untrusted)) = check_private_dir(dir.path(), &socket) else {
            panic!("a world-writable directory passed")
        };
        assert!(untrusted.to_string().contains("mode 777"), "{untrusted}");
        assert!(untrusted.remedy().contains("chmod 700"));
    }

    #[test]
    fn a_new_directory_is_private_and_an_existing_one_keeps_its_mode() {
        let top = tempfile::tempdir().unwrap();
        let mode = |path: &Path| std::fs::metadata(path).unwrap().mode() & 0o7777;
        let new = top.path().join("a/b/mfad");
        ensure_own_dir(&new, "state directory").unwrap();
        assert_eq!(mode(&new), 0o700);
        assert_eq!(mode(&top.path().join("a")), 0o700);
        // A home directory readable by all is safe and stays as it is.
        let home = top.path().join("home");
        std::fs::create_dir(&home).unwrap();
        std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o755)).unwrap();
        ensure_own_dir(&home, SOCKET_DIR).unwrap();
        assert_eq!(mode(&home), 0o755);
        // A directory like /tmp is refused, named, and keeps its sticky bit.
        let shared = top.path().join("tmp");
        std::fs::create_dir(&shared).unwrap();
        std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o1777)).unwrap();
        let Err(CheckError::Untrusted(untrusted)) = ensure_own_dir(&shared, "store directory")
        else {
            panic!("a directory everyone can write passed");
        };
        let said = untrusted.to_string();
        assert!(
            said.contains("store directory") && said.contains("mode 1777"),
            "{said}"
        );
        assert!(said.contains(&shared.display().to_string()), "{said}");
        assert_eq!(mode(&shared), 0o1777);
    }

    #[test]
    fn a_file_where_the_socket_should_be_is_named() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
        let socket = dir.path().join("agent.sock");
        std::fs::write(&socket, "").unwrap();
        let Err(CheckError::Untrusted(untrusted)) = check_private_dir(dir.path(), &socket) else {
            panic!("a plain file passed as the socket")
        };
        assert!(
            untrusted.to_string().contains("not a socket"),
            "{untrusted}"
        );
    }

    #[test]
    fn uids_are_named_when_passwd_knows_them() {
        assert_eq!(describe_uid(0), "uid 0 (root)");
        assert_eq!(describe_uid(4_000_000_000), "uid 4000000000");
    }
}
