//! The only place that calls AWS IAM (through aws-sdk-iam): the MFA devices of the user
//! behind a profile. The commands in `commands::mfa` decide what to call and in what order;
//! this module makes each call and says in words what a refusal means.
//!
//! Calls that carry MFA codes (enable) run with the SDK's retries off: a retried
//! request would present the same codes again.

use crate::config::StsEndpoint;
use crate::network::{Network, NetworkError};
use crate::store::LongTermKey;
use aws_sdk_iam::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_iam::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_types::retry::RetryConfig;
use aws_smithy_types::timeout::TimeoutConfig;
use secrecy::{ExposeSecret, SecretString};
use std::time::Duration;

/// How long one IAM call may take, connection included.
const CALL_TIMEOUT: Duration = Duration::from_secs(20);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, thiserror::Error)]
pub enum IamError {
    #[error("IAM refused {action}: {message}")]
    Denied {
        action: &'static str,
        message: String,
    },
    #[error("AWS did not accept the two codes for {serial}")]
    CodesRejected { serial: String },
    #[error("the user already has as many MFA devices as AWS allows ({message})")]
    DeviceLimit { message: String },
    #[error("an MFA device named {name} already exists in the account")]
    NameTaken { name: String },
    #[error("the key of this profile belongs to {arn}, not to an IAM user")]
    NotAUser { arn: String },
    #[error("IAM is throttling requests ({message})")]
    Throttled { message: String },
    #[error("IAM answered {code} to {action}: {message}")]
    Refused {
        action: &'static str,
        code: String,
        message: String,
    },
    #[error("could not reach IAM at {endpoint} ({reason})")]
    Unreachable { endpoint: String, reason: String },
    #[error(transparent)]
    Network(#[from] NetworkError),
}

impl IamError {
    pub fn remedy(&self) -> String {
        match self {
            Self::Denied { action, .. } => format!(
                "the user needs iam:{action} on its own MFA devices (an enforce-MFA policy allows this self-service action without MFA)"
            ),
            Self::CodesRejected { .. } => {
                "the codes must be two consecutive ones, the second the current: wait for a new code and type it and the one after it".into()
            }
            Self::DeviceLimit { .. } => {
                "remove one first, in the console or with `aws iam deactivate-mfa-device` and `aws iam delete-virtual-mfa-device` (AWS allows 8 per user)".into()
            }
            Self::NameTaken { .. } => "choose another name with --device-name".into(),
            Self::NotAUser { .. } => {
                "MFA devices belong to IAM users: use a profile whose key is an IAM user's (the root user's MFA is set up in the console)".into()
            }
            Self::Throttled { .. } => "wait a minute and run the command again".into(),
            Self::Refused { .. } => "check the profile's key and the IAM policy of the user".into(),
            Self::Unreachable { .. } => {
                "check the network, proxy and endpoint_url / AWS_ENDPOINT_URL_IAM".into()
            }
            Self::Network(error) => error.remedy(),
        }
    }
}

/// An MFA device of a user, as IAM lists it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Device {
    pub serial: String,
    /// When it was enabled, RFC 3339.
    pub enabled: String,
}

impl Device {
    /// Security keys (FIDO) work in the console only, never for API sessions.
    pub fn is_security_key(&self) -> bool {
        self.serial.contains(":u2f/")
    }
}

/// A virtual device just created: its serial and its seed (base32).
pub struct NewDevice {
    pub serial: String,
    pub seed: SecretString,
}

/// The IAM user behind a long-term key.
#[derive(Debug, Clone)]
pub struct User {
    pub name: String,
    pub arn: String,
}

impl User {
    /// The account id, from the ARN.
    pub fn account(&self) -> &str {
        self.arn.split(':').nth(4).unwrap_or("")
    }
}

/// IAM for one key, at one endpoint.
pub struct Iam {
    client: aws_sdk_iam::Client,
    endpoint: String,
    network: Network,
}

impl Iam {
    pub async fn new(
        endpoint: &StsEndpoint,
        network: &Network,
        key: &LongTermKey,
    ) -> Result<Self, IamError> {
        let credentials = Credentials::new(
            key.access_key_id.clone(),
            key.secret_access_key.expose_secret().to_owned(),
            None,
            None,
            "mfad-long-term-key",
        );
        let mut config = aws_sdk_iam::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(endpoint.region.clone()))
            .http_client(network.http_client_offloaded().await?)
            .credentials_provider(credentials)
            .retry_config(RetryConfig::disabled())
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(CONNECT_TIMEOUT)
                    .operation_timeout(CALL_TIMEOUT)
                    .build(),
            );
        if let Some(url) = &endpoint.url {
            config = config.endpoint_url(url);
        }
        Ok(Self {
            client: aws_sdk_iam::Client::from_conf(config.build()),
            endpoint: endpoint
                .url
                .clone()
                .unwrap_or_else(|| "iam.amazonaws.com".into()),
            network: network.clone(),
        })
    }

    /// The IAM user whose key signs the calls.
    pub async fn user(&self) -> Result<User, IamError> {
        let output = self
            .client
            .get_user()
            .send()
            .await
            .map_err(|e| self.classify("GetUser", e))?;
        let user = output.user.ok_or_else(|| IamError::Refused {
            action: "GetUser",
            code: "EmptyResponse".into(),
            message: "GetUser returned no user".into(),
        })?;
        if !user.arn.contains(":user/") {
            return Err(IamError::NotAUser { arn: user.arn });
        }
        Ok(User {
            name: user.user_name,
            arn: user.arn,
        })
    }

    pub async fn devices(&self, user: &str) -> Result<Vec<Device>, IamError> {
        let output = self
            .client
            .list_mfa_devices()
            .user_name(user)
            .send()
            .await
            .map_err(|e| self.classify("ListMFADevices", e))?;
        Ok(output
            .mfa_devices
            .into_iter()
            .map(|device| Device {
                serial: device.serial_number,
                enabled: device
                    .enable_date
                    .fmt(aws_smithy_types::date_time::Format::DateTime)
                    .unwrap_or_default(),
            })
            .collect())
    }

    pub async fn create_virtual_device(&self, name: &str) -> Result<NewDevice, IamError> {
        let output = self
            .client
            .create_virtual_mfa_device()
            .virtual_mfa_device_name(name)
            .send()
            .await
            .map_err(|e| match self.classify("CreateVirtualMFADevice", e) {
                IamError::Refused { code, .. } if code == "EntityAlreadyExists" => {
                    IamError::NameTaken { name: name.into() }
                }
                other => other,
            })?;
        let device = output.virtual_mfa_device.ok_or_else(|| IamError::Refused {
            action: "CreateVirtualMFADevice",
            code: "EmptyResponse".into(),
            message: "no device in the answer".into(),
        })?;
        let seed = device
            .base32_string_seed
            .map(|blob| String::from_utf8_lossy(blob.as_ref()).into_owned())
            .filter(|seed| !seed.is_empty())
            .ok_or_else(|| IamError::Refused {
                action: "CreateVirtualMFADevice",
                code: "EmptyResponse".into(),
                message: "no seed in the answer".into(),
            })?;
        Ok(NewDevice {
            serial: device.serial_number,
            seed: SecretString::from(seed),
        })
    }

    pub async fn enable(
        &self,
        user: &str,
        serial: &str,
        codes: [&SecretString; 2],
    ) -> Result<(), IamError> {
        self.client
            .enable_mfa_device()
            .user_name(user)
            .serial_number(serial)
            .authentication_code1(codes[0].expose_secret())
            .authentication_code2(codes[1].expose_secret())
            .send()
            .await
            .map_err(|e| self.classify_codes("EnableMFADevice", serial, e))?;
        Ok(())
    }

    pub async fn deactivate(&self, user: &str, serial: &str) -> Result<(), IamError> {
        self.client
            .deactivate_mfa_device()
            .user_name(user)
            .serial_number(serial)
            .send()
            .await
            .map_err(|e| self.classify("DeactivateMFADevice", e))?;
        Ok(())
    }

    pub async fn delete_virtual_device(&self, serial: &str) -> Result<(), IamError> {
        self.client
            .delete_virtual_mfa_device()
            .serial_number(serial)
            .send()
            .await
            .map_err(|e| self.classify("DeleteVirtualMFADevice", e))?;
        Ok(())
    }

    fn classify_codes<E: ProvideErrorMetadata + std::error::Error + 'static>(
        &self,
        action: &'static str,
        serial: &str,
        error: SdkError<E, aws_sdk_iam::config::http::HttpResponse>,
    ) -> IamError {
        match self.classify(action, error) {
            IamError::Refused { code, .. } if code == "InvalidAuthenticationCode" => {
                IamError::CodesRejected {
                    serial: serial.into(),
                }
            }
            other => other,
        }
    }

    /// Turn an SDK error into what it means for a person.
    fn classify<E: ProvideErrorMetadata + std::error::Error + 'static>(
        &self,
        action: &'static str,
        error: SdkError<E, aws_sdk_iam::config::http::HttpResponse>,
    ) -> IamError {
        match error {
            SdkError::ServiceError(context) => {
                let code = context.err().code().unwrap_or("Unknown").to_owned();
                let message = context.err().message().unwrap_or("").trim().to_owned();
                match code.as_str() {
                    "AccessDenied" | "AccessDeniedException" => {
                        IamError::Denied { action, message }
                    }
                    "LimitExceeded" => IamError::DeviceLimit { message },
                    "Throttling" | "ThrottlingException" | "RequestLimitExceeded" => {
                        IamError::Throttled { message }
                    }
                    _ => IamError::Refused {
                        action,
                        code,
                        message,
                    },
                }
            }
            SdkError::TimeoutError(_) => IamError::Unreachable {
                endpoint: self.endpoint.clone(),
                reason: format!("no answer within {}s", CALL_TIMEOUT.as_secs()),
            },
            other => IamError::Unreachable {
                endpoint: self.endpoint.clone(),
                reason: self.network.redact(&crate::failure::in_words(&other)),
            },
        }
    }
}
