//! Letting connections in under a cap without letting idle ones hold it: the daemon's
//! socket and the local credential endpoint both keep the connections that have not sent
//! their request yet, oldest first, and close the oldest of them to make room for a
//! newcomer. A real client sends its request at once, so only an idle, slow or hostile
//! connection is ever closed this way, and it is told why.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;

/// The connections that have not sent their request yet, oldest first.
#[derive(Default)]
pub struct Idle {
    next_id: u64,
    waiting: BTreeMap<u64, oneshot::Sender<()>>,
}

impl Idle {
    /// Let a connection in. Its [`Admitted::closed`] fires if it is closed to make room.
    pub fn admit(idle: &Arc<Mutex<Self>>) -> Admitted {
        let (close, closed) = oneshot::channel();
        let mut this = idle.lock().unwrap();
        let id = this.next_id;
        this.next_id += 1;
        this.waiting.insert(id, close);
        Admitted {
            id,
            closed,
            idle: idle.clone(),
        }
    }

    /// Close the oldest connection still waiting for its request; `false` if none is.
    pub fn close_oldest(&mut self) -> bool {
        match self.waiting.pop_first() {
            Some((_, close)) => {
                let _ = close.send(());
                true
            }
            None => false,
        }
    }
}

/// A connection let in under the cap, until it sends its request.
pub struct Admitted {
    id: u64,
    /// Fires when the connection is closed to make room for a newer one.
    pub closed: oneshot::Receiver<()>,
    idle: Arc<Mutex<Idle>>,
}

impl Admitted {
    /// The request arrived (or the connection ended): it no longer waits.
    pub fn started(&self) {
        self.idle.lock().unwrap().waiting.remove(&self.id);
    }
}

impl Drop for Admitted {
    fn drop(&mut self) {
        self.started();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_oldest_connection_still_waiting_is_closed_first() {
        let idle = Arc::new(Mutex::new(Idle::default()));
        let mut first = Idle::admit(&idle);
        let mut second = Idle::admit(&idle);
        let mut third = Idle::admit(&idle);
        second.started();
        assert!(idle.lock().unwrap().close_oldest());
        assert!(first.closed.try_recv().is_ok());
        assert!(idle.lock().unwrap().close_oldest());
        assert!(third.closed.try_recv().is_ok());
        assert!(second.closed.try_recv().is_err());
        assert!(
            !idle.lock().unwrap().close_oldest(),
            "nobody waits any more"
        );
    }
}
