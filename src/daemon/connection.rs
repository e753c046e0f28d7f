//! One client connection: capped line reads, zeroized writes.

use crate::failure::{Failure, FailureKind};
use crate::protocol::{self, MAX_LINE_BYTES, Request, Response};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use zeroize::Zeroize;

/// A client has this long to send its request after connecting.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

pub struct Connection {
    reader: BufReader<OwnedReadHalf>,
    writer: OwnedWriteHalf,
}

impl Connection {
    pub fn new(stream: UnixStream) -> Self {
        let (read, writer) = stream.into_split();
        Self {
            reader: BufReader::new(read),
            writer,
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
            Err(e) => Err(Failure::new(
                FailureKind::BadMessage,
                format!("reading from the client failed ({e})"),
                "",
            )),
        };
        line.zeroize();
        result
    }

    pub async fn write(&mut self, response: &Response) -> std::io::Result<()> {
        let mut line = protocol::encode(response);
        let result = self.writer.write_all(&line).await;
        line.zeroize();
        result
    }
}
