//! The AWS files each credentials request resolves its profile in, kept parsed between
//! requests. Reading them for every request costs a trip to the blocking pool and back,
//! most of a cached `mfad process`'s time in the daemon; instead the directories that
//! hold them are watched with inotify, and the parsed files serve until anything in
//! those directories changes. Asking whether anything changed is one non-blocking read,
//! so no file is touched on an async worker.
//!
//! The directory of each file is watched, and so is the directory of every symlink on the
//! way to it: a symlinked file (an edit of a config kept in a dotfiles repository is
//! seen) or a symlinked directory (`~/.aws` pointed elsewhere is seen).

use crate::bounded::{self, FILE_TIME_LIMIT};
use crate::config::{self, AwsFiles};
use crate::failure::Failure;
use crate::messages;
use crate::vocab::CallerEnv;
use rustix::fs::inotify::{self, CreateFlags, WatchFlags};
use rustix::io::Errno;
use std::collections::HashMap;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Callers with this many different pairs of files are kept at most (each pair is a few
/// kilobytes parsed); past it the cache starts over.
const MAX_PAIRS: usize = 16;

/// Symlinks followed from a file to where it really is, as the kernel's own limit.
const MAX_LINKS: usize = 40;

/// Every change that can alter what the files read: an edit in place, a rename over
/// them, a new or removed link, the directory itself moved or removed.
const CHANGES: WatchFlags = WatchFlags::MODIFY
    .union(WatchFlags::CLOSE_WRITE)
    .union(WatchFlags::MOVED_FROM)
    .union(WatchFlags::MOVED_TO)
    .union(WatchFlags::CREATE)
    .union(WatchFlags::DELETE)
    .union(WatchFlags::DELETE_SELF)
    .union(WatchFlags::MOVE_SELF);

type FilePair = (PathBuf, PathBuf);

#[derive(Default)]
pub struct AwsFilesCache {
    /// `None` until the first request, and again after a change (or where inotify is
    /// not available: then every request reads the files).
    watch: Mutex<Option<Watch>>,
}

/// One inotify instance and the files parsed since it was created; dropped whole at the
/// first change it reports, so a stale parse is never used.
struct Watch {
    inotify: Arc<OwnedFd>,
    parsed: HashMap<FilePair, Arc<AwsFiles>>,
}

impl AwsFilesCache {
    /// The caller's AWS files: parsed earlier if nothing changed since, else read off the
    /// async workers within [`FILE_TIME_LIMIT`].
    pub async fn get(&self, env: &CallerEnv) -> Result<Arc<AwsFiles>, Failure> {
        let pair = (config::config_path(env), config::credentials_path(env));
        let inotify = {
            let mut watch = self.watch.lock().unwrap();
            let current = unchanged(&mut watch);
            if let Some(files) = current.as_ref().and_then(|w| w.parsed.get(&pair)) {
                return Ok(files.clone());
            }
            current.map(|w| w.inotify.clone())
        };
        let what = format!("{} and {}", pair.0.display(), pair.1.display());
        let (env, paths) = (env.clone(), pair.clone());
        let watcher = inotify.clone();
        let (files, watched) = bounded::offload(&what, FILE_TIME_LIMIT, move || {
            // Watch first, then read: a change made after the read is always reported.
            let watched = watcher.is_some_and(|fd| watch_directories(&fd, &[&paths.0, &paths.1]));
            (AwsFiles::load(&env), watched)
        })
        .await
        .map_err(|stalled| messages::aws_files_hang(&what, stalled))?;
        let files = Arc::new(files.map_err(Failure::from)?);
        if let (true, Some(inotify)) = (watched, inotify) {
            self.keep(pair, &inotify, &files);
        }
        Ok(files)
    }

    /// Keep files read under `inotify`, unless a change was reported since (then what was
    /// read may already be stale).
    fn keep(&self, pair: FilePair, inotify: &Arc<OwnedFd>, files: &Arc<AwsFiles>) {
        let mut watch = self.watch.lock().unwrap();
        if let Some(current) = unchanged(&mut watch)
            && Arc::ptr_eq(&current.inotify, inotify)
        {
            if current.parsed.len() >= MAX_PAIRS {
                current.parsed.clear();
            }
            current.parsed.insert(pair, files.clone());
        }
    }
}

/// The watch, if it has seen no change; a watch that has is replaced by a fresh one.
fn unchanged(watch: &mut Option<Watch>) -> Option<&mut Watch> {
    if watch.as_ref().is_none_or(|w| reported_change(&w.inotify)) {
        *watch = Watch::new();
    }
    watch.as_mut()
}

impl Watch {
    fn new() -> Option<Self> {
        match inotify::init(CreateFlags::NONBLOCK | CreateFlags::CLOEXEC) {
            Ok(fd) => Some(Self {
                inotify: Arc::new(fd),
                parsed: HashMap::new(),
            }),
            Err(e) => {
                tracing::debug!("no inotify ({e}); the AWS files are read for every request");
                None
            }
        }
    }
}

/// Whether inotify has anything to report (a change, a watch removed, an overflowed
/// queue: all mean "read again"). Drains what it reads; never blocks.
fn reported_change(inotify: &OwnedFd) -> bool {
    let mut buffer = [0u8; 4096];
    !matches!(rustix::io::read(inotify, &mut buffer), Err(Errno::AGAIN))
}

/// Watch the directory of each file and of every symlink on the way to it. False when
/// any cannot be watched (a directory that does not exist yet, no watches left).
fn watch_directories(inotify: &OwnedFd, files: &[&Path]) -> bool {
    files.iter().all(|file| {
        let mut path = file.to_path_buf();
        for _ in 0..MAX_LINKS {
            let Some(dir) = path.parent().filter(|dir| dir.is_absolute()) else {
                return false;
            };
            if inotify::add_watch(inotify, dir, CHANGES).is_err()
                || !watch_linked_directories(inotify, dir)
            {
                return false;
            }
            match std::fs::read_link(&path) {
                Ok(target) => path = dir.join(target),
                Err(_) => return true,
            }
        }
        false
    })
}

/// Watch the directory that holds each symlinked directory on the way to `dir`, where
/// pointing it elsewhere shows (`ln -sfn`).
fn watch_linked_directories(inotify: &OwnedFd, dir: &Path) -> bool {
    dir.ancestors()
        .filter(|ancestor| ancestor.is_symlink())
        .all(|link| {
            link.parent()
                .is_some_and(|holder| inotify::add_watch(inotify, holder, CHANGES).is_ok())
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::testing::Files;

    fn profiles(files: &AwsFiles) -> Vec<String> {
        files.profile_names()
    }

    #[tokio::test]
    async fn the_files_are_parsed_once_until_one_changes() {
        let fixture = Files::new("[profile dev]\nregion = eu-west-1\n", "");
        let env = fixture.env(&[]);
        let cache = AwsFilesCache::default();
        let first = cache.get(&env).await.unwrap();
        let again = cache.get(&env).await.unwrap();
        assert!(
            Arc::ptr_eq(&first, &again),
            "the second request parsed again"
        );

        std::fs::write(fixture.config_path(), "[profile prod]\n").unwrap();
        let after_edit = cache.get(&env).await.unwrap();
        assert_eq!(profiles(&after_edit), ["prod"]);

        let replacement = fixture.dir().join("config.new");
        std::fs::write(&replacement, "[profile stage]\n").unwrap();
        std::fs::rename(&replacement, fixture.config_path()).unwrap();
        assert_eq!(profiles(&cache.get(&env).await.unwrap()), ["stage"]);

        std::fs::write(fixture.dir().join("credentials"), "[base]\n").unwrap();
        let with_credentials = cache.get(&env).await.unwrap();
        assert_eq!(profiles(&with_credentials), ["base", "stage"]);
    }

    #[tokio::test]
    async fn an_edit_where_a_symlinked_config_really_lies_is_seen() {
        let fixture = Files::new("", "");
        let dotfiles = tempfile::tempdir().unwrap();
        let real = dotfiles.path().join("aws-config");
        std::fs::write(&real, "[profile dev]\n").unwrap();
        std::fs::remove_file(fixture.config_path()).unwrap();
        std::os::unix::fs::symlink(&real, fixture.config_path()).unwrap();
        let env = fixture.env(&[]);
        let cache = AwsFilesCache::default();
        assert_eq!(profiles(&cache.get(&env).await.unwrap()), ["dev"]);

        std::fs::write(&real, "[profile prod]\n").unwrap();
        assert_eq!(profiles(&cache.get(&env).await.unwrap()), ["prod"]);
    }

    #[tokio::test]
    async fn a_symlinked_directory_pointed_elsewhere_is_seen() {
        let fixture = Files::new("", "");
        let dotfiles = tempfile::tempdir().unwrap();
        for name in ["one", "two"] {
            std::fs::create_dir(dotfiles.path().join(name)).unwrap();
            let profile = format!("[profile {name}]\n");
            std::fs::write(dotfiles.path().join(name).join("config"), profile).unwrap();
        }
        // A directory of its own, watched for nothing else: ~/.aws -> dotfiles/one.
        let home = fixture.dir().join("home");
        std::fs::create_dir(&home).unwrap();
        std::os::unix::fs::symlink(dotfiles.path().join("one"), home.join(".aws")).unwrap();
        let config = home.join(".aws/config").display().to_string();
        let env = fixture.env(&[("AWS_CONFIG_FILE", &config)]);
        let cache = AwsFilesCache::default();
        assert_eq!(profiles(&cache.get(&env).await.unwrap()), ["one"]);

        // Pointed elsewhere as `ln -sfn` does it: a new link renamed over the old one.
        std::os::unix::fs::symlink(dotfiles.path().join("two"), home.join("new")).unwrap();
        std::fs::rename(home.join("new"), home.join(".aws")).unwrap();
        assert_eq!(profiles(&cache.get(&env).await.unwrap()), ["two"]);
    }

    #[tokio::test]
    async fn files_in_a_directory_that_does_not_exist_yet_are_read_every_time() {
        let fixture = Files::new("", "");
        let later = fixture.dir().join("later");
        let config = later.join("config").display().to_string();
        let env = fixture.env(&[("AWS_CONFIG_FILE", &config)]);
        let cache = AwsFilesCache::default();
        assert!(profiles(&cache.get(&env).await.unwrap()).is_empty());

        std::fs::create_dir(&later).unwrap();
        std::fs::write(later.join("config"), "[profile dev]\n").unwrap();
        assert_eq!(profiles(&cache.get(&env).await.unwrap()), ["dev"]);
    }
}
