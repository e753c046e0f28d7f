//! Asking a person for a code through the callers that wait for a session.
//!
//! Every waiting caller whose client opened a terminal registers as an asker. A
//! renewal that needs a person asks the first of them only; if that caller goes away
//! (its process was killed, its terminal closed), the next one is asked. With nobody to
//! ask, the renewal fails at once instead of hanging.

use secrecy::SecretString;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// A question for a person, delivered to one waiting caller.
pub struct Ask {
    pub prompt: String,
    pub kind: AskKind,
    pub reply: oneshot::Sender<Answer>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AskKind {
    /// An answer shown as it is typed (a single-use code).
    Code,
    /// A secret read without echo (a passphrase).
    Secret,
    /// Something to read, not to answer (where to sign in).
    Notice,
}

pub enum Answer {
    Code(SecretString),
    Cancelled,
    /// A notice was shown.
    Shown,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AskError {
    /// No waiting caller has a terminal.
    NobodyToAsk,
    /// A desktop dialog could not be shown (what its program said).
    DialogFailed(String),
    Cancelled,
    TimedOut,
}

/// A waiting caller that can relay a question to its terminal.
#[derive(Clone)]
struct Asker {
    id: u64,
    questions: mpsc::Sender<Ask>,
}

/// The callers of one renewal that can be asked, in arrival order.
#[derive(Default)]
pub struct Askers {
    queue: Mutex<VecDeque<Asker>>,
    next_id: AtomicU64,
}

/// Keeps a caller registered while it waits; dropping it withdraws the caller.
pub struct Registration {
    askers: Arc<Askers>,
    id: u64,
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.askers.withdraw(self.id);
    }
}

impl Askers {
    /// Register a caller; it receives questions on the returned channel.
    pub fn register(self: &Arc<Self>) -> (Registration, mpsc::Receiver<Ask>) {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (questions, receiver) = mpsc::channel(1);
        self.queue
            .lock()
            .unwrap()
            .push_back(Asker { id, questions });
        let registration = Registration {
            askers: self.clone(),
            id,
        };
        (registration, receiver)
    }

    /// Whether no waiting caller can be asked.
    pub fn is_empty(&self) -> bool {
        self.queue.lock().unwrap().is_empty()
    }

    fn withdraw(&self, id: u64) {
        self.queue.lock().unwrap().retain(|asker| asker.id != id);
    }

    /// Ask the first registered caller (the answer echoed: a single-use code); if it goes
    /// away before answering, the next.
    pub async fn ask(&self, prompt: &str, timeout: Duration) -> Result<SecretString, AskError> {
        self.ask_for(prompt, AskKind::Code, timeout).await
    }

    /// Show a notice on the first registered caller's terminal; `false` if none could.
    pub async fn tell(&self, text: &str, timeout: Duration) -> bool {
        self.ask_for(text, AskKind::Notice, timeout).await.is_ok()
    }

    /// Ask for a secret, read without echo.
    pub async fn ask_hidden(
        &self,
        prompt: &str,
        timeout: Duration,
    ) -> Result<SecretString, AskError> {
        self.ask_for(prompt, AskKind::Secret, timeout).await
    }

    async fn ask_for(
        &self,
        prompt: &str,
        kind: AskKind,
        timeout: Duration,
    ) -> Result<SecretString, AskError> {
        loop {
            let Some(asker) = self.queue.lock().unwrap().front().cloned() else {
                return Err(AskError::NobodyToAsk);
            };
            let (reply, answer) = oneshot::channel();
            let question = Ask {
                prompt: prompt.to_owned(),
                kind,
                reply,
            };
            if asker.questions.send(question).await.is_err() {
                self.withdraw(asker.id);
                continue;
            }
            match tokio::time::timeout(timeout, answer).await {
                Ok(Ok(Answer::Code(code))) => return Ok(code),
                Ok(Ok(Answer::Shown)) => return Ok(SecretString::from(String::new())),
                Ok(Ok(Answer::Cancelled)) => return Err(AskError::Cancelled),
                Ok(Err(_went_away)) => self.withdraw(asker.id),
                Err(_) => return Err(AskError::TimedOut),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[tokio::test]
    async fn nobody_to_ask_fails_at_once() {
        let askers = Arc::new(Askers::default());
        let result = askers.ask("code?", Duration::from_secs(60)).await;
        assert_eq!(result.err(), Some(AskError::NobodyToAsk));
    }

    #[tokio::test]
    async fn the_next_caller_is_asked_when_the_first_goes_away() {
        let askers = Arc::new(Askers::default());
        let (first, mut first_questions) = askers.register();
        let (_second, mut second_questions) = askers.register();
        let asking = tokio::spawn({
            let askers = askers.clone();
            async move { askers.ask("code?", Duration::from_secs(60)).await }
        });
        let question = first_questions.recv().await.unwrap();
        assert_eq!(question.prompt, "code?");
        drop(question);
        drop(first);
        let question = second_questions.recv().await.unwrap();
        let _ = question
            .reply
            .send(Answer::Code(SecretString::from("123456")));
        assert_eq!(asking.await.unwrap().unwrap().expose_secret(), "123456");
    }

    #[tokio::test(start_paused = true)]
    async fn an_unanswered_question_times_out() {
        let askers = Arc::new(Askers::default());
        let (_registration, mut questions) = askers.register();
        let holder = tokio::spawn(async move {
            let question = questions.recv().await;
            tokio::time::sleep(Duration::from_secs(3600)).await;
            drop(question);
        });
        let result = askers.ask("code?", Duration::from_secs(120)).await;
        assert_eq!(result.err(), Some(AskError::TimedOut));
        holder.abort();
    }
}
