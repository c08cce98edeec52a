//! Signing keys: the secret bytes a scheme feeds to HMAC, parsed once from configuration.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::Scheme;

/// The secret bytes one source signs with. `Debug` never shows them.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningKey(Vec<u8>);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("secret is empty")]
    Empty,
    #[error("Standard Webhooks secret is not valid base64 after its whsec_ prefix")]
    NotBase64,
}

impl SigningKey {
    /// Parses a configured secret the way `scheme` defines its keys: Standard Webhooks
    /// secrets are base64 (with or without the `whsec_` prefix); every other scheme uses the
    /// secret's UTF-8 bytes as they are (Stripe's `whsec_...` included).
    pub fn from_config(scheme: &Scheme, secret: &str) -> Result<Self, KeyError> {
        if secret.is_empty() {
            return Err(KeyError::Empty);
        }
        let bytes = match scheme {
            Scheme::StandardWebhooks => {
                let encoded = secret.strip_prefix("whsec_").unwrap_or(secret);
                STANDARD.decode(encoded).map_err(|_| KeyError::NotBase64)?
            }
            _ => secret.as_bytes().to_vec(),
        };
        if bytes.is_empty() {
            return Err(KeyError::Empty);
        }
        Ok(SigningKey(bytes))
    }

    /// Raw key bytes, for building a MAC.
    pub fn from_bytes(bytes: impl Into<Vec<u8>>) -> Self {
        SigningKey(bytes.into())
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKey(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn stripe_keys_keep_their_prefix() {
        let key = SigningKey::from_config(&Scheme::Stripe, "whsec_abc").unwrap();
        assert_eq!(key.as_bytes(), b"whsec_abc");
        assert_eq!(SigningKey::from_config(&Scheme::Stripe, ""), Err(KeyError::Empty));
    }
}
