//! Account-wide reads for `mfad audit`: the summary (the root user's MFA and keys), the
//! credential report and the virtual MFA devices nobody holds.

use super::{Iam, IamError, empty};
use aws_sdk_iam::types::{AssignmentStatusType, ReportStateType, SummaryKeyType};

/// What GetAccountSummary says about the root user.
#[derive(Debug, Clone, Copy)]
pub struct AccountSummary {
    pub root_mfa: bool,
    pub root_access_keys: bool,
}

/// Where the generation of a credential report is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportState {
    Started,
    InProgress,
    Complete,
}

impl Iam {
    pub async fn account_summary(&self) -> Result<AccountSummary, IamError> {
        let output = self
            .client
            .get_account_summary()
            .send()
            .await
            .map_err(|e| self.classify("GetAccountSummary", e))?;
        let map = output
            .summary_map
            .ok_or_else(|| empty("GetAccountSummary", "summary"))?;
        let set = |key: SummaryKeyType| map.get(&key).is_some_and(|n| *n > 0);
        Ok(AccountSummary {
            root_mfa: set(SummaryKeyType::AccountMfaEnabled),
            root_access_keys: set(SummaryKeyType::AccountAccessKeysPresent),
        })
    }

    pub async fn generate_credential_report(&self) -> Result<ReportState, IamError> {
        let output = self
            .client
            .generate_credential_report()
            .send()
            .await
            .map_err(|e| self.classify("GenerateCredentialReport", e))?;
        Ok(match output.state {
            Some(ReportStateType::Complete) => ReportState::Complete,
            Some(ReportStateType::Inprogress) => ReportState::InProgress,
            _ => ReportState::Started,
        })
    }

    /// The credential report, CSV.
    pub async fn credential_report(&self) -> Result<String, IamError> {
        let output = self
            .client
            .get_credential_report()
            .send()
            .await
            .map_err(|e| self.classify("GetCredentialReport", e))?;
        let content = output
            .content
            .ok_or_else(|| empty("GetCredentialReport", "report"))?;
        Ok(String::from_utf8_lossy(content.as_ref()).into_owned())
    }

    /// The users that hold a virtual device (one paginated listing for the whole account).
    pub async fn users_with_virtual_devices(
        &self,
    ) -> Result<std::collections::HashSet<String>, IamError> {
        let devices = self.virtual_devices(AssignmentStatusType::Assigned).await?;
        Ok(devices
            .into_iter()
            .filter_map(|d| d.user.map(|user| user.user_name))
            .collect())
    }

    /// The serials of virtual MFA devices assigned to nobody (all pages).
    pub async fn unassigned_virtual_devices(&self) -> Result<Vec<String>, IamError> {
        let devices = self
            .virtual_devices(AssignmentStatusType::Unassigned)
            .await?;
        Ok(devices.into_iter().map(|d| d.serial_number).collect())
    }

    /// The virtual MFA devices of an assignment status, all pages.
    async fn virtual_devices(
        &self,
        status: AssignmentStatusType,
    ) -> Result<Vec<aws_sdk_iam::types::VirtualMfaDevice>, IamError> {
        let mut devices = Vec::new();
        let mut marker = None;
        loop {
            let output = self
                .client
                .list_virtual_mfa_devices()
                .assignment_status(status.clone())
                .set_marker(marker)
                .send()
                .await
                .map_err(|e| self.classify("ListVirtualMFADevices", e))?;
            devices.extend(output.virtual_mfa_devices);
            match output.marker {
                Some(next) if output.is_truncated => marker = Some(next),
                _ => return Ok(devices),
            }
        }
    }
}
