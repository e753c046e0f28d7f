//! The loopback end of a browser sign-in: wait for the redirect that carries our `state`
//! and the authorization code, and answer the browser with a page it can close.
//!
//! Every local user can connect to a loopback port, so each connection is served on its
//! own task within a byte and time bound, and past `MAX_CONNECTIONS` the oldest is closed:
//! a stranger who connects and says nothing, or floods the port, cannot keep the person's
//! browser from being answered.

use crate::failure::Failure;
use crate::messages;
use secrecy::SecretString;
use std::collections::VecDeque;
use std::time::Duration;
use subtle::ConstantTimeEq;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::AbortHandle;

/// The largest callback request read, and how long its sender may take.
const MAX_REQUEST_BYTES: usize = 8 * 1024;
const REQUEST_TIME_LIMIT: Duration = Duration::from_secs(5);
/// Connections served at once; the oldest is closed for a newer one.
const MAX_CONNECTIONS: usize = 64;

/// A loopback port for the browser to come back to (any free one, RFC 8252), and the
/// redirect URI with `path` on it.
pub async fn listen(path: &str) -> Result<(TcpListener, String), Failure> {
    let listener = TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0))
        .await
        .map_err(messages::endpoint_not_bound)?;
    let port = listener
        .local_addr()
        .map_err(messages::endpoint_not_bound)?
        .port();
    Ok((listener, format!("http://127.0.0.1:{port}{path}")))
}

/// What a sign-in is to, in words ("IAM Identity Center (corp)"), and the command that
/// tries it again.
#[derive(Debug, Clone)]
pub struct Signing {
    pub what: String,
    pub retry: String,
}

/// Wait on `listener` for `path` with our `state`: the code, or the refusal the sign-in
/// came back with. Other requests (a favicon, a stranger, a wrong state) are answered and
/// waited past.
pub async fn wait(
    listener: &TcpListener,
    path: &str,
    state: &str,
    signing: &Signing,
) -> Result<SecretString, Failure> {
    let (outcomes, mut outcome) = mpsc::channel(1);
    let mut served: VecDeque<AbortHandle> = VecDeque::new();
    loop {
        tokio::select! {
            Some(result) = outcome.recv() => {
                served.iter().for_each(AbortHandle::abort);
                return result;
            }
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                served.retain(|task| !task.is_finished());
                if served.len() >= MAX_CONNECTIONS
                    && let Some(oldest) = served.pop_front()
                {
                    oldest.abort();
                }
                let expected = Expected {
                    path: path.to_owned(),
                    state: state.to_owned(),
                    signing: signing.clone(),
                };
                let outcomes = outcomes.clone();
                let task = tokio::spawn(async move {
                    if let Some(result) = serve(stream, &expected).await {
                        let _ = outcomes.send(result).await;
                    }
                });
                served.push_back(task.abort_handle());
            }
        }
    }
}

struct Expected {
    path: String,
    state: String,
    signing: Signing,
}

/// Answer one connection; `Some` when it was the sign-in coming back.
async fn serve(
    mut stream: TcpStream,
    expected: &Expected,
) -> Option<Result<SecretString, Failure>> {
    let head = tokio::time::timeout(REQUEST_TIME_LIMIT, read_head(&mut stream))
        .await
        .ok()?
        .ok()?;
    let target = head.split_whitespace().nth(1).unwrap_or_default();
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    if path != expected.path {
        let _ = reply(&mut stream, 404, "Not found.").await;
        return None;
    }
    let param = |name: &str| {
        query.split('&').find_map(|pair| {
            let (key, value) = pair.split_once('=')?;
            (key == name).then(|| percent_decode(value))
        })
    };
    let state_matches = param("state")
        .is_some_and(|sent| bool::from(sent.as_bytes().ct_eq(expected.state.as_bytes())));
    if !state_matches {
        let text = "This sign-in is not the one mfad started; nothing was done.";
        let _ = reply(&mut stream, 400, text).await;
        return None;
    }
    if let Some(error) = param("error") {
        let text = "The sign-in was refused. You may close this tab.";
        let _ = reply(&mut stream, 400, text).await;
        return Some(Err(messages::sign_in_refused(
            &expected.signing.what,
            &error,
            &expected.signing.retry,
        )));
    }
    let Some(code) = param("code") else {
        let _ = reply(&mut stream, 400, "The sign-in came back without a code.").await;
        return None;
    };
    let text = format!(
        "mfad: you are signed in to {}. You may close this tab.",
        expected.signing.what
    );
    let _ = reply(&mut stream, 200, &text).await;
    Some(Ok(SecretString::from(code)))
}

async fn read_head(stream: &mut TcpStream) -> std::io::Result<String> {
    let mut head = Vec::new();
    let mut chunk = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < MAX_REQUEST_BYTES {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&chunk[..n]);
    }
    Ok(String::from_utf8_lossy(&head).into_owned())
}

async fn reply(stream: &mut TcpStream, status: u16, text: &str) -> std::io::Result<()> {
    let page = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>mfad</title></head><body><p>{text}</p></body></html>"
    );
    let head = format!(
        "HTTP/1.1 {status} {}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        if status == 200 { "OK" } else { "Error" },
        page.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(page.as_bytes()).await?;
    stream.shutdown().await
}

fn percent_decode(text: &str) -> String {
    percent_encoding::percent_decode_str(&text.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signing() -> Signing {
        Signing {
            what: "IAM Identity Center (corp)".into(),
            retry: "mfad sso login corp".into(),
        }
    }
    use secrecy::ExposeSecret;

    async fn get(port: u16, target: &str) -> String {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        let request = format!("GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).await.unwrap();
        response
    }

    async fn listener() -> (TcpListener, u16) {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
        let port = listener.local_addr().unwrap().port();
        (listener, port)
    }

    #[tokio::test]
    async fn strangers_holding_the_port_or_guessing_do_not_keep_the_browser_waiting() {
        let (listener, port) = listener().await;
        let waiting = tokio::spawn(async move {
            wait(&listener, "/oauth/callback", "the-state", &signing()).await
        });
        // Strangers: many connections that never send a request, which fill the cap…
        let mut silent = Vec::new();
        for _ in 0..MAX_CONNECTIONS + 10 {
            silent.push(TcpStream::connect(("127.0.0.1", port)).await.unwrap());
        }
        // Each request below is answered while they still hold their connections (well
        // within their 5 s bound; served one after another, the first would wait 5 s
        // for each of them): a wrong state, a path that is not the callback…
        let answered = |target: &'static str| {
            let response = get(port, target);
            async move {
                tokio::time::timeout(Duration::from_secs(3), response)
                    .await
                    .expect("answered while strangers hold connections")
            }
        };
        let forged = answered("/oauth/callback?code=stolen&state=guess").await;
        assert!(forged.starts_with("HTTP/1.1 400"), "{forged}");
        assert!(answered("/favicon.ico").await.starts_with("HTTP/1.1 404"));
        // …and the browser, coming back with our state.
        let page = answered("/oauth/callback?code=the%2Bcode&state=the-state").await;
        assert!(page.starts_with("HTTP/1.1 200"), "{page}");
        assert!(page.contains("You may close this tab"), "{page}");
        let code = waiting.await.unwrap().unwrap();
        assert_eq!(code.expose_secret(), "the+code");
        drop(silent);
    }

    #[tokio::test]
    async fn a_refused_sign_in_ends_the_wait_with_what_it_said() {
        let (listener, port) = listener().await;
        let waiting =
            tokio::spawn(async move { wait(&listener, "/oauth/callback", "s", &signing()).await });
        let page = get(port, "/oauth/callback?error=access_denied&state=s").await;
        assert!(page.starts_with("HTTP/1.1 400"), "{page}");
        let failure = waiting.await.unwrap().unwrap_err();
        assert!(failure.to_string().contains("access_denied"), "{failure}");
    }
}
