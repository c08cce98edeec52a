//! Signing a payload the way a configured source's sender would.

use hookline_domain::SourcesConfig;
use hookline_domain::signature::{SigningKey, sign, signed_body};

/// What to sign and how.
#[derive(Debug, Clone)]
pub struct SignRequest<'a> {
    pub source: &'a str,
    pub body: &'a [u8],
    pub content_type: &'a str,
    pub now_unix: i64,
    /// Which of the source's secrets to sign with (0 = the first configured).
    pub key_index: usize,
    /// The sender's event id, sent in the scheme's id header where it has one.
    pub event_id: &'a str,
}

/// A signed request: the headers to send, in order (content type, the scheme's signature
/// headers, then the scheme's event id header if it has one), and the body (the payload
/// itself, except for a scheme that signs inside it: Mailgun).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed {
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
pub enum SignError {
    #[error("source {0:?} is not in the configuration")]
    UnknownSource(String),
    #[error("source {source_name:?} has {available} secret(s); there is no secret #{index}")]
    NoSuchKey { source_name: String, index: usize, available: usize },
    #[error(
        "source {0:?} is configured with a public key, which cannot sign: give the sender's signing key \
         (--signing-key)"
    )]
    PublicKeyOnly(String),
    #[error("a mailgun payload must be a JSON object with a \"signature\" object holding a string \"token\"")]
    NoPlaceForTheSignature,
    #[error(
        "the scheme did not produce a signature for this payload (e.g. a Standard Webhooks event id that is not visible ASCII)"
    )]
    NothingSigned,
}

/// Signs with the source's configured key number `request.key_index`.
pub fn sign_request(config: &SourcesConfig, request: &SignRequest<'_>) -> Result<Signed, SignError> {
    let source = config.get(request.source).ok_or_else(|| SignError::UnknownSource(request.source.to_owned()))?;
    let key = source.keys.get(request.key_index).ok_or_else(|| SignError::NoSuchKey {
        source_name: request.source.to_owned(),
        index: request.key_index,
        available: source.keys.len(),
    })?;
    sign_with(config, request, key)
}

/// Signs with `key`, e.g. the private key whose public half the source is configured with.
pub fn sign_with(config: &SourcesConfig, request: &SignRequest<'_>, key: &SigningKey) -> Result<Signed, SignError> {
    let source = config.get(request.source).ok_or_else(|| SignError::UnknownSource(request.source.to_owned()))?;
    let body =
        signed_body(&source.scheme, key, request.body, request.now_unix).ok_or(SignError::NoPlaceForTheSignature)?;
    let signature = sign(&source.scheme, key, &body, request.now_unix, request.event_id);
    if signature.is_empty() && !source.scheme.signs_inside_body() {
        let public_only = !key.is_secret() && key.ed25519_signing().is_none() && key.p256_signing().is_none();
        return Err(if public_only {
            SignError::PublicKeyOnly(request.source.to_owned())
        } else {
            SignError::NothingSigned
        });
    }
    let mut headers = vec![("content-type".to_owned(), request.content_type.to_owned())];
    for (name, value) in signature {
        headers.push((name.as_str().to_owned(), value.to_str().unwrap_or_default().to_owned()));
    }
    if let Some(name) = source.unsigned_id_header() {
        headers.push((name.to_owned(), request.event_id.to_owned()));
    }
    Ok(Signed { headers, body })
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCAL: &str = include_str!("../../../infra/local/sources.json");

    fn request<'a>(source: &'a str, body: &'a [u8]) -> SignRequest<'a> {
        SignRequest {
            source,
            body,
            content_type: "application/json",
            now_unix: 1_795_867_200,
            key_index: 0,
            event_id: "e1",
        }
    }

    #[test]
    fn a_public_key_cannot_sign_but_the_senders_key_can() {
        let config = SourcesConfig::from_json(LOCAL.as_bytes()).unwrap();
        let body = br#"{"type":1}"#;
        let refused = sign_request(&config, &request("discord", body)).unwrap_err();
        assert!(matches!(refused, SignError::PublicKeyOnly(_)), "{refused}");
        let seed = SigningKey::ed25519_from_seed(b"hookline-local-discord-seed-0001");
        let signed = sign_with(&config, &request("discord", body), &seed).unwrap();
        assert!(signed.headers.iter().any(|(name, _)| name == "x-signature-ed25519"), "{signed:?}");
        assert_eq!(signed.body, body);
    }

    #[test]
    fn mailgun_is_signed_inside_the_body() {
        let config = SourcesConfig::from_json(LOCAL.as_bytes()).unwrap();
        let body = br#"{"signature":{"token":"t1"},"event-data":{"event":"opened"}}"#;
        let signed = sign_request(&config, &request("mailgun", body)).unwrap();
        assert_eq!(signed.headers, vec![("content-type".to_owned(), "application/json".to_owned())]);
        let value: serde_json::Value = serde_json::from_slice(&signed.body).unwrap();
        assert_eq!(value["signature"]["timestamp"], "1795867200");
        assert_eq!(value["signature"]["signature"].as_str().map(str::len), Some(64));
        let refused = sign_request(&config, &request("mailgun", b"{}")).unwrap_err();
        assert!(matches!(refused, SignError::NoPlaceForTheSignature), "{refused}");
    }
}
