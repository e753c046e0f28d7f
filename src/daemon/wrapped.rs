//! The output of wrapped helpers (`mfad_wrap_process`): one run for all the callers that
//! ask at once, kept until 15 minutes before its `Expiration`, like the daemon's own
//! sessions. A run that fails is not kept: the next caller runs the helper again.

use crate::config::WrapPlan;
use crate::failure::Failure;
use crate::vocab::CallerEnv;
use crate::wrap::{self, Wrapped};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};
use tokio::sync::watch;

/// Output closer than this to its expiration is not handed out from the cache (what
/// the SDKs keep in hand before they refresh).
pub const REFRESH_AHEAD: Duration = Duration::from_secs(15 * 60);

type Outcome = Option<Result<Arc<Wrapped>, Failure>>;

enum Slot {
    Ready(Arc<Wrapped>),
    Running(watch::Receiver<Outcome>),
}

#[derive(Default)]
pub struct WrappedHelpers {
    slots: Arc<Mutex<HashMap<WrapPlan, Slot>>>,
}

impl WrappedHelpers {
    /// The helper's credentials: cached, from the run in progress, or from a new run.
    pub async fn credentials(
        &self,
        plan: &WrapPlan,
        caller_env: &CallerEnv,
        timeout: Duration,
        now: SystemTime,
    ) -> Result<Arc<Wrapped>, Failure> {
        let mut outcome = {
            let mut slots = self.slots.lock().unwrap();
            match slots.get(plan) {
                Some(Slot::Ready(wrapped)) if fresh(wrapped, now) => return Ok(wrapped.clone()),
                Some(Slot::Running(outcome)) => outcome.clone(),
                _ => {
                    let (done, outcome) = watch::channel(None);
                    slots.insert(plan.clone(), Slot::Running(outcome.clone()));
                    tokio::spawn(run(
                        self.slots.clone(),
                        plan.clone(),
                        caller_env.clone(),
                        timeout,
                        now,
                        done,
                    ));
                    outcome
                }
            }
        };
        match outcome.wait_for(Option::is_some).await {
            Ok(result) => result.clone().expect("waited for a result"),
            Err(_) => Err(Failure::internal(
                "the wrapped helper's run ended without a result",
            )),
        }
    }

    /// Drop what is kept for `profile`, or for every profile; the profiles dropped.
    pub fn forget(&self, profile: Option<&str>) -> Vec<String> {
        let mut slots = self.slots.lock().unwrap();
        let dropped: Vec<WrapPlan> = slots
            .keys()
            .filter(|plan| profile.is_none_or(|p| p == plan.profile))
            .cloned()
            .collect();
        for plan in &dropped {
            slots.remove(plan);
        }
        dropped.into_iter().map(|plan| plan.profile).collect()
    }
}

fn fresh(wrapped: &Wrapped, now: SystemTime) -> bool {
    wrapped
        .expiration
        .duration_since(now)
        .is_ok_and(|left| left > REFRESH_AHEAD)
}

async fn run(
    slots: Arc<Mutex<HashMap<WrapPlan, Slot>>>,
    plan: WrapPlan,
    caller_env: CallerEnv,
    timeout: Duration,
    now: SystemTime,
    done: watch::Sender<Outcome>,
) {
    let result = wrap::run(&plan.command, &plan.profile, &caller_env, timeout)
        .await
        .map(Arc::new);
    {
        let mut slots = slots.lock().unwrap();
        // A logout during the run forgot it: keep nothing.
        let still_ours = matches!(slots.get(&plan),
            Some(Slot::Running(outcome)) if outcome.same_channel(&done.subscribe()));
        match &result {
            _ if !still_ours => {}
            Ok(wrapped) if fresh(wrapped, now) => {
                tracing::info!("ran the mfad_wrap_process of {}", plan.profile);
                slots.insert(plan, Slot::Ready(wrapped.clone()));
            }
            Ok(_) => {
                slots.remove(&plan);
            }
            Err(failure) => {
                tracing::warn!("the mfad_wrap_process of {}: {failure}", plan.profile);
                slots.remove(&plan);
            }
        }
    }
    let _ = done.send(Some(result));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(command: &str) -> WrapPlan {
        WrapPlan {
            profile: "wrapped".into(),
            command: command.into(),
            config: "/config".into(),
        }
    }

    #[tokio::test]
    async fn output_forgotten_by_a_logout_during_the_run_is_not_kept() {
        let dir = tempfile::tempdir().unwrap();
        let go = dir.path().join("go");
        let json = r#"{"Version":1,"AccessKeyId":"A","SecretAccessKey":"s","SessionToken":"t","Expiration":"2999-01-01T00:00:00Z"}"#;
        // The helper answers once the test lets it.
        let plan = plan(&format!(
            "while [ ! -e {go} ]; do sleep 0.01; done; echo '{json}'",
            go = go.display()
        ));
        let helpers = Arc::new(WrappedHelpers::default());
        let now = SystemTime::now();
        let asking = {
            let (helpers, plan) = (helpers.clone(), plan.clone());
            tokio::spawn(async move {
                helpers
                    .credentials(&plan, &CallerEnv::default(), Duration::from_secs(10), now)
                    .await
            })
        };
        while helpers.slots.lock().unwrap().is_empty() {
            tokio::task::yield_now().await;
        }
        assert_eq!(helpers.forget(Some("wrapped")), ["wrapped"]);
        std::fs::write(&go, "").unwrap();
        assert_eq!(asking.await.unwrap().unwrap().access_key_id, "A");
        assert!(helpers.slots.lock().unwrap().is_empty(), "nothing kept");

        // Without a logout it is kept.
        helpers
            .credentials(&plan, &CallerEnv::default(), Duration::from_secs(10), now)
            .await
            .unwrap();
        assert_eq!(helpers.slots.lock().unwrap().len(), 1);
    }
}
