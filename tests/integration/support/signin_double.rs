//! A double of the AWS sign-in service behind `aws login` (moto has none): the browser's
//! `GET /v1/authorize`, which a person approves at once (the double plays the person
//! too) by redirecting to the client's loopback with a code and the `state` (or, for the
//! cross-device client, to `GET /v1/sessions/confirmation`, which shows the person the
//! code to paste: base64 of `state=…&code=…`); and
//! CreateOAuth2Token as aws-sdk-signin calls it: `POST /v1/token`, the body the
//! CreateOAuth2TokenRequestBody, the answer the CreateOAuth2TokenResponseBody, errors
//! named in `x-amzn-errortype` with the OAuth2ErrorCode in `error`.
//!
//! Every request must carry a DPoP proof: an ES256 JWT whose signature verifies with the
//! P-256 key in its header, naming `POST` and this double's token URL, made within five
//! minutes, with a `jti` never seen before (a replay is refused), and signed by the key
//! the refresh token is bound to. A code is taken once, for the redirect it was issued to,
//! with the PKCE verifier of its challenge. Refresh tokens rotate: a used one is refused. The
//! double can answer the next refresh with any of the service's refusals, and makes the
//! credentials it issues valid at an STS double.

use super::http::{HttpRequest, read_request};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use p256::ecdsa::{Signature, VerifyingKey, signature::Verifier};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

pub const CLIENT_ID: &str = "arn:aws:signin:::devtools/same-device";
/// The client of a sign-in in a browser on another device.
pub const CROSS_DEVICE_CLIENT_ID: &str = "arn:aws:signin:::devtools/cross-device";

/// What the double has seen.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    pub authorize: usize,
    pub token_by_code: usize,
    /// Codes refused: unknown or used, another redirect, a verifier that does not match.
    pub bad_codes: usize,
    pub token_by_refresh: usize,
    /// Proofs refused: missing, badly signed, for another URL or method, stale, or
    /// signed by a key the token is not bound to.
    pub bad_proofs: usize,
    /// Proofs refused because their `jti` was seen before.
    pub replays: usize,
    /// Refresh tokens refused because they were used (or never issued).
    pub used_refresh_tokens: usize,
}

/// A refusal the service can answer a refresh with.
#[derive(Debug, Clone, Copy)]
pub enum Refusal {
    TokenExpired,
    UserCredentialsChanged,
    InsufficientPermissions,
}

#[derive(Default)]
struct State {
    counts: Counts,
    next: u64,
    /// refresh token -> the x of the DPoP key it is bound to
    refresh_tokens: HashMap<String, String>,
    jtis: HashSet<String>,
    refuse_next: Option<Refusal>,
    /// code -> (its PKCE challenge, the redirect it goes back to)
    codes: HashMap<String, (String, String)>,
    sts: Option<super::sts_double::Accepted>,
    /// The login_session ARN of the identity it signs in.
    arn: String,
    /// How long the credentials it issues last (15 minutes unless set).
    lifetime: Option<Duration>,
}

pub struct SigninDouble {
    pub url: String,
    state: Arc<Mutex<State>>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl Drop for SigninDouble {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

impl SigninDouble {
    /// A sign-in service for `arn`, its credentials valid at `sts`.
    pub fn start(arn: &str, sts: &super::sts_double::StsDouble) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let state = Arc::new(Mutex::new(State {
            sts: Some(sts.accepted()),
            arn: arn.to_owned(),
            ..State::default()
        }));
        let listener = runtime.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (served, token_url) = (state.clone(), format!("{url}/v1/token"));
        runtime.spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                tokio::spawn(serve_connection(stream, served.clone(), token_url.clone()));
            }
        });
        Self {
            url,
            state,
            runtime: Some(runtime),
        }
    }

    pub fn counts(&self) -> Counts {
        self.state.lock().unwrap().counts.clone()
    }

    /// How long the credentials it issues from now on last.
    pub fn set_lifetime(&self, lifetime: Duration) {
        self.state.lock().unwrap().lifetime = Some(lifetime);
    }

    /// Answer the next refresh with `refusal`.
    pub fn refuse_next(&self, refusal: Refusal) {
        self.state.lock().unwrap().refuse_next = Some(refusal);
    }

    /// Write a cache as `aws login` leaves it, for `login_session` in `directory`, its
    /// credentials ending in `left` (issued and valid at the STS double), its refresh
    /// token bound to a fresh key. Returns the file.
    pub fn sign_in(&self, directory: &Path, left: Duration) -> PathBuf {
        let (key, pem) = mfad::aws_login::dpop::generate().unwrap();
        let x = jwk_x(&key.public_key());
        let mut state = self.state.lock().unwrap();
        let refresh_token = next_id(&mut state, "refresh-");
        state.refresh_tokens.insert(refresh_token.clone(), x);
        let (id, secret, token) = issue(&mut state, SystemTime::now() + left);
        let arn = state.arn.clone();
        let cache = serde_json::json!({
            "accessToken": {
                "accessKeyId": id,
                "secretAccessKey": secret,
                "sessionToken": token,
                "accountId": arn.split(':').nth(4).unwrap(),
                "expiresAt": rfc3339(SystemTime::now() + left),
            },
            "tokenType": "aws_sigv4",
            "refreshToken": refresh_token,
            "idToken": "header.payload.signature",
            "clientId": CLIENT_ID,
            "dpopKey": pem,
        });
        std::fs::create_dir_all(directory).unwrap();
        let file = directory.join(format!("{}.json", sha256_hex(&arn)));
        std::fs::write(&file, serde_json::to_vec_pretty(&cache).unwrap()).unwrap();
        file
    }
}

/// The cache file's `expiresAt`, moved to `left` from now (the credentials stay valid at
/// STS as issued): what the cache looks like that much later.
pub fn age_cache(file: &Path, left: Duration) {
    let mut cache: serde_json::Value =
        serde_json::from_slice(&std::fs::read(file).unwrap()).unwrap();
    cache["accessToken"]["expiresAt"] = rfc3339(SystemTime::now() + left).into();
    std::fs::write(file, serde_json::to_vec_pretty(&cache).unwrap()).unwrap();
}

fn issue(state: &mut State, expiration: SystemTime) -> (String, String, String) {
    let id = format!("ASIASIGNIN{:010}", state.next + 1);
    let secret = next_id(state, "signin-secret-");
    let token = next_id(state, "signin-token-");
    if let Some(sts) = &state.sts {
        sts.accept(&id, &secret, &token, &state.arn, expiration);
    }
    (id, secret, token)
}

fn next_id(state: &mut State, prefix: &str) -> String {
    state.next += 1;
    format!("{prefix}{:06}{}", state.next, std::process::id())
}

fn sha256_hex(text: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(text.trim().as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn rfc3339(at: SystemTime) -> String {
    aws_smithy_types::DateTime::from(at)
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .unwrap()
}

fn jwk_x(key: &p256::PublicKey) -> String {
    use p256::elliptic_curve::sec1::ToEncodedPoint;
    URL_SAFE_NO_PAD.encode(key.to_encoded_point(false).x().unwrap())
}

async fn serve_connection(stream: TcpStream, state: Arc<Mutex<State>>, token_url: String) {
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    while let Some(request) = read_request(&mut reader).await {
        let (status, headers, body) = handle(&request, &state, &token_url);
        let mut head = format!(
            "HTTP/1.1 {status} {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nx-amzn-requestid: 5e1f0c2a-7b3d-4e8f-9a1b-2c3d4e5f6a7b\r\n",
            match status {
                200 => "OK",
                302 => "Found",
                _ => "Error",
            },
            body.len()
        );
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        if write.write_all(head.as_bytes()).await.is_err()
            || write.write_all(body.as_bytes()).await.is_err()
        {
            return;
        }
    }
}

type Answer = (u16, Vec<(&'static str, String)>, String);

/// An error as the sign-in service answers it.
fn error(status: u16, kind: &str, code: &str, message: &str) -> Answer {
    (
        status,
        vec![("x-amzn-errortype", kind.to_owned())],
        serde_json::json!({ "error": code, "message": message }).to_string(),
    )
}

fn handle(request: &HttpRequest, state: &Arc<Mutex<State>>, token_url: &str) -> Answer {
    let (path, query) = request.route();
    let base = token_url.trim_end_matches("/v1/token");
    if (request.method.as_str(), path) == ("GET", "/v1/authorize") {
        return authorize(&mut state.lock().unwrap(), &query, base);
    }
    if (request.method.as_str(), path) == ("GET", "/v1/sessions/confirmation") {
        let shown = format!(
            "state={}&code={}",
            query.get("state").cloned().unwrap_or_default(),
            query.get("code").cloned().unwrap_or_default()
        );
        let code = base64::engine::general_purpose::STANDARD.encode(shown);
        return (200, Vec::new(), format!("Your code: {code}"));
    }
    if (request.method.as_str(), path) != ("POST", "/v1/token") {
        return error(
            404,
            "ValidationException",
            "INVALID_REQUEST",
            "no such route",
        );
    }
    let mut state = state.lock().unwrap();
    let proof_key = match check_proof(request, &mut state, token_url) {
        Ok(x) => x,
        Err(answer) => return answer,
    };
    let body: serde_json::Value = serde_json::from_slice(&request.body).unwrap_or_default();
    if body["clientId"] != CLIENT_ID && body["clientId"] != CROSS_DEVICE_CLIENT_ID {
        return error(
            400,
            "ValidationException",
            "INVALID_REQUEST",
            "unknown clientId",
        );
    }
    match body["grantType"].as_str() {
        Some("refresh_token") => refresh(&mut state, &body, &proof_key),
        Some("authorization_code") => by_code(&mut state, &body, &proof_key),
        _ => error(
            400,
            "ValidationException",
            "INVALID_REQUEST",
            "unsupported grantType",
        ),
    }
}

/// The person signs in and approves at once: back to the loopback with a code.
fn authorize(state: &mut State, query: &HashMap<String, String>, base: &str) -> Answer {
    state.counts.authorize += 1;
    let get = |key: &str| query.get(key).cloned().unwrap_or_default();
    let redirect = get("redirect_uri");
    let redirect_allowed = match get("client_id").as_str() {
        CLIENT_ID => redirect.starts_with("http://127.0.0.1:"),
        CROSS_DEVICE_CLIENT_ID => redirect == format!("{base}/v1/sessions/confirmation"),
        _ => false,
    };
    if get("response_type") != "code"
        || get("code_challenge_method") != "SHA-256"
        || get("scope") != "openid"
        || get("code_challenge").is_empty()
        || !redirect_allowed
    {
        return error(
            400,
            "ValidationException",
            "INVALID_REQUEST",
            "bad authorize request",
        );
    }
    let code = next_id(state, "code-");
    state
        .codes
        .insert(code.clone(), (get("code_challenge"), redirect.clone()));
    (
        302,
        vec![(
            "location",
            format!("{redirect}?code={code}&state={}", get("state")),
        )],
        String::new(),
    )
}

fn by_code(state: &mut State, body: &serde_json::Value, proof_key: &str) -> Answer {
    use sha2::{Digest, Sha256};
    state.counts.token_by_code += 1;
    let text = |key: &str| body[key].as_str().unwrap_or_default().to_owned();
    let Some((challenge, redirect)) = state.codes.remove(&text("code")) else {
        state.counts.bad_codes += 1;
        return error(
            401,
            "AccessDeniedException",
            "AUTHCODE_EXPIRED",
            "Unknown or used code",
        );
    };
    let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(text("codeVerifier").as_bytes()));
    if computed != challenge.trim_end_matches('=') || redirect != text("redirectUri") {
        state.counts.bad_codes += 1;
        return error(
            400,
            "ValidationException",
            "INVALID_REQUEST",
            "PKCE or redirect mismatch",
        );
    }
    let refresh_token = next_id(state, "refresh-");
    state
        .refresh_tokens
        .insert(refresh_token.clone(), proof_key.to_owned());
    tokens(state, &refresh_token)
}

/// New credentials (valid at the STS double) with `refresh_token`.
fn tokens(state: &mut State, refresh_token: &str) -> Answer {
    let lifetime = state.lifetime.unwrap_or(Duration::from_secs(900));
    let (id, secret, token) = issue(state, SystemTime::now() + lifetime);
    let claims = URL_SAFE_NO_PAD.encode(serde_json::json!({ "sub": state.arn }).to_string());
    (
        200,
        Vec::new(),
        serde_json::json!({
            "accessToken": { "accessKeyId": id, "secretAccessKey": secret, "sessionToken": token },
            "tokenType": "aws_sigv4",
            "expiresIn": lifetime.as_secs(),
            "refreshToken": refresh_token,
            "idToken": format!("eyJhbGciOiJSUzI1NiJ9.{claims}.signature"),
        })
        .to_string(),
    )
}

fn refresh(state: &mut State, body: &serde_json::Value, proof_key: &str) -> Answer {
    state.counts.token_by_refresh += 1;
    if let Some(refusal) = state.refuse_next.take() {
        return match refusal {
            Refusal::TokenExpired => error(
                401,
                "AccessDeniedException",
                "TOKEN_EXPIRED",
                "Session expired",
            ),
            Refusal::UserCredentialsChanged => error(
                403,
                "AccessDeniedException",
                "USER_CREDENTIALS_CHANGED",
                "Password changed",
            ),
            Refusal::InsufficientPermissions => error(
                403,
                "AccessDeniedException",
                "INSUFFICIENT_PERMISSIONS",
                "Not allowed",
            ),
        };
    }
    let old = body["refreshToken"].as_str().unwrap_or_default().to_owned();
    let Some(bound_to) = state.refresh_tokens.remove(&old) else {
        state.counts.used_refresh_tokens += 1;
        return error(
            401,
            "AccessDeniedException",
            "TOKEN_EXPIRED",
            "Refresh token is invalid or was used",
        );
    };
    if bound_to != proof_key {
        state.counts.bad_proofs += 1;
        state.refresh_tokens.insert(old, bound_to);
        return error(
            400,
            "ValidationException",
            "INVALID_REQUEST",
            "DPoP key does not match the token",
        );
    }
    let new_refresh = next_id(state, "refresh-");
    state.refresh_tokens.insert(new_refresh.clone(), bound_to);
    tokens(state, &new_refresh)
}

/// The request's DPoP proof checked; the x of its key.
fn check_proof(
    request: &HttpRequest,
    state: &mut State,
    token_url: &str,
) -> Result<String, Answer> {
    let refused = |state: &mut State, why: &str| {
        state.counts.bad_proofs += 1;
        error(
            400,
            "ValidationException",
            "INVALID_REQUEST",
            &format!("invalid DPoP proof: {why}"),
        )
    };
    let Some(proof) = request.headers.get("dpop") else {
        return Err(refused(state, "missing"));
    };
    let parts: Vec<&str> = proof.split('.').collect();
    let [header_b64, payload_b64, signature_b64] = parts[..] else {
        return Err(refused(state, "not a JWT"));
    };
    let decode = |part: &str| -> Option<serde_json::Value> {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).ok()?).ok()
    };
    let (Some(header), Some(payload)) = (decode(header_b64), decode(payload_b64)) else {
        return Err(refused(state, "not JSON"));
    };
    if header["typ"] != "dpop+jwt" || header["alg"] != "ES256" || header["jwk"]["crv"] != "P-256" {
        return Err(refused(state, "not an ES256 dpop+jwt"));
    }
    let coordinate = |name: &str| {
        URL_SAFE_NO_PAD
            .decode(header["jwk"][name].as_str().unwrap_or(""))
            .ok()
    };
    let (Some(x), Some(y)) = (coordinate("x"), coordinate("y")) else {
        return Err(refused(state, "no key"));
    };
    let mut point = vec![4u8];
    point.extend(x);
    point.extend(y);
    let Ok(key) = VerifyingKey::from_sec1_bytes(&point) else {
        return Err(refused(state, "not a P-256 point"));
    };
    let signature = URL_SAFE_NO_PAD
        .decode(signature_b64)
        .ok()
        .and_then(|s| Signature::from_slice(&s).ok());
    let verified = signature.is_some_and(|signature| {
        key.verify(format!("{header_b64}.{payload_b64}").as_bytes(), &signature)
            .is_ok()
    });
    if !verified {
        return Err(refused(state, "signature"));
    }
    if payload["htm"] != "POST" || payload["htu"] != token_url {
        return Err(refused(state, "htm/htu"));
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    if payload["iat"]
        .as_u64()
        .is_none_or(|iat| iat.abs_diff(now) > 300)
    {
        return Err(refused(state, "iat"));
    }
    let jti = payload["jti"].as_str().unwrap_or_default().to_owned();
    if jti.is_empty() || !state.jtis.insert(jti) {
        state.counts.replays += 1;
        return Err(error(
            400,
            "ValidationException",
            "INVALID_REQUEST",
            "invalid DPoP proof: jti replayed",
        ));
    }
    Ok(header["jwk"]["x"].as_str().unwrap_or_default().to_owned())
}
