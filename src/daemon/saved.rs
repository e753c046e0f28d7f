//! Which sessions are saved in the secret store, and where; which must be saved again.
//! (Saving and loading them is [`super::persist`].)

use super::key::SessionKey;
use crate::store::Store;
use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

/// The sessions to save, and where each saved one is.
#[derive(Default)]
pub struct Saved {
    /// Sessions whose entry must be written (again).
    pub(super) dirty: Mutex<HashSet<SessionKey>>,
    /// Wakes the saver.
    pub(super) wake: tokio::sync::Notify,
    /// The store each saved session is in.
    pub(super) saved_in: Mutex<HashMap<SessionKey, Store>>,
    /// Whether the sessions of a previous daemon were loaded (done once); the lock makes
    /// loading single-flight.
    pub(super) restored: tokio::sync::Mutex<bool>,
    /// The same, readable without waiting (checked on every request).
    pub(super) done: std::sync::atomic::AtomicBool,
}

impl Saved {
    /// Whether the sessions of a previous daemon were loaded.
    pub fn restored(&self) -> bool {
        self.done.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Save this session soon (in the background: no caller waits for it).
    pub fn mark(&self, key: &SessionKey) {
        self.dirty.lock().unwrap().insert(key.clone());
        self.wake.notify_one();
    }
}
