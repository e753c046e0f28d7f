//! The MFA devices of a user: list, create, enable, resync, deactivate, delete.

use super::{Iam, IamError, empty, rfc3339};
use secrecy::{ExposeSecret, SecretString};

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

impl Iam {
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
                enabled: rfc3339(Some(&device.enable_date)),
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
        let device = output
            .virtual_mfa_device
            .ok_or_else(|| empty("CreateVirtualMFADevice", "device"))?;
        let seed = device
            .base32_string_seed
            .map(|blob| String::from_utf8_lossy(blob.as_ref()).into_owned())
            .filter(|seed| !seed.is_empty())
            .ok_or_else(|| empty("CreateVirtualMFADevice", "seed"))?;
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

    /// Bring AWS's idea of the device's clock back in line: two consecutive codes.
    pub async fn resync(
        &self,
        user: &str,
        serial: &str,
        codes: [&SecretString; 2],
    ) -> Result<(), IamError> {
        self.client
            .resync_mfa_device()
            .user_name(user)
            .serial_number(serial)
            .authentication_code1(codes[0].expose_secret())
            .authentication_code2(codes[1].expose_secret())
            .send()
            .await
            .map_err(|e| self.classify_codes("ResyncMFADevice", serial, e))?;
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
}
