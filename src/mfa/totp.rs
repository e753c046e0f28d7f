//! TOTP secrets (RFC 6238) and the codes derived from them.

use secrecy::SecretString;
use std::fmt;
use totp_rs::{Algorithm, Builder, Secret, Totp};

/// A TOTP secret with its parameters. `Debug` hides the secret.
#[derive(Clone)]
pub struct TotpSecret(Totp);

impl fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "TotpSecret {{ digits: {}, period: {}s, algorithm: {}, secret: *** }}",
            self.0.digits(),
            self.0.step(),
            self.0.algorithm()
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TotpParseError {
    #[error("not a base32 TOTP secret or an otpauth:// URI")]
    NotASecret,
    #[error("the otpauth:// URI is not valid ({0})")]
    BadUri(String),
    #[error("{0} digits: AWS codes have 6")]
    Digits(u8),
    #[error("a period of 0 seconds")]
    Period,
}

impl TotpSecret {
    /// Read a base32 secret (spaces and lower case allowed, as apps display it) or an
    /// `otpauth://totp/…` URI with its digits, period and algorithm.
    pub fn parse(input: &str) -> Result<Self, TotpParseError> {
        let input = input.trim();
        let totp = if input.starts_with("otpauth://") {
            Totp::from_url_unchecked(input).map_err(|e| TotpParseError::BadUri(e.to_string()))?
        } else {
            let base32: String = input
                .chars()
                .filter(|c| !c.is_whitespace() && *c != '-')
                .map(|c| c.to_ascii_uppercase())
                .collect();
            let secret = Secret::try_from_base32(base32.trim_end_matches('='))
                .map_err(|_| TotpParseError::NotASecret)?;
            Builder::new()
                .with_secret(secret)
                .with_algorithm(Algorithm::SHA1)
                .build_noncompliant()
        };
        if totp.secret().as_bytes().is_empty() {
            return Err(TotpParseError::NotASecret);
        }
        if !(6..=8).contains(&totp.digits()) {
            return Err(TotpParseError::Digits(totp.digits()));
        }
        if totp.step() == 0 {
            return Err(TotpParseError::Period);
        }
        // A label of our own: the stored URI must not depend on the issuer's label syntax.
        let normalized = Builder::new()
            .with_secret(totp.secret().as_bytes().to_vec())
            .with_algorithm(totp.algorithm())
            .with_digits(totp.digits())
            .with_step_duration(totp.step())
            .with_account_name("mfad")
            .build_noncompliant();
        Ok(Self(normalized))
    }

    /// The form kept in the secret store.
    pub fn to_uri(&self) -> SecretString {
        SecretString::from(self.0.to_url().expect("the label \"mfad\" is always valid"))
    }

    /// The length of one step, in seconds (30 unless the URI said otherwise).
    pub fn period(&self) -> u64 {
        self.0.step()
    }

    /// The code for the step a Unix time falls in.
    pub fn code_at(&self, unix_secs: u64) -> String {
        self.0.generate(unix_secs).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    /// RFC 6238 appendix B's SHA1 secret, "12345678901234567890".
    const RFC_SECRET: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";

    #[test]
    fn rfc6238_vectors() {
        let uri = format!("otpauth://totp/x?secret={RFC_SECRET}&digits=8");
        let totp = TotpSecret::parse(&uri).unwrap();
        assert_eq!(totp.code_at(59), "94287082");
        assert_eq!(totp.code_at(1_111_111_109), "07081804");
        assert_eq!(totp.code_at(2_000_000_000), "69279037");
    }

    #[test]
    fn base32_as_apps_show_it() {
        let spaced = "gezd gnbv gy3t qojq gezd gnbv gy3t qojq";
        let totp = TotpSecret::parse(spaced).unwrap();
        assert_eq!(totp.period(), 30);
        assert_eq!(totp.code_at(59), "287082");
    }

    #[test]
    fn uri_parameters_survive_the_store_round_trip() {
        let uri = format!(
            "otpauth://totp/Amazon%20Web%20Services:alice@123456789012?secret={RFC_SECRET}&issuer=Amazon%20Web%20Services&period=60&digits=8&algorithm=SHA256"
        );
        let parsed = TotpSecret::parse(&uri).unwrap();
        let again = TotpSecret::parse(parsed.to_uri().expose_secret()).unwrap();
        assert_eq!(again.period(), 60);
        assert_eq!(again.code_at(1_234_567_890), parsed.code_at(1_234_567_890));
        assert_eq!(again.code_at(1_234_567_890).len(), 8);
    }

    #[test]
    fn rejects_what_is_not_a_secret() {
        assert!(TotpSecret::parse("not base32 !!").is_err());
        assert!(TotpSecret::parse("").is_err());
        assert!(TotpSecret::parse("otpauth://hotp/x?secret=GEZDGNBV").is_err());
        let debug = format!("{:?}", TotpSecret::parse(RFC_SECRET).unwrap());
        assert!(!debug.contains("GEZD"), "{debug}");
    }
}
