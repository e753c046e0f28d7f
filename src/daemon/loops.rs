//! The one place that knows about loops through `mfa_process`: a command mfad runs to get
//! a code for a serial, which itself asks mfad for credentials that need that serial's
//! session, would wait for itself. Such a request is refused at once, and the renewal
//! that ran the command reports the loop instead of the command's exit status.

use crate::failure::Failure;
use crate::messages;
use crate::vocab::CallerEnv;
use std::collections::HashSet;
use std::sync::Mutex;

#[derive(Default)]
pub struct LoopGuard {
    /// Serials whose `mfa_process` asked mfad for their own session.
    refused: Mutex<HashSet<String>>,
}

impl LoopGuard {
    /// Refuse a request for a session of `serial` that comes from a command run to renew
    /// that same serial (its caller is inside that serial's helper).
    pub fn refuse_inner_request(&self, serial: &str, caller: &CallerEnv) -> Result<(), Failure> {
        if caller.is_inside(serial) {
            self.refused.lock().unwrap().insert(serial.to_owned());
            return Err(failure(serial));
        }
        Ok(())
    }

    /// After `mfa_process` failed: the loop it ran into, if it did.
    pub fn explain(&self, serial: &str) -> Option<Failure> {
        self.refused
            .lock()
            .unwrap()
            .remove(serial)
            .then(|| failure(serial))
    }
}

/// What both ends of a loop report.
fn failure(serial: &str) -> Failure {
    messages::mfa_process_loop(serial)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vocab::INSIDE_VAR;

    #[test]
    fn a_request_from_inside_a_renewal_is_refused_and_explains_its_failure() {
        let guard = LoopGuard::default();
        let serial = "arn:aws:iam::1:mfa/a";
        assert!(
            guard
                .refuse_inner_request(serial, &CallerEnv::of(&[]))
                .is_ok()
        );
        assert!(guard.explain(serial).is_none());
        let inside = CallerEnv::of(&[(INSIDE_VAR, "arn:o,arn:aws:iam::1:mfa/a")]);
        let refused = guard.refuse_inner_request(serial, &inside).unwrap_err();
        assert!(refused.message.contains("(a loop)"));
        assert_eq!(guard.explain(serial), Some(refused));
        assert!(guard.explain(serial).is_none(), "explained once");
    }
}
