//! One client connection: capped line reads, zeroized writes, keep-alive lines.

use crate::failure::Failure;
use crate::messages;
use crate::protocol::{self, KEEPALIVE, MAX_LINE_BYTES, Request, Response};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::Mutex;
use zeroize::Zeroize;

/// A client has this long to send its request after connecting.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

pub struct Connection {
    reader: BufReader<OwnedReadHalf>,
    /// Shared with the keep-alive task; one whole line is written at a time.
    writer: Arc<Mutex<OwnedWriteHalf>>,
}

/// Sends [`Response::Pending`] every [`KEEPALIVE`] until dropped.
pub struct KeepAlive(tokio::task::JoinHandle<()>);

impl Drop for KeepAlive {
    fn drop(&mut self) {
        self.0.abort();
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

    /// Tell the client, while the request is worked on, that the daemon is alive (a
    /// stopped daemon says nothing, and the client gives up on it).
    pub fn keep_alive(&self) -> KeepAlive {
        let writer = self.writer.clone();
        KeepAlive(tokio::spawn(async move {
            let mut ticks =
                tokio::time::interval_at(tokio::time::Instant::now() + KEEPALIVE, KEEPALIVE);
            loop {
                ticks.tick().await;
                if write_line(&writer, &Response::Pending).await.is_err() {
                    return;
                }
            }
        }))
    }
}

async fn write_line(writer: &Mutex<OwnedWriteHalf>, response: &Response) -> std::io::Result<()> {
    let mut line = protocol::encode(response);
    let result = writer.lock().await.write_all(&line).await;
    line.zeroize();
    result
}
