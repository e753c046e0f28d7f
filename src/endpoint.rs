//! A local credential endpoint in the shape of the ECS container credentials service, so
//! that every SDK refreshes by itself (`AWS_CONTAINER_CREDENTIALS_FULL_URI` and
//! `AWS_CONTAINER_AUTHORIZATION_TOKEN`) instead of holding static keys that end mid-run.
//!
//! It listens on 127.0.0.1 only. Every local user can reach a loopback port, so the
//! random per-run token is the protection: it is compared in constant time, and a request
//! without it gets 403 and one line on stderr that never repeats what was sent. Each
//! connection has a size and a time bound and its own thread, up to [`MAX_CONNECTIONS`],
//! so one slow caller stalls no other. Credentials come from the daemon on each request;
//! its cache and single flight make many concurrent refreshes one renewal.

use crate::failure::Failure;
use crate::protocol::Credentials;
use crate::timefmt::{from_epoch_secs, rfc3339};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use subtle::ConstantTimeEq;
use zeroize::Zeroize;

/// The largest request head read; SDK requests are a few hundred bytes.
const MAX_REQUEST_BYTES: usize = 8 * 1024;
/// How long a caller may take to send its request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// How long to wait after a failed accept before the next.
const ACCEPT_RETRY: Duration = Duration::from_millis(100);
/// Connections served at once; more are answered 503 at once.
pub const MAX_CONNECTIONS: usize = 64;

/// The variables that point an SDK at the endpoint.
pub const URI_VAR: &str = "AWS_CONTAINER_CREDENTIALS_FULL_URI";
pub const TOKEN_VAR: &str = "AWS_CONTAINER_AUTHORIZATION_TOKEN";

/// A bound, not yet serving, endpoint and its token.
pub struct Endpoint {
    listener: TcpListener,
    token: SecretString,
}

impl Endpoint {
    /// Listen on 127.0.0.1:`port` (0: any free port) with a fresh random token.
    pub fn bind(port: u16) -> io::Result<Self> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, port))?;
        Ok(Self {
            listener,
            token: random_token()?,
        })
    }

    pub fn uri(&self) -> io::Result<String> {
        Ok(format!("http://{}/", self.listener.local_addr()?))
    }

    pub fn token(&self) -> &SecretString {
        &self.token
    }

    /// Answer requests until the process ends, each with what `fetch` returns.
    pub fn serve<F>(self, fetch: F)
    where
        F: Fn() -> Result<Credentials, Failure> + Send + Sync + 'static,
    {
        let shared = Arc::new(Shared {
            token: self.token,
            fetch,
            in_flight: AtomicUsize::new(0),
        });
        loop {
            let Ok((stream, _)) = self.listener.accept() else {
                // Out of file descriptors, say: wait for connections to end rather than spin.
                std::thread::sleep(ACCEPT_RETRY);
                continue;
            };
            if shared.in_flight.fetch_add(1, Ordering::SeqCst) >= MAX_CONNECTIONS {
                shared.in_flight.fetch_sub(1, Ordering::SeqCst);
                let _ = answer(&stream, 503, &message_body("too many requests at once"));
                continue;
            }
            let shared = Arc::clone(&shared);
            std::thread::spawn(move || {
                shared.handle(&stream);
                shared.in_flight.fetch_sub(1, Ordering::SeqCst);
            });
        }
    }
}

struct Shared<F> {
    token: SecretString,
    fetch: F,
    in_flight: AtomicUsize,
}

impl<F: Fn() -> Result<Credentials, Failure>> Shared<F> {
    fn handle(&self, stream: &TcpStream) {
        let peer = stream.peer_addr().ok();
        let head = match read_head(stream) {
            Ok(head) => head,
            Err(reason) => {
                refused(peer, reason);
                let _ = answer(stream, 400, &message_body(reason));
                return;
            }
        };
        let request = Request::parse(&head);
        let (status, mut body) = self.respond(&request, peer);
        let _ = answer(stream, status, &body);
        body.zeroize();
    }

    fn respond(&self, request: &Request, peer: Option<SocketAddr>) -> (u16, String) {
        if request.method != "GET" {
            return (405, message_body("only GET is answered"));
        }
        let Some(sent) = request.authorization.as_deref() else {
            refused(peer, "no authorization token");
            return (403, message_body("no authorization token"));
        };
        let expected = self.token.expose_secret().as_bytes();
        if !bool::from(sent.as_bytes().ct_eq(expected)) {
            refused(peer, "a wrong authorization token");
            return (403, message_body("wrong authorization token"));
        }
        match (self.fetch)() {
            Ok(credentials) => (200, credentials_body(&credentials)),
            Err(failure) => {
                eprintln!("mfad: could not hand out credentials: {failure}");
                (500, message_body(&failure.to_string()))
            }
        }
    }
}

/// One line on stderr naming the caller, never what it sent.
fn refused(peer: Option<SocketAddr>, reason: &str) {
    let from = peer.map_or_else(|| "an unknown address".to_owned(), |p| p.to_string());
    eprintln!("mfad: refused a credential request from {from}: {reason}");
}

/// The request line and headers, bounded in size and time.
fn read_head(mut stream: &TcpStream) -> Result<Vec<u8>, &'static str> {
    let deadline = Instant::now() + REQUEST_TIMEOUT;
    let mut head = Vec::with_capacity(512);
    let mut chunk = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err("the request did not arrive in time");
        }
        stream
            .set_read_timeout(Some(left))
            .map_err(|_| "the connection failed")?;
        match stream.read(&mut chunk) {
            Ok(0) => return Err("the connection closed before a whole request"),
            Ok(n) => head.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return Err("the request did not arrive in time"),
        }
        if head.len() > MAX_REQUEST_BYTES {
            return Err("the request is too large");
        }
    }
    Ok(head)
}

/// What the endpoint looks at in a request.
struct Request {
    method: String,
    authorization: Option<String>,
}

impl Request {
    fn parse(head: &[u8]) -> Self {
        let text = String::from_utf8_lossy(head);
        let mut lines = text.split("\r\n");
        let method = lines
            .next()
            .and_then(|line| line.split(' ').next())
            .unwrap_or_default()
            .to_owned();
        let authorization = lines
            .filter_map(|line| line.split_once(':'))
            .find(|(name, _)| name.trim().eq_ignore_ascii_case("authorization"))
            .map(|(_, value)| value.trim().to_owned());
        Self {
            method,
            authorization,
        }
    }
}

/// The container credentials JSON the SDKs read.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ContainerCredentials<'a> {
    access_key_id: &'a str,
    secret_access_key: &'a str,
    token: &'a str,
    expiration: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    account_id: Option<&'a str>,
}

fn credentials_body(credentials: &Credentials) -> String {
    serde_json::to_string(&ContainerCredentials {
        access_key_id: &credentials.access_key_id,
        secret_access_key: credentials.secret_access_key.expose_secret(),
        token: credentials.session_token.expose_secret(),
        expiration: rfc3339(from_epoch_secs(credentials.expiration)),
        account_id: credentials.account_id.as_deref(),
    })
    .expect("strings serialize")
}

fn message_body(message: &str) -> String {
    serde_json::json!({ "message": message }).to_string()
}

fn answer(mut stream: &TcpStream, status: u16, body: &str) -> io::Result<()> {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        403 => "Forbidden",
        405 => "Method Not Allowed",
        503 => "Service Unavailable",
        _ => "Internal Server Error",
    };
    stream.set_write_timeout(Some(REQUEST_TIMEOUT))?;
    let mut response = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let written = stream.write_all(response.as_bytes());
    response.zeroize();
    written
}

/// 32 random bytes from the kernel, as hex.
fn random_token() -> io::Result<SecretString> {
    let mut bytes = [0u8; 32];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    bytes.zeroize();
    Ok(SecretString::from(token))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_authorization_header_is_found_in_any_case() {
        let request = Request::parse(b"GET / HTTP/1.1\r\nHost: x\r\nauthorization:  abc \r\n\r\n");
        assert_eq!(request.method, "GET");
        assert_eq!(request.authorization.as_deref(), Some("abc"));
        assert!(
            Request::parse(b"GET / HTTP/1.1\r\n\r\n")
                .authorization
                .is_none()
        );
    }

    #[test]
    fn tokens_are_random_and_long() {
        let (a, b) = (random_token().unwrap(), random_token().unwrap());
        assert_eq!(a.expose_secret().len(), 64);
        assert_ne!(a.expose_secret(), b.expose_secret());
    }
}
