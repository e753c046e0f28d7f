//! A local credential endpoint in the shape of the ECS container credentials service, so
//! that every SDK refreshes by itself (`AWS_CONTAINER_CREDENTIALS_FULL_URI` and
//! `AWS_CONTAINER_AUTHORIZATION_TOKEN`) instead of holding static keys that end mid-run.
//!
//! It listens on 127.0.0.1 only. Every local user can reach a loopback port, so the
//! random per-run token is the protection: it is compared in constant time, and a request
//! without it gets 403 and one line on stderr that never repeats what was sent.
//!
//! Whatever other local users do, it serves its owner: each connection is a task with a
//! size and a time bound on its request; up to [`MAX_CONNECTIONS`] are served at once, and
//! past that the oldest connection that has not sent its request is closed to make room
//! (as the daemon's socket does, see [`crate::admission`]). A connection refused or closed
//! that way is answered 503, which the SDKs retry, after its request was read, so that it
//! never sees a reset. Credentials come from the daemon on each request, [`MAX_FETCHES`]
//! at a time; its cache and single flight make many concurrent refreshes one renewal.

use crate::admission::{Admitted, Idle};
use crate::failure::Failure;
use crate::protocol::Credentials;
use crate::timefmt::{from_epoch_secs, rfc3339};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use std::io::{self, Read};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use subtle::ConstantTimeEq;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use zeroize::Zeroize;

/// The largest request head read; SDK requests are a few hundred bytes.
const MAX_REQUEST_BYTES: usize = 8 * 1024;
/// How long a caller may take to send its request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a connection refused at the cap gets to send its request before the 503.
const REFUSAL_LINGER: Duration = Duration::from_secs(1);
/// How long to wait after a failed accept before the next.
const ACCEPT_RETRY: Duration = Duration::from_millis(100);
/// Connections served at once (Terraform with many providers opens a few hundred).
pub const MAX_CONNECTIONS: usize = 512;
/// Connections being refused at once; past that a newcomer is simply closed.
const MAX_REFUSING: usize = 64;
/// Requests asking the daemon at once; the others wait their turn.
const MAX_FETCHES: usize = 8;
/// Connections the kernel queues before mfad accepts them.
const BACKLOG: i32 = 1024;

/// The variables that point an SDK at the endpoint.
pub const URI_VAR: &str = "AWS_CONTAINER_CREDENTIALS_FULL_URI";
pub const TOKEN_VAR: &str = "AWS_CONTAINER_AUTHORIZATION_TOKEN";

/// A bound, not yet serving, endpoint and its token.
pub struct Endpoint {
    listener: std::net::TcpListener,
    token: SecretString,
}

impl Endpoint {
    /// Listen on 127.0.0.1:`port` (0: any free port) with a fresh random token.
    pub fn bind(port: u16) -> io::Result<Self> {
        use rustix::net::{AddressFamily, SocketType, sockopt};
        let socket = rustix::net::socket(AddressFamily::INET, SocketType::STREAM, None)?;
        sockopt::set_socket_reuseaddr(&socket, true)?;
        rustix::net::bind(&socket, &SocketAddrV4::new(Ipv4Addr::LOCALHOST, port))?;
        rustix::net::listen(&socket, BACKLOG)?;
        Ok(Self {
            listener: std::net::TcpListener::from(socket),
            token: random_token()?,
        })
    }

    pub fn uri(&self) -> io::Result<String> {
        Ok(format!("http://{}/", self.listener.local_addr()?))
    }

    pub fn token(&self) -> &SecretString {
        &self.token
    }

    /// Answer requests until the process ends, each with what `fetch` returns (a
    /// blocking call, run off the endpoint's own thread).
    pub fn serve<F>(self, fetch: F) -> io::Result<()>
    where
        F: Fn() -> Result<Credentials, Failure> + Send + Sync + 'static,
    {
        self.serve_up_to(MAX_CONNECTIONS, fetch)
    }

    /// [`Self::serve`], serving at most `cap` connections at once.
    fn serve_up_to<F>(self, cap: usize, fetch: F) -> io::Result<()>
    where
        F: Fn() -> Result<Credentials, Failure> + Send + Sync + 'static,
    {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        self.listener.set_nonblocking(true)?;
        let shared = Arc::new(Shared {
            token: self.token,
            fetch,
            fetches: tokio::sync::Semaphore::new(MAX_FETCHES),
        });
        let listener = self.listener;
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener)?;
            accept_loop(listener, cap, shared).await;
            Ok(())
        })
    }
}

async fn accept_loop<F>(listener: tokio::net::TcpListener, cap: usize, shared: Arc<Shared<F>>)
where
    F: Fn() -> Result<Credentials, Failure> + Send + Sync + 'static,
{
    let idle = Arc::new(Mutex::new(Idle::default()));
    let serving = Arc::new(AtomicUsize::new(0));
    let refusing = Arc::new(AtomicUsize::new(0));
    loop {
        let Ok((stream, peer)) = listener.accept().await else {
            // Out of file descriptors, say: wait for connections to end rather than spin.
            tokio::time::sleep(ACCEPT_RETRY).await;
            continue;
        };
        if serving.load(Ordering::SeqCst) >= cap && !idle.lock().unwrap().close_oldest() {
            if refusing.fetch_add(1, Ordering::SeqCst) < MAX_REFUSING {
                let refusing = Counted(refusing.clone());
                tokio::spawn(async move {
                    refuse_busy(stream).await;
                    drop(refusing);
                });
            } else {
                refusing.fetch_sub(1, Ordering::SeqCst);
            }
            continue;
        }
        serving.fetch_add(1, Ordering::SeqCst);
        let (shared, serving, admitted) =
            (shared.clone(), Counted(serving.clone()), Idle::admit(&idle));
        tokio::spawn(async move {
            shared.handle(stream, peer, admitted).await;
            drop(serving);
        });
    }
}

/// One unit of a count of connections, given back when dropped.
struct Counted(Arc<AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

struct Shared<F> {
    token: SecretString,
    fetch: F,
    fetches: tokio::sync::Semaphore,
}

impl<F> Shared<F>
where
    F: Fn() -> Result<Credentials, Failure> + Send + Sync + 'static,
{
    async fn handle(
        self: Arc<Self>,
        mut stream: TcpStream,
        peer: SocketAddr,
        mut admitted: Admitted,
    ) {
        let head = tokio::select! {
            head = read_head(&mut stream, REQUEST_TIMEOUT) => head,
            _ = &mut admitted.closed => {
                let _ = answer(&mut stream, 503, &busy_body()).await;
                return;
            }
        };
        admitted.started();
        let head = match head {
            Ok(head) => head,
            Err(reason) => {
                refused(Some(peer), reason);
                let _ = answer(&mut stream, 400, &message_body(reason)).await;
                return;
            }
        };
        let request = Request::parse(&head);
        let (status, mut body) = self.clone().respond(request, peer).await;
        let _ = answer(&mut stream, status, &body).await;
        body.zeroize();
    }

    async fn respond(self: Arc<Self>, request: Request, peer: SocketAddr) -> (u16, String) {
        if request.method != "GET" {
            return (405, message_body("only GET is answered"));
        }
        let Some(sent) = request.authorization.as_deref() else {
            refused(Some(peer), "no authorization token");
            return (403, message_body("no authorization token"));
        };
        let expected = self.token.expose_secret().as_bytes();
        if !bool::from(sent.as_bytes().ct_eq(expected)) {
            refused(Some(peer), "a wrong authorization token");
            return (403, message_body("wrong authorization token"));
        }
        let Ok(_turn) = self.fetches.acquire().await else {
            return (503, busy_body());
        };
        let this = self.clone();
        let fetched = tokio::task::spawn_blocking(move || (this.fetch)()).await;
        match fetched {
            Ok(Ok(credentials)) => (200, credentials_body(&credentials)),
            Ok(Err(failure)) => {
                eprintln!("mfad: could not hand out credentials: {failure}");
                (500, message_body(&failure.to_string()))
            }
            Err(_) => (500, message_body("fetching the credentials failed")),
        }
    }
}

/// Tell a connection over the cap to come back, after reading what it sent (closing a
/// socket with unread data would reset it).
async fn refuse_busy(mut stream: TcpStream) {
    let _ = read_head(&mut stream, REFUSAL_LINGER).await;
    let _ = answer(&mut stream, 503, &busy_body()).await;
}

fn busy_body() -> String {
    message_body("too many requests at once; try again")
}

/// One line on stderr naming the caller, never what it sent.
fn refused(peer: Option<SocketAddr>, reason: &str) {
    let from = peer.map_or_else(|| "an unknown address".to_owned(), |p| p.to_string());
    eprintln!("mfad: refused a credential request from {from}: {reason}");
}

/// The request line and headers, bounded in size and time.
async fn read_head(stream: &mut TcpStream, within: Duration) -> Result<Vec<u8>, &'static str> {
    let reading = async {
        let mut head = Vec::with_capacity(512);
        let mut chunk = [0u8; 1024];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
            match stream.read(&mut chunk).await {
                Ok(0) => return Err("the connection closed before a whole request"),
                Ok(n) => head.extend_from_slice(&chunk[..n]),
                Err(_) => return Err("the connection failed"),
            }
            if head.len() > MAX_REQUEST_BYTES {
                return Err("the request is too large");
            }
        }
        Ok(head)
    };
    tokio::time::timeout(within, reading)
        .await
        .unwrap_or(Err("the request did not arrive in time"))
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

/// Write the answer and close our side: the caller reads it to the end.
async fn answer(stream: &mut TcpStream, status: u16, body: &str) -> io::Result<()> {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        403 => "Forbidden",
        405 => "Method Not Allowed",
        503 => "Service Unavailable",
        _ => "Internal Server Error",
    };
    let retry = if status == 503 {
        "Retry-After: 1\r\n"
    } else {
        ""
    };
    let mut response = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{retry}Connection: close\r\n\r\n{body}",
        body.len()
    );
    let written = tokio::time::timeout(REQUEST_TIMEOUT, async {
        stream.write_all(response.as_bytes()).await?;
        stream.shutdown().await
    })
    .await
    .unwrap_or_else(|_| Err(io::ErrorKind::TimedOut.into()));
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

    /// A raw GET with the token, its head sent in two parts a moment apart (as a slow
    /// client would); the whole answer, or how sending or reading failed.
    fn get(uri: &str, token: &str) -> io::Result<String> {
        use std::io::Write;
        let address = uri.trim_start_matches("http://").trim_end_matches('/');
        let mut stream = std::net::TcpStream::connect(address)?;
        write!(stream, "GET / HTTP/1.1\r\nHost: x\r\n")?;
        std::thread::sleep(Duration::from_millis(100));
        write!(stream, "Authorization: {token}\r\n\r\n")?;
        let mut answer = String::new();
        stream.read_to_string(&mut answer)?;
        Ok(answer)
    }

    #[test]
    fn past_the_cap_of_busy_requests_a_newcomer_gets_503_and_no_reset() {
        use std::sync::{Condvar, Mutex};
        let endpoint = Endpoint::bind(0).unwrap();
        let uri = endpoint.uri().unwrap();
        let token = endpoint.token().expose_secret().to_owned();
        // Requests are held in the daemon until the gate opens.
        let gate = Arc::new((Mutex::new((0usize, false)), Condvar::new()));
        let held = gate.clone();
        let fetch = move || {
            let (lock, changed) = &*held;
            let mut state = lock.lock().unwrap();
            state.0 += 1;
            changed.notify_all();
            while !state.1 {
                state = changed.wait(state).unwrap();
            }
            Ok(Credentials {
                access_key_id: "ASIAHELD".into(),
                secret_access_key: SecretString::from("s"),
                session_token: SecretString::from("t"),
                expiration: 2_000_000_000,
                region: None,
                account_id: None,
            })
        };
        std::thread::spawn(move || endpoint.serve_up_to(2, fetch));
        let busy: Vec<_> = (0..2)
            .map(|_| {
                let (uri, token) = (uri.clone(), token.clone());
                std::thread::spawn(move || get(&uri, &token))
            })
            .collect();
        {
            let (lock, changed) = &*gate;
            let mut state = lock.lock().unwrap();
            while state.0 < 2 {
                state = changed.wait(state).unwrap();
            }
        }
        let refused = get(&uri, &token).expect("answered, not reset");
        assert!(refused.starts_with("HTTP/1.1 503"), "{refused}");
        assert!(refused.contains("Retry-After: 1\r\n"), "{refused}");
        let (lock, changed) = &*gate;
        lock.lock().unwrap().1 = true;
        changed.notify_all();
        for request in busy {
            let answer = request.join().unwrap().unwrap();
            assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        }
    }

    #[test]
    fn tokens_are_random_and_long() {
        let (a, b) = (random_token().unwrap(), random_token().unwrap());
        assert_eq!(a.expose_secret().len(), 64);
        assert_ne!(a.expose_secret(), b.expose_secret());
    }
}
