//! A double of IAM Identity Center for the tests (moto has neither sso-oidc nor the
//! portal), speaking the routes as the AWS SDKs call them (restJson1, errors named in
//! `x-amzn-errortype`):
//!
//! - sso-oidc: `POST /client/register`, `POST /device_authorization`, `POST /token` (grants
//!   `authorization_code` with PKCE, the device code, `refresh_token`), and the browser's
//!   `GET /authorize`, which a person approves at once (the double plays the person too)
//!   by redirecting to the client's loopback with the code and the `state`;
//! - the portal: `GET /federation/credentials`, `GET /assignment/accounts`,
//!   `GET /assignment/roles`, `POST /logout`, each with `x-amz-sso_bearer_token`.
//!
//! It checks PKCE (S256) and the redirect URI, answers `AuthorizationPendingException`
//! until the device code is approved (`GET /device?user_code=…`) and
//! `SlowDownException` to a client that polls faster than the interval, rotates refresh
//! tokens and refuses a used one (`InvalidGrantException`), answers 401 to a token that
//! expired or was revoked, counts every call, and can expire or revoke tokens.

use super::http::{HttpRequest, read_request};
use base64::Engine;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// What the double has seen.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    pub register_client: usize,
    pub start_device_authorization: usize,
    pub authorize: usize,
    pub token_by_code: usize,
    pub token_by_device_code: usize,
    pub token_by_refresh: usize,
    /// Device-code polls answered `AuthorizationPendingException`.
    pub pending_polls: usize,
    /// Polls that came sooner than the interval asked for (SlowDown answered).
    pub slow_downs: usize,
    pub role_credentials: usize,
    pub list_accounts: usize,
    pub list_account_roles: usize,
    pub logouts: usize,
    /// Requests refused for a PKCE verifier, state or redirect that did not match.
    pub pkce_failures: usize,
}

impl Counts {
    /// Every CreateToken, whatever its grant.
    pub fn create_token(&self) -> usize {
        self.token_by_code + self.token_by_device_code + self.token_by_refresh
    }
}

struct Client {
    secret: String,
    redirect_uris: Vec<String>,
}

struct Device {
    client_id: String,
    user_code: String,
    approved: bool,
    last_poll: Option<Instant>,
    /// The interval this client must keep, raised by 5 s with each SlowDown.
    interval: Duration,
}

struct Code {
    client_id: String,
    challenge: String,
    redirect_uri: String,
}

struct Issued {
    expires: SystemTime,
}

#[derive(Default)]
struct State {
    counts: Counts,
    next: u64,
    clients: HashMap<String, Client>,
    devices: HashMap<String, Device>,
    codes: HashMap<String, Code>,
    /// access token -> when it ends
    tokens: HashMap<String, Issued>,
    /// refresh tokens that still work
    refresh_tokens: HashMap<String, String>,
    /// account id -> (name, roles)
    accounts: BTreeMap<String, (String, Vec<String>)>,
    token_lifetime: Option<Duration>,
    role_lifetime: Option<Duration>,
    /// Where role credentials are also made valid (an STS double), if anywhere.
    sts: Option<super::sts_double::Accepted>,
    /// Seconds between polls the double asks for.
    interval: u64,
    /// Approve device codes as soon as they are started (a person quick at the browser).
    approve_devices_at_once: bool,
    /// Answer the next device-code poll SlowDown, on time or not.
    slow_down_once: bool,
    /// Answer every page of accounts with a next page, for ever.
    endless_pages: bool,
}

pub struct SsoDouble {
    pub url: String,
    state: Arc<Mutex<State>>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl Drop for SsoDouble {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

impl SsoDouble {
    pub fn start() -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let state = Arc::new(Mutex::new(State {
            interval: 1,
            ..State::default()
        }));
        let listener = runtime.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let served = state.clone();
        runtime.spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                tokio::spawn(serve_connection(stream, served.clone()));
            }
        });
        Self {
            url,
            state,
            runtime: Some(runtime),
        }
    }

    /// Give the person a role in an account.
    pub fn assign(&self, account_id: &str, account_name: &str, role: &str) {
        let mut state = self.state.lock().unwrap();
        let entry = state
            .accounts
            .entry(account_id.to_owned())
            .or_insert_with(|| (account_name.to_owned(), Vec::new()));
        entry.1.push(role.to_owned());
    }

    pub fn counts(&self) -> Counts {
        self.state.lock().unwrap().counts.clone()
    }

    /// How long access tokens and role credentials it issues from now on last.
    pub fn set_lifetimes(&self, token: Duration, role: Duration) {
        let mut state = self.state.lock().unwrap();
        state.token_lifetime = Some(token);
        state.role_lifetime = Some(role);
    }

    /// Make every role credential it issues from now on valid at `sts` too.
    pub fn valid_at(&self, sts: &super::sts_double::StsDouble) {
        self.state.lock().unwrap().sts = Some(sts.accepted());
    }

    /// Ask the next device-code poll to slow down.
    pub fn slow_down_once(&self) {
        self.state.lock().unwrap().slow_down_once = true;
    }

    /// Page accounts for ever.
    pub fn page_endlessly(&self) {
        self.state.lock().unwrap().endless_pages = true;
    }

    pub fn approve_devices_at_once(&self) {
        self.state.lock().unwrap().approve_devices_at_once = true;
    }

    /// The person approves the device authorization showing `user_code` in a browser.
    pub fn approve(&self, user_code: &str) -> bool {
        let mut state = self.state.lock().unwrap();
        let found = state
            .devices
            .values_mut()
            .find(|d| d.user_code == user_code);
        found.map(|device| device.approved = true).is_some()
    }

    /// Every access token ends now (refresh tokens still work).
    pub fn expire_tokens(&self) {
        let mut state = self.state.lock().unwrap();
        for token in state.tokens.values_mut() {
            token.expires = SystemTime::now() - Duration::from_secs(1);
        }
    }

    /// The sign-in is over: access and refresh tokens are refused from now on.
    pub fn revoke_all(&self) {
        let mut state = self.state.lock().unwrap();
        state.tokens.clear();
        state.refresh_tokens.clear();
    }

    /// Every access and refresh token and client secret it issued and still knows.
    pub fn issued_tokens(&self) -> Vec<String> {
        let state = self.state.lock().unwrap();
        state
            .tokens
            .keys()
            .chain(state.refresh_tokens.keys())
            .chain(state.clients.values().map(|client| &client.secret))
            .cloned()
            .collect()
    }

    /// Whether an access token is one the double issued and still accepts.
    pub fn accepts(&self, token: &str) -> bool {
        let state = self.state.lock().unwrap();
        state
            .tokens
            .get(token)
            .is_some_and(|t| t.expires > SystemTime::now())
    }
}

fn next_id(state: &mut State, prefix: &str) -> String {
    state.next += 1;
    format!("{prefix}{:06}{}", state.next, std::process::id())
}

async fn serve_connection(stream: TcpStream, state: Arc<Mutex<State>>) {
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    while let Some(request) = read_request(&mut reader).await {
        let answer = handle(&request, &state);
        let mut head = format!(
            "HTTP/1.1 {} {}\r\ncontent-length: {}\r\nx-amzn-requestid: 8a0f3c8e-5d4c-4b1e-9f0e-1b2c3d4e5f60\r\n",
            answer.status,
            reason(answer.status),
            answer.body.len()
        );
        for (name, value) in &answer.headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        if write.write_all(head.as_bytes()).await.is_err()
            || write.write_all(answer.body.as_bytes()).await.is_err()
        {
            return;
        }
        let closing = request
            .headers
            .get("connection")
            .is_some_and(|c| c.eq_ignore_ascii_case("close"));
        if closing {
            return;
        }
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        302 => "Found",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        _ => "Internal Server Error",
    }
}

struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

fn json(value: &serde_json::Value) -> Answer {
    Answer {
        status: 200,
        headers: vec![("content-type".into(), "application/json".into())],
        body: value.to_string(),
    }
}

/// An error as Identity Center answers it.
fn error(status: u16, kind: &str, error: &str, description: &str) -> Answer {
    Answer {
        status,
        headers: vec![
            ("content-type".into(), "application/json".into()),
            ("x-amzn-errortype".into(), format!("{kind}:http://internal.amazon.com/coral/com.amazonaws.switchboard.portal/")),
        ],
        body: serde_json::json!({ "error": error, "error_description": description, "message": description })
            .to_string(),
    }
}

fn handle(request: &HttpRequest, state: &Arc<Mutex<State>>) -> Answer {
    let mut state = state.lock().unwrap();
    let body: serde_json::Value = serde_json::from_slice(&request.body).unwrap_or_default();
    let (path, query) = request.route();
    let bearer = request.headers.get("x-amz-sso_bearer_token").cloned();
    match (request.method.as_str(), path) {
        ("POST", "/client/register") => register(&mut state, &body),
        ("POST", "/device_authorization") => start_device(&mut state, &body),
        ("POST", "/token") => token(&mut state, &body),
        ("GET", "/authorize") => authorize(&mut state, &query),
        ("GET", "/device") => {
            let code = query.get("user_code").cloned().unwrap_or_default();
            let found = state.devices.values_mut().find(|d| d.user_code == code);
            match found {
                Some(device) => {
                    device.approved = true;
                    page("Your device is approved. You may close this tab.")
                }
                None => page("No such code."),
            }
        }
        ("GET", "/federation/credentials") => with_token(&mut state, bearer.as_ref(), |state| {
            state.counts.role_credentials += 1;
            let (account, role) = (
                query.get("account_id").cloned().unwrap_or_default(),
                query.get("role_name").cloned().unwrap_or_default(),
            );
            let assigned = state
                .accounts
                .get(&account)
                .is_some_and(|(_, roles)| roles.contains(&role));
            if !assigned {
                return error(403, "ForbiddenException", "forbidden", "No access");
            }
            let lifetime = state.role_lifetime.unwrap_or(Duration::from_secs(3600));
            let expiration = SystemTime::now() + lifetime;
            let millis = expiration.duration_since(UNIX_EPOCH).unwrap().as_millis() as u64;
            let key = next_id(state, "ASIASSO");
            let (secret, token) = (format!("sso-secret-{key}"), format!("sso-token-{key}"));
            if let Some(sts) = &state.sts {
                let arn =
                    format!("arn:aws:sts::{account}:assumed-role/AWSReservedSSO_{role}/person");
                sts.accept(&key, &secret, &token, &arn, expiration);
            }
            json(&serde_json::json!({ "roleCredentials": {
                "accessKeyId": key,
                "secretAccessKey": secret,
                "sessionToken": token,
                "expiration": millis,
            }}))
        }),
        ("GET", "/assignment/accounts") => with_token(&mut state, bearer.as_ref(), |state| {
            state.counts.list_accounts += 1;
            let accounts: Vec<_> = state
                .accounts
                .iter()
                .map(|(id, (name, _))| serde_json::json!({"accountId": id, "accountName": name, "emailAddress": "root@example.com"}))
                .collect();
            let endless = state.endless_pages;
            json(&one_page(&query, "accountList", &accounts, endless))
        }),
        ("GET", "/assignment/roles") => with_token(&mut state, bearer.as_ref(), |state| {
            state.counts.list_account_roles += 1;
            let account = query.get("account_id").cloned().unwrap_or_default();
            let roles: Vec<_> = state
                .accounts
                .get(&account)
                .map(|(_, roles)| roles.clone())
                .unwrap_or_default()
                .into_iter()
                .map(|role| serde_json::json!({"roleName": role, "accountId": account}))
                .collect();
            json(&one_page(&query, "roleList", &roles, false))
        }),
        ("POST", "/logout") => with_token(&mut state, bearer.as_ref(), |state| {
            state.counts.logouts += 1;
            if let Some(token) = &bearer {
                state.tokens.remove(token);
            }
            state.refresh_tokens.clear();
            json(&serde_json::json!({}))
        }),
        _ => error(
            404,
            "ResourceNotFoundException",
            "not_found",
            "no such route",
        ),
    }
}

/// One item of a listing per page, as a portal with many may page: `next_token` is the
/// index of the next item (every page has a next one when `endless`).
fn one_page(
    query: &HashMap<String, String>,
    list: &str,
    items: &[serde_json::Value],
    endless: bool,
) -> serde_json::Value {
    let at: usize = query.get("next_token").map_or(0, |t| t.parse().unwrap());
    let mut page = serde_json::json!({ list: items.get(at).into_iter().collect::<Vec<_>>() });
    if endless || at + 1 < items.len() {
        page["nextToken"] = (at + 1).to_string().into();
    }
    page
}

/// A page the browser shows.
fn page(text: &str) -> Answer {
    Answer {
        status: 200,
        headers: vec![("content-type".into(), "text/html".into())],
        body: format!("<html><body><p>{text}</p></body></html>"),
    }
}

fn with_token(
    state: &mut State,
    bearer: Option<&String>,
    then: impl FnOnce(&mut State) -> Answer,
) -> Answer {
    let valid = bearer
        .and_then(|token| state.tokens.get(token))
        .is_some_and(|t| t.expires > SystemTime::now());
    if !valid {
        return error(
            401,
            "UnauthorizedException",
            "unauthorized",
            "Session token not found or invalid",
        );
    }
    then(state)
}

fn text(body: &serde_json::Value, key: &str) -> String {
    body[key].as_str().unwrap_or_default().to_owned()
}

fn register(state: &mut State, body: &serde_json::Value) -> Answer {
    state.counts.register_client += 1;
    let id = next_id(state, "client-");
    let secret = next_id(state, "client-secret-");
    let redirect_uris = body["redirectUris"]
        .as_array()
        .map(|uris| {
            uris.iter()
                .filter_map(|u| u.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    state.clients.insert(
        id.clone(),
        Client {
            secret: secret.clone(),
            redirect_uris,
        },
    );
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    json(&serde_json::json!({
        "clientId": id,
        "clientSecret": secret,
        "clientIdIssuedAt": now,
        "clientSecretExpiresAt": now + 90 * 24 * 3600,
    }))
}

fn client_ok(state: &State, body: &serde_json::Value) -> bool {
    state
        .clients
        .get(&text(body, "clientId"))
        .is_some_and(|c| c.secret == text(body, "clientSecret"))
}

fn start_device(state: &mut State, body: &serde_json::Value) -> Answer {
    state.counts.start_device_authorization += 1;
    if !client_ok(state, body) {
        return error(
            401,
            "InvalidClientException",
            "invalid_client",
            "unknown client",
        );
    }
    let device_code = next_id(state, "device-");
    let user_code = format!(
        "{:04}-{:04}",
        state.next % 10_000,
        (state.next * 7) % 10_000
    );
    let approved = state.approve_devices_at_once;
    state.devices.insert(
        device_code.clone(),
        Device {
            client_id: text(body, "clientId"),
            user_code: user_code.clone(),
            approved,
            last_poll: None,
            interval: Duration::from_secs(state.interval),
        },
    );
    json(&serde_json::json!({
        "deviceCode": device_code,
        "userCode": user_code,
        "verificationUri": "https://device.sso.example/",
        "verificationUriComplete": format!("https://device.sso.example/?user_code={user_code}"),
        "expiresIn": 600,
        "interval": state.interval,
    }))
}

fn authorize(state: &mut State, query: &HashMap<String, String>) -> Answer {
    state.counts.authorize += 1;
    let client_id = query.get("client_id").cloned().unwrap_or_default();
    let redirect_uri = query.get("redirect_uri").cloned().unwrap_or_default();
    let known = state.clients.get(&client_id).is_some_and(|client| {
        // Loopback redirects match whatever their port (RFC 8252).
        let without_port = strip_port(&redirect_uri);
        client
            .redirect_uris
            .iter()
            .any(|u| strip_port(u) == without_port)
    });
    if !known || query.get("code_challenge_method").map(String::as_str) != Some("S256") {
        state.counts.pkce_failures += 1;
        return error(
            400,
            "InvalidRequestException",
            "invalid_request",
            "bad authorize request",
        );
    }
    let code = next_id(state, "code-");
    state.codes.insert(
        code.clone(),
        Code {
            client_id,
            challenge: query.get("code_challenge").cloned().unwrap_or_default(),
            redirect_uri: redirect_uri.clone(),
        },
    );
    let state_param = query.get("state").cloned().unwrap_or_default();
    let encode = |v: &str| {
        v.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    Answer {
        status: 302,
        headers: vec![(
            "location".into(),
            format!(
                "{redirect_uri}?code={}&state={}",
                encode(&code),
                encode(&state_param)
            ),
        )],
        body: String::new(),
    }
}

fn strip_port(uri: &str) -> String {
    let Some(rest) = uri.strip_prefix("http://127.0.0.1") else {
        return uri.to_owned();
    };
    let path = rest.trim_start_matches(|c: char| c == ':' || c.is_ascii_digit());
    format!("http://127.0.0.1{path}")
}

fn issue(state: &mut State) -> Answer {
    let access = next_id(state, "access-");
    let refresh = next_id(state, "refresh-");
    let lifetime = state
        .token_lifetime
        .unwrap_or(Duration::from_secs(8 * 3600));
    state.tokens.insert(
        access.clone(),
        Issued {
            expires: SystemTime::now() + lifetime,
        },
    );
    state.refresh_tokens.insert(refresh.clone(), access.clone());
    json(&serde_json::json!({
        "accessToken": access,
        "tokenType": "Bearer",
        "expiresIn": lifetime.as_secs(),
        "refreshToken": refresh,
    }))
}

fn token(state: &mut State, body: &serde_json::Value) -> Answer {
    if !client_ok(state, body) {
        return error(
            401,
            "InvalidClientException",
            "invalid_client",
            "unknown client",
        );
    }
    match text(body, "grantType").as_str() {
        "authorization_code" => {
            state.counts.token_by_code += 1;
            let Some(code) = state.codes.remove(&text(body, "code")) else {
                return error(
                    400,
                    "InvalidGrantException",
                    "invalid_grant",
                    "unknown or used code",
                );
            };
            let verifier = text(body, "codeVerifier");
            let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .encode(Sha256::digest(verifier.as_bytes()));
            if code.challenge != challenge
                || code.client_id != text(body, "clientId")
                || code.redirect_uri != text(body, "redirectUri")
            {
                state.counts.pkce_failures += 1;
                return error(
                    400,
                    "InvalidGrantException",
                    "invalid_grant",
                    "the code verifier does not match",
                );
            }
            issue(state)
        }
        "urn:ietf:params:oauth:grant-type:device_code" => {
            state.counts.token_by_device_code += 1;
            let slow_down_once = std::mem::take(&mut state.slow_down_once);
            let Some(device) = state.devices.get_mut(&text(body, "deviceCode")) else {
                return error(
                    400,
                    "ExpiredTokenException",
                    "expired_token",
                    "unknown device code",
                );
            };
            if device.client_id != text(body, "clientId") {
                return error(
                    400,
                    "InvalidGrantException",
                    "invalid_grant",
                    "not this client's",
                );
            }
            let too_soon = device
                .last_poll
                .is_some_and(|at| at.elapsed() < device.interval);
            device.last_poll = Some(Instant::now());
            if (too_soon && !device.approved) || slow_down_once {
                // As AWS does: the client must now wait 5 s more between polls.
                device.interval += Duration::from_secs(5);
                if too_soon {
                    state.counts.slow_downs += 1;
                }
                return error(400, "SlowDownException", "slow_down", "poll less often");
            }
            if !device.approved {
                state.counts.pending_polls += 1;
                return error(
                    400,
                    "AuthorizationPendingException",
                    "authorization_pending",
                    "waiting for the person",
                );
            }
            state.devices.remove(&text(body, "deviceCode"));
            issue(state)
        }
        "refresh_token" => {
            state.counts.token_by_refresh += 1;
            // A refresh token works once: its successor replaces it.
            if state
                .refresh_tokens
                .remove(&text(body, "refreshToken"))
                .is_none()
            {
                return error(
                    400,
                    "InvalidGrantException",
                    "invalid_grant",
                    "refresh token revoked or used",
                );
            }
            issue(state)
        }
        other => error(
            400,
            "UnsupportedGrantTypeException",
            "unsupported_grant_type",
            other,
        ),
    }
}
