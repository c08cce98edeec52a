//! Signing keys, parsed once from configuration: the secret bytes a scheme feeds to HMAC, or
//! the public key an asymmetric scheme verifies with (Standard Webhooks `v1a` and Discord:
//! Ed25519; SendGrid: ECDSA P-256), or, for a sender's side only (the signing command, tests),
//! a private key.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::pkcs8::DecodePublicKey;

use super::Scheme;

/// One key of a source. `Debug` never shows a secret or a private key.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningKey(Material);

#[derive(Clone, PartialEq, Eq)]
enum Material {
    Secret(Vec<u8>),
    Ed25519Public(ed25519_dalek::VerifyingKey),
    Ed25519Private(ed25519_dalek::SigningKey),
    P256Public(p256::ecdsa::VerifyingKey),
    P256Private(p256::ecdsa::SigningKey),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("secret is empty")]
    Empty,
    #[error("Standard Webhooks secret is not valid base64 after its whsec_ prefix")]
    NotBase64,
    #[error("Ed25519 public key is not 32 bytes (raw, or in a DER SubjectPublicKeyInfo) of a valid point")]
    NotEd25519PublicKey,
    #[error("Ed25519 signing key is not a base64 32-byte seed after its whsk_ prefix")]
    NotEd25519SigningKey,
    #[error("P-256 public key is not a base64 DER SubjectPublicKeyInfo of a point on the curve")]
    NotP256PublicKey,
    #[error("a discord or sendgrid signing key is 64 hex digits: the Ed25519 seed, or the P-256 scalar")]
    NotSenderKey,
}

impl SigningKey {
    /// Parses a configured key the way `scheme` defines its keys:
    /// - Standard Webhooks: `whsec_<base64>` (or bare base64) secrets for `v1`, `whpk_<base64>`
    ///   Ed25519 public keys for `v1a` (the raw 32 bytes or a DER SubjectPublicKeyInfo, both
    ///   seen in the wild), and `whsk_<base64 seed>` signing keys for a sender;
    /// - Discord: the application's public key, 64 hex digits;
    /// - SendGrid: the verification key, a base64 DER SubjectPublicKeyInfo of a P-256 point;
    /// - every other scheme: the secret's UTF-8 bytes as they are (Stripe's `whsec_...` too).
    pub fn from_config(scheme: &Scheme, secret: &str) -> Result<Self, KeyError> {
        if secret.is_empty() {
            return Err(KeyError::Empty);
        }
        let material = match scheme {
            Scheme::StandardWebhooks => {
                if let Some(public) = secret.strip_prefix("whpk_") {
                    Material::Ed25519Public(ed25519_public(
                        &STANDARD.decode(public).map_err(|_| KeyError::NotEd25519PublicKey)?,
                    )?)
                } else if let Some(seed) = secret.strip_prefix("whsk_") {
                    let seed = STANDARD.decode(seed).ok().and_then(|s| <[u8; 32]>::try_from(s).ok());
                    Material::Ed25519Private(ed25519_dalek::SigningKey::from_bytes(
                        &seed.ok_or(KeyError::NotEd25519SigningKey)?,
                    ))
                } else {
                    let encoded = secret.strip_prefix("whsec_").unwrap_or(secret);
                    Material::Secret(STANDARD.decode(encoded).map_err(|_| KeyError::NotBase64)?)
                }
            }
            Scheme::SendGrid => {
                use p256::pkcs8::DecodePublicKey;
                let der = STANDARD.decode(secret).map_err(|_| KeyError::NotP256PublicKey)?;
                Material::P256Public(
                    p256::ecdsa::VerifyingKey::from_public_key_der(&der).map_err(|_| KeyError::NotP256PublicKey)?,
                )
            }
            Scheme::Discord => Material::Ed25519Public(ed25519_public(
                &hex::decode(secret).map_err(|_| KeyError::NotEd25519PublicKey)?,
            )?),
            _ => Material::Secret(secret.as_bytes().to_vec()),
        };
        if matches!(&material, Material::Secret(bytes) if bytes.is_empty()) {
            return Err(KeyError::Empty);
        }
        Ok(SigningKey(material))
    }

    /// A sender's key, for signing as the provider would (the signing command, tests): for the
    /// asymmetric schemes the private half of what a source is configured with (Standard
    /// Webhooks: `whsk_<base64 seed>`; Discord: the Ed25519 seed, SendGrid: the P-256 scalar,
    /// each as 64 hex digits); for every other scheme the secret itself, as configured.
    pub fn sender_key(scheme: &Scheme, text: &str) -> Result<Self, KeyError> {
        let scalar = || hex::decode(text).ok().and_then(|bytes| <[u8; 32]>::try_from(bytes).ok());
        match scheme {
            Scheme::Discord => scalar().map(|seed| Self::ed25519_from_seed(&seed)).ok_or(KeyError::NotSenderKey),
            Scheme::SendGrid => {
                scalar().and_then(|scalar| Self::p256_from_scalar(&scalar)).ok_or(KeyError::NotSenderKey)
            }
            _ => Self::from_config(scheme, text),
        }
    }

    /// Raw secret bytes, for building a MAC.
    pub fn from_bytes(bytes: impl Into<Vec<u8>>) -> Self {
        SigningKey(Material::Secret(bytes.into()))
    }

    /// An Ed25519 signing key from its 32-byte seed (a sender's side).
    pub fn ed25519_from_seed(seed: &[u8; 32]) -> Self {
        SigningKey(Material::Ed25519Private(ed25519_dalek::SigningKey::from_bytes(seed)))
    }

    /// A P-256 signing key from its 32-byte scalar (a sender's side); `None` for a scalar that
    /// is zero or not below the group order.
    pub fn p256_from_scalar(scalar: &[u8; 32]) -> Option<Self> {
        let key = p256::ecdsa::SigningKey::from_slice(scalar).ok()?;
        Some(SigningKey(Material::P256Private(key)))
    }

    pub fn from_p256_verifying(key: p256::ecdsa::VerifyingKey) -> Self {
        SigningKey(Material::P256Public(key))
    }

    /// The P-256 key a signature is verified with: the public key, or a private key's.
    pub fn p256_verifying(&self) -> Option<p256::ecdsa::VerifyingKey> {
        match &self.0 {
            Material::P256Public(key) => Some(*key),
            Material::P256Private(key) => Some(*key.verifying_key()),
            _ => None,
        }
    }

    pub fn p256_signing(&self) -> Option<&p256::ecdsa::SigningKey> {
        match &self.0 {
            Material::P256Private(key) => Some(key),
            _ => None,
        }
    }

    /// The secret's bytes; empty for an asymmetric key, which HMAC matching never uses
    /// (`hmac_sha256::find_matching_key_by` skips every key that is not a secret).
    pub fn as_bytes(&self) -> &[u8] {
        match &self.0 {
            Material::Secret(bytes) => bytes,
            _ => &[],
        }
    }

    pub fn is_secret(&self) -> bool {
        matches!(self.0, Material::Secret(_))
    }

    /// The Ed25519 key a signature is verified with: the public key, or a private key's.
    pub fn ed25519_verifying(&self) -> Option<ed25519_dalek::VerifyingKey> {
        match &self.0 {
            Material::Ed25519Public(key) => Some(*key),
            Material::Ed25519Private(key) => Some(key.verifying_key()),
            _ => None,
        }
    }

    pub fn ed25519_signing(&self) -> Option<&ed25519_dalek::SigningKey> {
        match &self.0 {
            Material::Ed25519Private(key) => Some(key),
            _ => None,
        }
    }
}

/// An Ed25519 public key from its 32 raw bytes or a DER SubjectPublicKeyInfo.
fn ed25519_public(bytes: &[u8]) -> Result<ed25519_dalek::VerifyingKey, KeyError> {
    let key = match <[u8; 32]>::try_from(bytes) {
        Ok(raw) => ed25519_dalek::VerifyingKey::from_bytes(&raw).ok(),
        Err(_) => ed25519_dalek::VerifyingKey::from_public_key_der(bytes).ok(),
    };
    // A weak (small-order) key would accept forged signatures under verify_strict's rules too.
    key.filter(|key| !key.is_weak()).ok_or(KeyError::NotEd25519PublicKey)
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Material::Ed25519Public(key) => write!(f, "SigningKey(ed25519 public {})", hex::encode(key.as_bytes())),
            Material::P256Public(_) => f.write_str("SigningKey(p256 public)"),
            Material::Secret(_) | Material::Ed25519Private(_) | Material::P256Private(_) => {
                f.write_str("SigningKey(<redacted>)")
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn sender_keys_are_the_private_halves_of_what_sources_are_configured_with() {
        // The local discord source's public key is this seed's (infra/local/sources.json).
        let seed = hex::encode(b"hookline-local-discord-seed-0001");
        let public = "72d4ecfc5fbe1ba0ff900acd124ec4a9a9903b6f5e919b628f390f33876e2e1c";
        let sender = SigningKey::sender_key(&Scheme::Discord, &seed).unwrap();
        let configured = SigningKey::from_config(&Scheme::Discord, public).unwrap();
        assert_eq!(sender.ed25519_verifying(), configured.ed25519_verifying());
        assert!(sender.ed25519_signing().is_some() && !sender.is_secret());
        let scalar = hex::encode(b"hookline-local-sendgrid-scalar01");
        let sendgrid = SigningKey::sender_key(&Scheme::SendGrid, &scalar).unwrap();
        assert!(sendgrid.p256_signing().is_some());
        for (scheme, bad) in [(Scheme::Discord, "abcd"), (Scheme::SendGrid, "zz"), (Scheme::SendGrid, &"0".repeat(64))]
        {
            assert_eq!(SigningKey::sender_key(&scheme, bad), Err(KeyError::NotSenderKey), "{bad}");
        }
        assert_eq!(SigningKey::sender_key(&Scheme::GitHub, "s3cret").unwrap().as_bytes(), b"s3cret");
        assert!(format!("{sender:?}").contains("redacted"), "{sender:?}");
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let key = SigningKey::from_config(&Scheme::GitHub, "super-secret-value").unwrap();
        let shown = format!("{key:?}");
        assert!(!shown.contains("super-secret-value"), "{shown}");
        assert!(shown.contains("redacted"));
    }

    #[test]
    fn standard_webhooks_keys_are_base64_with_or_without_prefix() {
        let with = SigningKey::from_config(&Scheme::StandardWebhooks, "whsec_aGVsbG8=").unwrap();
        let without = SigningKey::from_config(&Scheme::StandardWebhooks, "aGVsbG8=").unwrap();
        assert_eq!(with.as_bytes(), b"hello");
        assert_eq!(without, with);
        assert_eq!(SigningKey::from_config(&Scheme::StandardWebhooks, "whsec_%%%"), Err(KeyError::NotBase64));
    }

    // Published vector: standard-webhooks/standard-webhooks libraries/go/webhook_asymmetric_test.go
    // (TestAsymmetricWebhookSign): the signing key is a base64 32-byte seed. Its public key is
    // not published; it was derived with Python's `cryptography`
    // (Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes_raw()).
    pub(crate) const V1A_SIGNING_KEY: &str = "whsk_VEVTVFNJR05JTkdLRVlET05PVFVTRVRISVNGT1JBTlk=";
    pub(crate) const V1A_PUBLIC_KEY: &str = "whpk_ZlN4eg7dSSqi0moX9hQUk3orrOouK3QVQSlJa248c/g=";

    #[test]
    fn ed25519_public_keys_raw_or_in_a_der_subject_public_key_info() {
        let raw = SigningKey::from_config(&Scheme::StandardWebhooks, V1A_PUBLIC_KEY).unwrap();
        let signing = SigningKey::from_config(&Scheme::StandardWebhooks, V1A_SIGNING_KEY).unwrap();
        assert_eq!(raw.ed25519_verifying(), signing.ed25519_verifying());
        // The same key as a DER SubjectPublicKeyInfo (RFC 8410: the 12-byte Ed25519 header).
        let mut der = hex::decode("302a300506032b6570032100").unwrap();
        der.extend(raw.ed25519_verifying().unwrap().as_bytes());
        let spki =
            SigningKey::from_config(&Scheme::StandardWebhooks, &format!("whpk_{}", STANDARD.encode(&der))).unwrap();
        assert_eq!(spki, raw);
        assert!(!raw.is_secret() && raw.as_bytes().is_empty(), "a public key is never an HMAC secret");
        for bad in ["whpk_", "whpk_%%%", "whpk_AAAA", "whpk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="] {
            assert_eq!(
                SigningKey::from_config(&Scheme::StandardWebhooks, bad),
                Err(KeyError::NotEd25519PublicKey),
                "{bad}"
            );
        }
        assert_eq!(
            SigningKey::from_config(&Scheme::StandardWebhooks, "whsk_AAAA"),
            Err(KeyError::NotEd25519SigningKey)
        );
        assert!(format!("{signing:?}").contains("redacted"));
        assert!(format!("{raw:?}").contains("ed25519 public"));
    }

    #[test]
    fn stripe_keys_keep_their_prefix() {
        let key = SigningKey::from_config(&Scheme::Stripe, "whsec_abc").unwrap();
        assert_eq!(key.as_bytes(), b"whsec_abc");
        assert_eq!(SigningKey::from_config(&Scheme::Stripe, ""), Err(KeyError::Empty));
    }
}
