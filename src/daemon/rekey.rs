//! `KeyRotated`: `mfad rotate` replaced a long-term key. The sessions it made stay valid
//! (deleting a key does not revoke them), so they move under the new key, with what
//! was written and saved for them; the next renewal signs with the new key.

use super::persist;
use super::state::Daemon;
use crate::protocol::Response;
use crate::store::LongTermKey;

pub async fn handle(daemon: &Daemon, old_key_id: &str, new: &LongTermKey) -> Response {
    daemon.forget_keys(None);
    let moved = daemon.sessions.rekey(old_key_id, new);
    daemon.written.rekey(&moved);
    let old: Vec<_> = moved.iter().map(|(old, _)| old.clone()).collect();
    persist::forget(daemon, &old).await;
    for (_, new_key) in &moved {
        daemon.saved.mark(new_key);
    }
    Response::Done {
        message: format!("{} session(s) now renew with the new key", moved.len()),
    }
}
