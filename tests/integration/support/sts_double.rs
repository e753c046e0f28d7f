//! A project-written STS double for the MFA logic moto does not check.
//!
//! It speaks STS's query protocol over HTTP/1.1 on 127.0.0.1, verifies SigV4 signatures
//! against the secrets it knows, checks MFA codes against each device's seed (±1 step, at
//! its own possibly skewed time), refuses wrong and reused codes with STS's real error
//! XML, counts calls, and injects throttling, 5xx answers, latency and a skewed `Date`.

#![allow(dead_code)]

use super::http::{HttpRequest, read_request, url_decode_pairs};
use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;
use hmac::{Hmac, Mac};
use mfad::mfa::totp::TotpSecret;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

pub const ACCOUNT: &str = "123456789012";
/// Named in AssumeRole denials (the double does not track which user a session is of).
const USER_FOR_DENIAL: &str = "alice";
const XMLNS: &str = "https://sts.amazonaws.com/doc/2011-06-15/";
pub const INVALID_CODE: &str =
    "MultiFactorAuthentication failed with invalid MFA one time pass code. ";
pub const INVALID_SERIAL: &str = "MultiFactorAuthentication failed, unable to validate MFA code. Please verify your MFA serial number is valid and associated with this user.";

/// A fault answered instead of the real thing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    Throttle,
    ServerError(u16),
    /// A refusal that is not the code's fault and does not pass (a policy, say).
    Denied,
}

/// What the double has seen.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    pub get_session_token: usize,
    pub sessions_issued: usize,
    pub wrong_codes: usize,
    /// Calls that presented a code already accepted for the serial.
    pub reused_codes: usize,
    pub assume_role: usize,
    /// Every AssumeRole: who signed it, with what arguments.
    pub role_calls: Vec<RoleCall>,
    pub get_caller_identity: usize,
    /// Every IAM action passed on to moto (or refused by an injected fault), in order.
    pub iam_calls: Vec<String>,
    /// EnableMFADevice / ResyncMFADevice calls refused for codes that were not two
    /// consecutive current ones.
    pub rejected_device_codes: usize,
    pub bad_signatures: usize,
    /// IAM actions signed with an MFA session, in order.
    pub iam_calls_with_mfa: Vec<String>,
    /// IAM actions refused because an enforced user made them without MFA.
    pub denied_without_mfa: Vec<String>,
    /// Calls refused because their key was too new (IAM's eventual consistency).
    pub not_yet_valid: usize,
    /// The long-term key ids that signed each GetSessionToken, in order.
    pub session_token_signers: Vec<String>,
    /// The TokenCode of every STS request that carried one, in order, faulted ones too.
    pub codes_presented: Vec<String>,
    /// The key ids that signed each GetCallerIdentity, in order.
    pub caller_identity_signers: Vec<String>,
    /// Every GetFederationToken: the federated user's name and the policy passed.
    pub federation_tokens: Vec<(String, Option<String>)>,
    /// Every sign-in token the federation endpoint gave out.
    pub signin_tokens: Vec<SigninGrant>,
}

/// A sign-in token given out by the double's federation endpoint (`/federation`), and
/// the session it signs in as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigninGrant {
    pub token: String,
    pub arn: String,
    pub mfa: bool,
}

impl Counts {
    /// How many times an IAM action was called.
    pub fn iam_calls_of(&self, action: &str) -> usize {
        self.iam_calls.iter().filter(|a| *a == action).count()
    }
}

/// One AssumeRole call as the double saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleCall {
    /// The access key id that signed it.
    pub signer: String,
    /// Whether the signer was temporary credentials the double issued.
    pub signed_with_session: bool,
    pub role_arn: String,
    pub session_name: String,
    pub external_id: Option<String>,
    pub duration: u64,
    pub source_identity: Option<String>,
    /// Tags.member.N.Key / .Value, in order.
    pub tags: Vec<(String, String)>,
    pub transitive_tag_keys: Vec<String>,
}

#[derive(Clone)]
struct User {
    name: String,
    secret: String,
    /// serial -> seed of each enabled virtual MFA device
    devices: BTreeMap<String, TotpSecret>,
}

struct IssuedSession {
    secret: String,
    token: String,
    /// The IAM user it was issued to (GetSessionToken) or the role session ARN.
    arn: String,
    expiration: SystemTime,
    /// Issued with an MFA code (or assumed with such a session).
    mfa: bool,
}

#[derive(Default)]
struct State {
    /// long-term access key id -> user
    users: HashMap<String, User>,
    /// temporary access key id -> session
    issued: HashMap<String, IssuedSession>,
    /// serial -> codes accepted
    accepted_codes: HashMap<String, HashSet<String>>,
    counts: Counts,
    fault: Option<Fault>,
    /// Answered one per STS request, before `fault`.
    queued_faults: std::collections::VecDeque<Fault>,
    latency: Duration,
    skew_secs: i64,
    /// Overrides the lifetime of sessions it issues (else DurationSeconds or 12 h).
    session_lifetime: Option<Duration>,
    next_id: u64,
    /// The DurationSeconds of the last GetSessionToken.
    last_duration: Option<u64>,
    /// Roles whose trust policy does not let the caller assume them.
    denied_roles: HashSet<String>,
    /// Where IAM actions go on to (moto server), after the double's own checks.
    iam_upstream: Option<String>,
    /// serial -> seed of each virtual MFA device created through the double
    created_seeds: HashMap<String, TotpSecret>,
    /// IAM action -> the error answered instead of passing it on
    iam_faults: HashMap<String, (u16, String)>,
    /// Users on whom an enforce-MFA policy acts: IAM actions beyond self-service need
    /// an MFA session.
    enforced: HashSet<String>,
    /// How many calls a key created through the double fails before IAM's eventual
    /// consistency lets it through.
    new_key_delay: u32,
    /// access key id -> calls it still fails
    fresh_keys: HashMap<String, u32>,
}

/// A handle through which credentials issued elsewhere (Identity Center's role
/// credentials, minted by the SSO double) become ones this STS accepts.
#[derive(Clone)]
pub struct Accepted(Arc<Mutex<State>>);

impl Accepted {
    pub fn accept(&self, key: &str, secret: &str, token: &str, arn: &str, expiration: SystemTime) {
        self.0.lock().unwrap().issued.insert(
            key.to_owned(),
            IssuedSession {
                secret: secret.to_owned(),
                token: token.to_owned(),
                arn: arn.to_owned(),
                expiration,
                mfa: false,
            },
        );
    }
}

pub struct StsDouble {
    pub url: String,
    state: Arc<Mutex<State>>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl Drop for StsDouble {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

impl StsDouble {
    pub fn start() -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let state = Arc::new(Mutex::new(State::default()));
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

    /// Register an IAM user with a long-term key and a virtual MFA device.
    pub fn add_user(
        &self,
        name: &str,
        access_key_id: &str,
        secret: &str,
        serial: &str,
        totp_uri: &str,
    ) {
        let user = User {
            name: name.into(),
            secret: secret.into(),
            devices: BTreeMap::from([(
                serial.to_owned(),
                TotpSecret::parse(totp_uri).expect("a valid TOTP URI"),
            )]),
        };
        self.state
            .lock()
            .unwrap()
            .users
            .insert(access_key_id.into(), user);
    }

    /// Register an IAM user with a long-term key and no MFA device yet.
    pub fn add_user_without_device(&self, name: &str, access_key_id: &str, secret: &str) {
        let user = User {
            name: name.into(),
            secret: secret.into(),
            devices: BTreeMap::new(),
        };
        self.state
            .lock()
            .unwrap()
            .users
            .insert(access_key_id.into(), user);
    }

    /// Pass IAM actions on to moto server at `url` after checking their signature, and
    /// the codes of EnableMFADevice and ResyncMFADevice, which moto does not check.
    pub fn forward_iam_to(&self, url: &str) {
        let authority = url.trim_start_matches("http://").trim_end_matches('/');
        self.state.lock().unwrap().iam_upstream = Some(authority.to_owned());
    }

    /// Answer an IAM action with an error instead of passing it on.
    pub fn fail_iam(&self, action: &str, status: u16, code: &str, message: &str) {
        self.state.lock().unwrap().iam_faults.insert(
            action.to_owned(),
            (status, error_xml("Sender", code, message)),
        );
    }

    /// Act as if an enforce-MFA policy applied to `user`.
    pub fn enforce_mfa_for(&self, user: &str) {
        self.state.lock().unwrap().enforced.insert(user.to_owned());
    }

    /// Keys created from now on fail their first `calls` calls, as new IAM keys do
    /// for a few seconds.
    pub fn delay_new_keys(&self, calls: u32) {
        self.state.lock().unwrap().new_key_delay = calls;
    }

    /// The secret of a long-term key the double knows.
    pub fn secret_of(&self, access_key_id: &str) -> Option<String> {
        let state = self.state.lock().unwrap();
        state.users.get(access_key_id).map(|u| u.secret.clone())
    }

    /// Whether the double (like IAM) still accepts this long-term key.
    pub fn knows_key(&self, access_key_id: &str) -> bool {
        self.state.lock().unwrap().users.contains_key(access_key_id)
    }

    pub fn clear_iam_faults(&self) {
        self.state.lock().unwrap().iam_faults.clear();
    }

    /// The serials of the MFA devices the double knows as enabled for `user`.
    pub fn devices_of(&self, user: &str) -> Vec<String> {
        let state = self.state.lock().unwrap();
        state
            .users
            .values()
            .filter(|u| u.name == user)
            .flat_map(|u| u.devices.keys().cloned())
            .collect()
    }

    /// The code a device created through the double shows at `unix_secs`.
    pub fn device_code_at(&self, serial: &str, unix_secs: u64) -> String {
        self.state.lock().unwrap().created_seeds[serial].code_at(unix_secs)
    }

    /// Every code the double accepted, of every device.
    pub fn accepted_codes(&self) -> Vec<String> {
        let state = self.state.lock().unwrap();
        state.accepted_codes.values().flatten().cloned().collect()
    }

    pub fn counts(&self) -> Counts {
        self.state.lock().unwrap().counts.clone()
    }

    /// What lets credentials issued elsewhere sign requests to this STS.
    pub fn accepted(&self) -> Accepted {
        Accepted(self.state.clone())
    }

    pub fn set_fault(&self, fault: Option<Fault>) {
        self.state.lock().unwrap().fault = fault;
    }

    /// Answer the next STS requests with these faults, one each, in order.
    pub fn queue_faults(&self, faults: &[Fault]) {
        self.state.lock().unwrap().queued_faults.extend(faults);
    }

    pub fn set_latency(&self, latency: Duration) {
        self.state.lock().unwrap().latency = latency;
    }

    /// Make the double's clock (its `Date` and its code checks) run ahead by `secs`.
    pub fn set_clock_skew(&self, secs: i64) {
        self.state.lock().unwrap().skew_secs = secs;
    }

    pub fn set_session_lifetime(&self, lifetime: Option<Duration>) {
        self.state.lock().unwrap().session_lifetime = lifetime;
    }

    /// Refuse AssumeRole of this role, as a trust policy that does not name the user.
    pub fn deny_role(&self, role_arn: &str) {
        self.state
            .lock()
            .unwrap()
            .denied_roles
            .insert(role_arn.to_owned());
    }

    pub fn last_duration(&self) -> Option<u64> {
        self.state.lock().unwrap().last_duration
    }

    /// The code a device shows now, by the double's clock.
    pub fn code_now(&self, access_key_id: &str) -> String {
        let state = self.state.lock().unwrap();
        let user = &state.users[access_key_id];
        let totp = user.devices.values().next().expect("a device");
        totp.code_at(now_secs(state.skew_secs))
    }

    /// Whether an access key id was issued by this double and is still valid.
    pub fn is_live_session(&self, access_key_id: &str) -> bool {
        let state = self.state.lock().unwrap();
        state
            .issued
            .get(access_key_id)
            .is_some_and(|s| s.expiration > SystemTime::now())
    }
}

fn now_secs(skew: i64) -> u64 {
    let local = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    (local + skew) as u64
}

async fn serve_connection(stream: TcpStream, state: Arc<Mutex<State>>) {
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    loop {
        let Some(request) = read_request(&mut reader).await else {
            return;
        };
        let (latency, skew) = {
            let state = state.lock().unwrap();
            (state.latency, state.skew_secs)
        };
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
        let action = form(&request.body)
            .get("Action")
            .cloned()
            .unwrap_or_default();
        let upstream = state.lock().unwrap().iam_upstream.clone();
        let (status, body) = match upstream {
            _ if request.method == "GET" && request.path.starts_with("/federation?") => {
                federation(&request, &state)
            }
            Some(upstream) if !STS_ACTIONS.contains(&action.as_str()) => {
                iam_gate(&request, &action, &state, &upstream).await
            }
            _ => handle(&request, &state),
        };
        let date = DateTime::from_secs(now_secs(skew) as i64)
            .fmt(Format::HttpDate)
            .unwrap();
        let head = format!(
            "HTTP/1.1 {status} {}\r\ncontent-type: text/xml\r\ncontent-length: {}\r\ndate: {date}\r\nx-amzn-requestid: c6104cbe-af31-11e0-8154-cbc7ccf896c7\r\n\r\n",
            reason(status),
            body.len()
        );
        if write.write_all(head.as_bytes()).await.is_err()
            || write.write_all(body.as_bytes()).await.is_err()
        {
            return;
        }
        if request
            .headers
            .get("connection")
            .is_some_and(|c| c.eq_ignore_ascii_case("close"))
        {
            return;
        }
    }
}

const STS_ACTIONS: [&str; 4] = [
    "GetSessionToken",
    "AssumeRole",
    "GetCallerIdentity",
    "GetFederationToken",
];

/// What an enforce-MFA policy lets a user do without MFA (mfad's policy document).
const SELF_SERVICE: [&str; 10] = [
    "ChangePassword",
    "CreateVirtualMFADevice",
    "DeleteVirtualMFADevice",
    "EnableMFADevice",
    "GetAccountPasswordPolicy",
    "GetMFADevice",
    "GetUser",
    "ListMFADevices",
    "ListVirtualMFADevices",
    "ResyncMFADevice",
];

/// An IAM action: the signature checked, the codes of EnableMFADevice and
/// ResyncMFADevice checked against the device's seed (two consecutive codes, the second
/// within a step of now), what an enforce-MFA policy denies refused, then passed on to
/// moto (ResyncMFADevice, which moto lacks, answered here); what moto answered is
/// remembered.
async fn iam_gate(
    request: &HttpRequest,
    action: &str,
    state: &Arc<Mutex<State>>,
    upstream: &str,
) -> (u16, String) {
    let params = form(&request.body);
    {
        let mut state = state.lock().unwrap();
        let signer = match verify_signature(request, &state) {
            Ok(signer) => signer,
            Err(response) => {
                state.counts.bad_signatures += 1;
                return response;
            }
        };
        state.counts.iam_calls.push(action.to_owned());
        if let Some(fault) = state.iam_faults.get(action) {
            return fault.clone();
        }
        let (user, with_mfa) = match &signer {
            Signer::User(key) => (state.users[key].name.clone(), false),
            Signer::Session(key) => {
                let session = &state.issued[key];
                let user = session.arn.rsplit_once(":user/").map(|(_, u)| u.to_owned());
                (user.unwrap_or_default(), session.mfa)
            }
        };
        if with_mfa {
            state.counts.iam_calls_with_mfa.push(action.to_owned());
        } else if state.enforced.contains(&user) && !SELF_SERVICE.contains(&action) {
            state.counts.denied_without_mfa.push(action.to_owned());
            return access_denied(&format!(
                "User: arn:aws:iam::{ACCOUNT}:user/{user} is not authorized to perform: iam:{action} with an explicit deny in an identity-based policy"
            ));
        }
        if matches!(action, "EnableMFADevice" | "ResyncMFADevice") {
            let serial = params.get("SerialNumber").cloned().unwrap_or_default();
            let codes = [
                params
                    .get("AuthenticationCode1")
                    .cloned()
                    .unwrap_or_default(),
                params
                    .get("AuthenticationCode2")
                    .cloned()
                    .unwrap_or_default(),
            ];
            let now = now_secs(state.skew_secs);
            let valid = state.created_seeds.get(&serial).is_some_and(|totp| {
                let period = totp.period();
                [now.saturating_sub(period), now, now + period]
                    .iter()
                    .any(|t| {
                        totp.code_at(*t) == codes[1]
                            && totp.code_at(t.saturating_sub(period)) == codes[0]
                    })
            });
            if !valid {
                state.counts.rejected_device_codes += 1;
                return (
                    403,
                    error_xml(
                        "Sender",
                        "InvalidAuthenticationCode",
                        "Authentication code for device is not valid.",
                    ),
                );
            }
            // moto has no ResyncMFADevice (it answers 500): the double answers it for
            // a device it knows enabled for the user.
            if action == "ResyncMFADevice" {
                let user = params.get("UserName").cloned().unwrap_or_default();
                let enabled = state
                    .users
                    .values()
                    .any(|u| u.name == user && u.devices.contains_key(&serial));
                return match enabled {
                    true => (
                        200,
                        "<ResyncMFADeviceResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\">\n  <ResponseMetadata>\n    <RequestId>7a62c49f-347e-4fc4-9331-6e8eEXAMPLE</RequestId>\n  </ResponseMetadata>\n</ResyncMFADeviceResponse>\n".to_owned(),
                    ),
                    false => (
                        404,
                        error_xml("Sender", "NoSuchEntity", &format!("MFA device {serial} is not enabled for {user}")),
                    ),
                };
            }
        }
    }
    let (status, body) = forward(upstream, request).await;
    if status == 200 {
        remember(&mut state.lock().unwrap(), action, &params, &body);
    }
    (status, body)
}

/// Track what moto did to MFA devices, so that GetSessionToken knows them.
fn remember(state: &mut State, action: &str, params: &HashMap<String, String>, body: &str) {
    let serial = params.get("SerialNumber").cloned().unwrap_or_default();
    let user = params.get("UserName").cloned().unwrap_or_default();
    match action {
        "CreateVirtualMFADevice" => {
            let serial = xml_field(body, "SerialNumber");
            let seed = aws_smithy_types::base64::decode(xml_field(body, "Base32StringSeed"))
                .expect("moto sends the seed in base64");
            let seed = TotpSecret::parse(&String::from_utf8(seed).unwrap()).unwrap();
            state.created_seeds.insert(serial, seed);
        }
        "EnableMFADevice" => {
            let seed = state.created_seeds[&serial].clone();
            for known in state.users.values_mut().filter(|u| u.name == user) {
                known.devices.insert(serial.clone(), seed.clone());
            }
        }
        "DeactivateMFADevice" => {
            for known in state.users.values_mut() {
                known.devices.remove(&serial);
            }
        }
        "CreateAccessKey" => {
            let id = xml_field(body, "AccessKeyId");
            let mut known = state
                .users
                .values()
                .find(|u| u.name == user)
                .cloned()
                .unwrap_or_else(|| User {
                    name: user.clone(),
                    secret: String::new(),
                    devices: BTreeMap::new(),
                });
            known.secret = xml_field(body, "SecretAccessKey");
            state.fresh_keys.insert(id.clone(), state.new_key_delay);
            state.users.insert(id, known);
        }
        "DeleteAccessKey" => {
            if let Some(id) = params.get("AccessKeyId") {
                state.users.remove(id);
            }
        }
        _ => {}
    }
}

fn xml_field(xml: &str, name: &str) -> String {
    let open = format!("<{name}>");
    xml.split_once(&open)
        .and_then(|(_, rest)| rest.split_once(&format!("</{name}>")))
        .map(|(value, _)| value.to_owned())
        .unwrap_or_default()
}

/// Send the request on to moto as it came (moto does not check signatures) and return
/// its status and body.
async fn forward(upstream: &str, request: &HttpRequest) -> (u16, String) {
    let mut stream = TcpStream::connect(upstream).await.expect("moto listens");
    let mut head = format!(
        "POST {} HTTP/1.1\r\nhost: {upstream}\r\nconnection: close\r\n",
        request.path
    );
    for (name, value) in &request.headers {
        if !matches!(name.as_str(), "host" | "connection" | "content-length") {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
    }
    head.push_str(&format!("content-length: {}\r\n\r\n", request.body.len()));
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&request.body).await.unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.unwrap();
    let answer = String::from_utf8_lossy(&answer);
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(502);
    (status, body.to_owned())
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        403 => "Forbidden",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Error",
    }
}

fn form(body: &[u8]) -> HashMap<String, String> {
    url_decode_pairs(&String::from_utf8_lossy(body))
}

fn error_xml(kind: &str, code: &str, message: &str) -> String {
    format!(
        "<ErrorResponse xmlns=\"{XMLNS}\">\n  <Error>\n    <Type>{kind}</Type>\n    <Code>{code}</Code>\n    <Message>{message}</Message>\n  </Error>\n  <RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId>\n</ErrorResponse>\n"
    )
}

fn access_denied(message: &str) -> (u16, String) {
    (403, error_xml("Sender", "AccessDenied", message))
}

/// Who signed a request: a long-term key or a temporary one.
enum Signer {
    User(String),
    Session(String),
}

fn handle(request: &HttpRequest, state: &Arc<Mutex<State>>) -> (u16, String) {
    let mut state = state.lock().unwrap();
    if request.method != "POST" {
        return (
            400,
            error_xml("Sender", "InvalidAction", "only POST is served"),
        );
    }
    // What a client sends to a proxy, not to a server: a sign that a client took a
    // CONNECT tunnel for a forwarding proxy.
    if !request.path.starts_with('/') {
        return (
            400,
            error_xml(
                "Sender",
                "InvalidRequest",
                "the double takes origin-form request targets only",
            ),
        );
    }
    let params = form(&request.body);
    if let Some(code) = params.get("TokenCode") {
        state.counts.codes_presented.push(code.clone());
    }
    let fault = state.queued_faults.pop_front().or(state.fault);
    match fault {
        Some(Fault::Throttle) => return (400, error_xml("Sender", "Throttling", "Rate exceeded")),
        Some(Fault::Denied) => {
            return (
                403,
                error_xml(
                    "Sender",
                    "AccessDenied",
                    "User is not authorized to perform this action with an explicit deny",
                ),
            );
        }
        Some(Fault::ServerError(status)) => {
            return (
                status,
                error_xml(
                    "Receiver",
                    "ServiceUnavailable",
                    "Service is unavailable. Please try again later.",
                ),
            );
        }
        None => {}
    }
    let signer = match verify_signature(request, &state) {
        Ok(signer) => signer,
        Err(response) => {
            state.counts.bad_signatures += 1;
            return response;
        }
    };
    if let Signer::User(key) = &signer
        && let Some(left) = state.fresh_keys.get_mut(key)
        && *left > 0
    {
        *left -= 1;
        state.counts.not_yet_valid += 1;
        return (
            403,
            error_xml(
                "Sender",
                "InvalidClientTokenId",
                "The security token included in the request is invalid.",
            ),
        );
    }
    let action = params.get("Action").map(String::as_str).unwrap_or("");
    match action {
        "GetSessionToken" => get_session_token(&mut state, &signer, &params),
        "AssumeRole" => assume_role(&mut state, &signer, &params),
        "GetCallerIdentity" => get_caller_identity(&mut state, &signer),
        "GetFederationToken" => get_federation_token(&mut state, &signer, &params),
        other => (
            400,
            error_xml(
                "Sender",
                "InvalidAction",
                &format!("Could not find operation {other}"),
            ),
        ),
    }
}

fn next_id(state: &mut State, prefix: &str) -> String {
    state.next_id += 1;
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("{prefix}{:08}{:08X}", state.next_id, nanos)
}

fn issue(state: &mut State, arn: String, lifetime: Duration, mfa: bool) -> (String, IssuedSession) {
    let key = next_id(state, "ASIADOUBLE");
    let session = IssuedSession {
        secret: format!("secret-{}", next_id(state, "")),
        token: format!("token-{}", next_id(state, "")),
        arn,
        // STS's own clock, which a skew moves.
        expiration: UNIX_EPOCH
            + Duration::from_secs(now_secs(state.skew_secs))
            + state.session_lifetime.unwrap_or(lifetime),
        mfa,
    };
    (key, session)
}

fn credentials_xml(key: &str, session: &IssuedSession) -> String {
    let expiration = DateTime::from(session.expiration)
        .fmt(Format::DateTime)
        .unwrap();
    format!(
        "<Credentials>\n      <AccessKeyId>{key}</AccessKeyId>\n      <SecretAccessKey>{}</SecretAccessKey>\n      <SessionToken>{}</SessionToken>\n      <Expiration>{expiration}</Expiration>\n    </Credentials>",
        session.secret, session.token
    )
}

fn get_session_token(
    state: &mut State,
    signer: &Signer,
    params: &HashMap<String, String>,
) -> (u16, String) {
    state.counts.get_session_token += 1;
    let Signer::User(key_id) = signer else {
        return access_denied("Cannot call GetSessionToken with session credentials");
    };
    state.counts.session_token_signers.push(key_id.clone());
    let user = state.users[key_id].clone();
    let duration: u64 = params
        .get("DurationSeconds")
        .and_then(|d| d.parse().ok())
        .unwrap_or(43_200);
    state.last_duration = Some(duration);
    if !(900..=129_600).contains(&duration) {
        return (
            400,
            error_xml(
                "Sender",
                "ValidationError",
                "1 validation error detected: Value at 'durationSeconds' failed to satisfy constraint",
            ),
        );
    }
    if let Some(serial) = params.get("SerialNumber") {
        let Some(totp) = user.devices.get(serial) else {
            return access_denied(INVALID_SERIAL);
        };
        let code = params.get("TokenCode").cloned().unwrap_or_default();
        let accepted = state.accepted_codes.entry(serial.clone()).or_default();
        if accepted.contains(&code) {
            state.counts.reused_codes += 1;
            return access_denied(INVALID_CODE);
        }
        let now = now_secs(state.skew_secs);
        let period = totp.period();
        let valid = [now.saturating_sub(period), now, now + period]
            .iter()
            .any(|t| totp.code_at(*t) == code);
        if !valid {
            state.counts.wrong_codes += 1;
            return access_denied(INVALID_CODE);
        }
        state.accepted_codes.get_mut(serial).unwrap().insert(code);
    }
    let arn = format!("arn:aws:iam::{ACCOUNT}:user/{}", user.name);
    let with_mfa = params.contains_key("SerialNumber");
    let (key, session) = issue(state, arn, Duration::from_secs(duration), with_mfa);
    let xml = format!(
        "<GetSessionTokenResponse xmlns=\"{XMLNS}\">\n  <GetSessionTokenResult>\n    {}\n  </GetSessionTokenResult>\n  <ResponseMetadata>\n    <RequestId>58c5dbae-abef-11e0-8cfe-09039844ac7d</RequestId>\n  </ResponseMetadata>\n</GetSessionTokenResponse>\n",
        credentials_xml(&key, &session)
    );
    state.issued.insert(key, session);
    state.counts.sessions_issued += 1;
    (200, xml)
}

fn assume_role(
    state: &mut State,
    signer: &Signer,
    params: &HashMap<String, String>,
) -> (u16, String) {
    state.counts.assume_role += 1;
    let from_session_token = matches!(signer, Signer::Session(_));
    let with_mfa = match signer {
        Signer::Session(key) => state.issued[key].mfa,
        Signer::User(_) => false,
    };
    let role_arn = params.get("RoleArn").cloned().unwrap_or_default();
    let session_name = params.get("RoleSessionName").cloned().unwrap_or_default();
    let duration: u64 = params
        .get("DurationSeconds")
        .and_then(|d| d.parse().ok())
        .unwrap_or(3600);
    let (Signer::User(signer) | Signer::Session(signer)) = signer;
    state.counts.role_calls.push(RoleCall {
        signer: signer.clone(),
        signed_with_session: from_session_token,
        role_arn: role_arn.clone(),
        session_name: session_name.clone(),
        external_id: params.get("ExternalId").cloned(),
        duration,
        source_identity: params.get("SourceIdentity").cloned(),
        tags: (1..)
            .map_while(|n| {
                let key = params.get(&format!("Tags.member.{n}.Key"))?;
                let value = params.get(&format!("Tags.member.{n}.Value"))?;
                Some((key.clone(), value.clone()))
            })
            .collect(),
        transitive_tag_keys: (1..)
            .map_while(|n| {
                params
                    .get(&format!("TransitiveTagKeys.member.{n}"))
                    .cloned()
            })
            .collect(),
    });
    if from_session_token && duration > 3600 {
        return (
            400,
            error_xml(
                "Sender",
                "ValidationError",
                "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.",
            ),
        );
    }
    if state.denied_roles.contains(&role_arn) {
        let caller = format!("arn:aws:iam::{ACCOUNT}:user/{USER_FOR_DENIAL}");
        return access_denied(&format!(
            "User: {caller} is not authorized to perform: sts:AssumeRole on resource: {role_arn}"
        ));
    }
    let role_name = role_arn.rsplit('/').next().unwrap_or("role").to_owned();
    let arn = format!("arn:aws:sts::{ACCOUNT}:assumed-role/{role_name}/{session_name}");
    let (key, session) = issue(state, arn.clone(), Duration::from_secs(duration), with_mfa);
    let xml = format!(
        "<AssumeRoleResponse xmlns=\"{XMLNS}\">\n  <AssumeRoleResult>\n    <AssumedRoleUser>\n      <Arn>{arn}</Arn>\n      <AssumedRoleId>AROADOUBLE:{session_name}</AssumedRoleId>\n    </AssumedRoleUser>\n    {}\n  </AssumeRoleResult>\n  <ResponseMetadata>\n    <RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId>\n  </ResponseMetadata>\n</AssumeRoleResponse>\n",
        credentials_xml(&key, &session)
    );
    state.issued.insert(key, session);
    (200, xml)
}

/// Only an IAM user's long-term key may ask; the session is the federated user's, without MFA.
fn get_federation_token(
    state: &mut State,
    signer: &Signer,
    params: &HashMap<String, String>,
) -> (u16, String) {
    let Signer::User(_) = signer else {
        return access_denied("Cannot call GetFederationToken with session credentials");
    };
    let name = params.get("Name").cloned().unwrap_or_default();
    state
        .counts
        .federation_tokens
        .push((name.clone(), params.get("Policy").cloned()));
    let arn = format!("arn:aws:sts::{ACCOUNT}:federated-user/{name}");
    let (key, session) = issue(state, arn, Duration::from_secs(12 * 3600), false);
    let xml = format!(
        "<GetFederationTokenResponse xmlns=\"{XMLNS}\">\n  <GetFederationTokenResult>\n    {}\n    <FederatedUser>\n      <Arn>arn:aws:sts::{ACCOUNT}:federated-user/{name}</Arn>\n      <FederatedUserId>{ACCOUNT}:{name}</FederatedUserId>\n    </FederatedUser>\n  </GetFederationTokenResult>\n  <ResponseMetadata>\n    <RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId>\n  </ResponseMetadata>\n</GetFederationTokenResponse>\n",
        credentials_xml(&key, &session)
    );
    state.issued.insert(key, session);
    (200, xml)
}

/// The console's federation endpoint: `getSigninToken` for a session the double issued
/// and that has not ended, as JSON; anything else 400.
fn federation(request: &HttpRequest, state: &Arc<Mutex<State>>) -> (u16, String) {
    let mut state = state.lock().unwrap();
    let query = request.path.split_once('?').map_or("", |(_, q)| q);
    let params = url_decode_pairs(query);
    if params.get("Action").map(String::as_str) != Some("getSigninToken") {
        return (400, "{\"message\":\"unknown action\"}".into());
    }
    let session: serde_json::Value = params
        .get("Session")
        .and_then(|s| serde_json::from_str(s).ok())
        .unwrap_or_default();
    let field = |name: &str| session[name].as_str().unwrap_or_default().to_owned();
    let now = UNIX_EPOCH + Duration::from_secs(now_secs(state.skew_secs));
    let grant = match state.issued.get(&field("sessionId")) {
        Some(issued)
            if issued.secret == field("sessionKey")
                && issued.token == field("sessionToken")
                && issued.expiration > now =>
        {
            (issued.arn.clone(), issued.mfa)
        }
        _ => return (400, "{\"message\":\"invalid session\"}".into()),
    };
    let token = format!("signin-{}", next_id(&mut state, ""));
    state.counts.signin_tokens.push(SigninGrant {
        token: token.clone(),
        arn: grant.0,
        mfa: grant.1,
    });
    (200, format!("{{\"SigninToken\":\"{token}\"}}"))
}

fn get_caller_identity(state: &mut State, signer: &Signer) -> (u16, String) {
    state.counts.get_caller_identity += 1;
    let arn = match signer {
        Signer::User(key) => format!("arn:aws:iam::{ACCOUNT}:user/{}", state.users[key].name),
        Signer::Session(key) => state.issued[key].arn.clone(),
    };
    let (Signer::User(key) | Signer::Session(key)) = signer;
    state.counts.caller_identity_signers.push(key.clone());
    let xml = format!(
        "<GetCallerIdentityResponse xmlns=\"{XMLNS}\">\n  <GetCallerIdentityResult>\n    <Arn>{arn}</Arn>\n    <UserId>AIDADOUBLE</UserId>\n    <Account>{ACCOUNT}</Account>\n  </GetCallerIdentityResult>\n  <ResponseMetadata>\n    <RequestId>01234567-89ab-cdef-0123-456789abcdef</RequestId>\n  </ResponseMetadata>\n</GetCallerIdentityResponse>\n"
    );
    (200, xml)
}

type HmacSha256 = Hmac<Sha256>;

fn hmac(key: &[u8], data: &str) -> Vec<u8> {
    let mut mac = HmacSha256::new_from_slice(key).unwrap();
    mac.update(data.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

/// Check the SigV4 `Authorization` header against the secret of the key it names.
fn verify_signature(request: &HttpRequest, state: &State) -> Result<Signer, (u16, String)> {
    let missing = || {
        (
            403,
            error_xml(
                "Sender",
                "MissingAuthenticationToken",
                "Request is missing Authentication Token",
            ),
        )
    };
    let auth = request.headers.get("authorization").ok_or_else(missing)?;
    let fields: HashMap<&str, &str> = auth
        .trim_start_matches("AWS4-HMAC-SHA256")
        .split(',')
        .filter_map(|f| f.trim().split_once('='))
        .collect();
    let credential = fields.get("Credential").ok_or_else(missing)?;
    let signed_headers = fields.get("SignedHeaders").ok_or_else(missing)?;
    let signature = fields.get("Signature").ok_or_else(missing)?;
    let mut scope_parts = credential.splitn(2, '/');
    let key_id = scope_parts.next().unwrap_or_default();
    let scope = scope_parts.next().unwrap_or_default();
    let (secret, signer) = if let Some(user) = state.users.get(key_id) {
        (user.secret.clone(), Signer::User(key_id.to_owned()))
    } else if let Some(session) = state.issued.get(key_id) {
        let token = request.headers.get("x-amz-security-token");
        if token != Some(&session.token) {
            return Err((
                403,
                error_xml(
                    "Sender",
                    "InvalidClientTokenId",
                    "The security token included in the request is invalid.",
                ),
            ));
        }
        if session.expiration < SystemTime::now() {
            return Err((
                403,
                error_xml(
                    "Sender",
                    "ExpiredToken",
                    "The security token included in the request is expired",
                ),
            ));
        }
        (session.secret.clone(), Signer::Session(key_id.to_owned()))
    } else {
        return Err((
            403,
            error_xml(
                "Sender",
                "InvalidClientTokenId",
                "The security token included in the request is invalid.",
            ),
        ));
    };
    let canonical_headers: String = signed_headers
        .split(';')
        .map(|name| {
            let value = request.headers.get(name).map(String::as_str).unwrap_or("");
            format!(
                "{name}:{}\n",
                value.split_whitespace().collect::<Vec<_>>().join(" ")
            )
        })
        .collect();
    let payload_hash = request
        .headers
        .get("x-amz-content-sha256")
        .cloned()
        .unwrap_or_else(|| hex::encode(Sha256::digest(&request.body)));
    let (path, query) = request.path.split_once('?').unwrap_or((&request.path, ""));
    let mut query_pairs: Vec<&str> = query.split('&').filter(|p| !p.is_empty()).collect();
    query_pairs.sort();
    let canonical_request = format!(
        "{}\n{path}\n{}\n{canonical_headers}\n{signed_headers}\n{payload_hash}",
        request.method,
        query_pairs.join("&")
    );
    let amz_date = request
        .headers
        .get("x-amz-date")
        .cloned()
        .unwrap_or_default();
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        hex::encode(Sha256::digest(canonical_request.as_bytes()))
    );
    let mut scope_fields = scope.split('/');
    let (date, region, service) = (
        scope_fields.next().unwrap_or_default(),
        scope_fields.next().unwrap_or_default(),
        scope_fields.next().unwrap_or_default(),
    );
    let k_date = hmac(format!("AWS4{secret}").as_bytes(), date);
    let k_region = hmac(&k_date, region);
    let k_service = hmac(&k_region, service);
    let k_signing = hmac(&k_service, "aws4_request");
    let expected = hex::encode(hmac(&k_signing, &string_to_sign));
    if expected != *signature {
        return Err((
            403,
            error_xml(
                "Sender",
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.",
            ),
        ));
    }
    Ok(signer)
}
