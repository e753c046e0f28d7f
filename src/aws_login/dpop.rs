//! DPoP proofs (RFC 9449) as the sign-in service wants them: a JWT signed ES256 with the
//! session's P-256 key, its public half in the header, naming the method and URL of the
//! one request it goes with, when it was made, and a fresh id (`jti`) so it cannot be
//! replayed.

use super::LoginError;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use p256::SecretKey;
use p256::ecdsa::{Signature, SigningKey, signature::Signer};
use p256::elliptic_curve::sec1::ToEncodedPoint;
use p256::pkcs8::DecodePrivateKey;
use std::time::SystemTime;

/// The session's key, from the cache's PEM (SEC1 `EC PRIVATE KEY`, as the CLI writes it,
/// or PKCS#8 `PRIVATE KEY`).
pub fn key(pem: &str) -> Result<SecretKey, LoginError> {
    SecretKey::from_sec1_pem(pem)
        .or_else(|_| SecretKey::from_pkcs8_pem(pem))
        .map_err(|_| LoginError::BadCache("dpopKey is not a P-256 private key in PEM".into()))
}

/// A fresh key for a new sign-in, and its PEM as the AWS CLI writes it: SEC1 with the
/// curve named (awscrt, which botocore loads the key with, refuses one without).
pub fn generate() -> Result<(SecretKey, String), LoginError> {
    use std::io::Read;
    let mut bytes = zeroize::Zeroizing::new([0u8; 32]);
    let key = loop {
        std::fs::File::open("/dev/urandom")
            .and_then(|mut random| random.read_exact(bytes.as_mut()))
            .map_err(LoginError::Random)?;
        // Fails only for zero or a value past the group order: draw again.
        if let Ok(key) = SecretKey::from_slice(bytes.as_ref()) {
            break key;
        }
    };
    let pem = sec1_pem(&key);
    Ok((key, pem))
}

/// SEC1 `ECPrivateKey` DER: version 1, the scalar, the curve (P-256's OID), the public
/// point; in PEM with 64-character lines.
fn sec1_pem(key: &SecretKey) -> String {
    const VERSION_AND_SCALAR: [u8; 7] = [0x30, 0x77, 0x02, 0x01, 0x01, 0x04, 0x20];
    const CURVE_P256: [u8; 12] = [
        0xa0, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07,
    ];
    const PUBLIC_POINT: [u8; 5] = [0xa1, 0x44, 0x03, 0x42, 0x00];
    let mut der = zeroize::Zeroizing::new(Vec::with_capacity(121));
    der.extend_from_slice(&VERSION_AND_SCALAR);
    der.extend_from_slice(&key.to_bytes());
    der.extend_from_slice(&CURVE_P256);
    der.extend_from_slice(&PUBLIC_POINT);
    der.extend_from_slice(key.public_key().to_encoded_point(false).as_bytes());
    let body = zeroize::Zeroizing::new(base64::engine::general_purpose::STANDARD.encode(&*der));
    let lines: Vec<&str> = body
        .as_bytes()
        .chunks(64)
        .map(|line| std::str::from_utf8(line).expect("base64 is ASCII"))
        .collect();
    format!(
        "-----BEGIN EC PRIVATE KEY-----\n{}\n-----END EC PRIVATE KEY-----\n",
        lines.join("\n")
    )
}

/// The proof for a POST to `url` at `now`.
pub fn proof(key: &SecretKey, url: &str, now: SystemTime) -> Result<String, LoginError> {
    let point = key.public_key().to_encoded_point(false);
    let (Some(x), Some(y)) = (point.x(), point.y()) else {
        return Err(LoginError::BadCache("dpopKey has no public point".into()));
    };
    let header = serde_json::json!({
        "typ": "dpop+jwt",
        "alg": "ES256",
        "jwk": {
            "kty": "EC",
            "crv": "P-256",
            "x": URL_SAFE_NO_PAD.encode(x),
            "y": URL_SAFE_NO_PAD.encode(y),
        },
    });
    let iat = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |since| since.as_secs());
    let jti = crate::random::base64url(16).map_err(LoginError::Random)?;
    let payload = serde_json::json!({ "jti": jti, "htm": "POST", "htu": url, "iat": iat });
    let message = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(payload.to_string())
    );
    let signature: Signature = SigningKey::from(key).sign(message.as_bytes());
    Ok(format!(
        "{message}.{}",
        URL_SAFE_NO_PAD.encode(signature.to_bytes())
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::{VerifyingKey, signature::Verifier};

    #[test]
    fn a_proof_verifies_with_the_key_in_its_header_and_names_its_request() {
        let cache =
            crate::aws_login::LoginCache::parse(crate::aws_login::cache::tests::SAMPLE.as_bytes())
                .unwrap();
        let key = key(&cache.dpop_key).unwrap();
        let at = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000);
        let proof = proof(&key, "https://signin.example/v1/token", at).unwrap();
        let parts: Vec<&str> = proof.split('.').collect();
        let [header, payload, signature] = parts[..] else {
            panic!("three parts: {proof}")
        };
        let decode = |part: &str| -> serde_json::Value {
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
        };
        let (header_json, payload_json) = (decode(header), decode(payload));
        // The SDK's own vector: the public point of this key.
        assert_eq!(
            header_json["jwk"]["x"],
            "Wb1VLi1EA2hJaTz4yYuxSELvY-1GAfL-8rUTCAdiFic"
        );
        assert_eq!(payload_json["htu"], "https://signin.example/v1/token");
        assert_eq!(payload_json["htm"], "POST");
        assert_eq!(payload_json["iat"], 1_700_000_000);
        let signature = Signature::from_slice(&URL_SAFE_NO_PAD.decode(signature).unwrap()).unwrap();
        VerifyingKey::from(key.public_key())
            .verify(format!("{header}.{payload}").as_bytes(), &signature)
            .unwrap();
        let again = super::proof(&key, "https://signin.example/v1/token", at).unwrap();
        assert_ne!(
            decode(again.split('.').nth(1).unwrap())["jti"],
            payload_json["jti"]
        );
        assert!(super::key("not a key").is_err());
    }

    #[test]
    fn a_new_key_is_written_as_the_cli_writes_it_and_read_back() {
        let (key, pem) = generate().unwrap();
        assert!(
            pem.starts_with("-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEI"),
            "{pem}"
        );
        // The curve is named where the CLI's keys name it (the SDK's sample is one).
        let cli_sample =
            crate::aws_login::LoginCache::parse(crate::aws_login::cache::tests::SAMPLE.as_bytes())
                .unwrap()
                .dpop_key
                .clone();
        let der = |pem: &str| {
            let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
            base64::engine::general_purpose::STANDARD
                .decode(body)
                .unwrap()
        };
        let (ours, theirs) = (der(&pem), der(&cli_sample));
        assert_eq!(ours.len(), theirs.len());
        assert_eq!(ours[..7], theirs[..7]);
        assert_eq!(ours[39..56], theirs[39..56]);
        assert!(pem.lines().all(|line| line.len() <= 64));
        assert_eq!(super::key(&pem).unwrap().to_bytes(), key.to_bytes());
    }
}
