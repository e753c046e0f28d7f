//! One client connection: capped line reads, zeroized writes, keep-alive lines.

use crate::failure::Failure;
use crate::messages;
use crate::mfa::askers::{Answer, Ask, AskKind, Registration};
use crate::protocol::{self, KEEPALIVE, MAX_LINE_BYTES, Request, Response};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::{Mutex, mpsc};
use zeroize::Zeroize;

/// A client has this long to send its request after connecting.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

pub struct Connection {
    reader: BufReader<OwnedReadHalf>,
    /// Shared with the keep-alive task; one whole line is written at a time.
    writer: Arc<Mutex<OwnedWriteHalf>>,
}

/// The writing end of a connection, for keep-alive lines while a request is worked on.
pub struct KeepAlive(Arc<Mutex<OwnedWriteHalf>>);

impl KeepAlive {
    /// Run `work`, telling the client every [`KEEPALIVE`] that the daemon still works on
    /// its request (a stopped daemon says nothing, and the client gives up on it). The
    /// lines are written in this task: a quick request costs no timer task of its own.
    pub async fn while_waiting_for<T>(self, work: impl Future<Output = T>) -> T {
        tokio::pin!(work);
        let mut ticks =
            tokio::time::interval_at(tokio::time::Instant::now() + KEEPALIVE, KEEPALIVE);
        let mut client_listens = true;
        loop {
            tokio::select! {
                result = &mut work => return result,
                _ = ticks.tick(), if client_listens => {
                    client_listens = write_line(&self.0, &Response::Pending).await.is_ok();
                }
            }
        }
    }
}

impl Connection {
    pub fn new(stream: UnixStream) -> Self {
        let (read, writer) = stream.into_split();
        Self {
            reader: BufReader::new(read),
            writer: Arc::new(Mutex::new(writer)),
        }
    }

    /// The next request; `Ok(None)` when the client closed the connection.
    pub async fn read_request(&mut self) -> Result<Option<Request>, Failure> {
        let mut line = Vec::new();
        let limit = MAX_LINE_BYTES as u64 + 1;
        let read = (&mut self.reader)
            .take(limit)
            .read_until(b'\n', &mut line)
            .await;
        let result = match read {
            Ok(_) => protocol::decode(&line),
            Err(e) => Err(messages::unreadable_request(e)),
        };
        line.zeroize();
        result
    }

    pub async fn write(&self, response: &Response) -> std::io::Result<()> {
        write_line(&self.writer, response).await
    }

    /// A handle to write keep-alive lines while this connection's request is worked on.
    pub fn keepalive_writer(&self) -> KeepAlive {
        KeepAlive(self.writer.clone())
    }
}

async fn write_line(writer: &Mutex<OwnedWriteHalf>, response: &Response) -> std::io::Result<()> {
    let mut line = protocol::encode(response);
    let result = writer.lock().await.write_all(&line).await;
    line.zeroize();
    result
}

/// Run `work`, putting the questions it asks this caller (when it registered as an
/// asker) to the client and passing the answers back. `None` when the client went away.
/// A question left unanswered (client gone, garbage) makes the work ask the next caller.
pub async fn answering<T>(
    connection: &mut Connection,
    asker: Option<(Registration, mpsc::Receiver<Ask>)>,
    work: impl Future<Output = T>,
) -> Option<T> {
    let (_registration, mut questions) = asker.unzip();
    tokio::pin!(work);
    loop {
        let next_question = async {
            match questions.as_mut() {
                Some(questions) => questions.recv().await,
                None => std::future::pending().await,
            }
        };
        let question = tokio::select! {
            result = &mut work => return Some(result),
            Some(question) = next_question => question,
        };
        let prompt = question.prompt.clone();
        let ask = match question.kind {
            AskKind::Secret => Response::AskSecret { prompt },
            AskKind::Code => Response::AskCode { prompt },
            AskKind::Notice => {
                connection
                    .write(&Response::Notice { text: prompt })
                    .await
                    .ok()?;
                let _ = question.reply.send(Answer::Shown);
                continue;
            }
        };
        connection.write(&ask).await.ok()?;
        tokio::select! {
            answer = connection.read_request() => {
                let answer = match answer {
                    Ok(Some(Request::Code { code })) => Answer::Code(code),
                    Ok(Some(Request::Cancel)) => Answer::Cancelled,
                    _ => return None,
                };
                let _ = question.reply.send(answer);
            }
            // The work ended without this answer (it timed out, or another source won).
            result = &mut work => return Some(result),
        }
    }
}
