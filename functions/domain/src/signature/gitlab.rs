//! GitLab: `X-Gitlab-Token`, the secret token itself
//! (<https://docs.gitlab.com/user/project/integrations/webhooks/#validate-payloads-by-using-a-secret-token>).
//!
//! Nothing is signed: the token proves the sender knows it, not that the body is the one it
//! sent, so a captured request can be replayed with any body for as long as the token lives.
//! Tokens are compared through their SHA-256, in constant time, so neither the token's bytes
//! nor its length show in the time taken. There is no vector to publish: the check is an
//! equality.

use http::{HeaderName, HeaderValue};

use super::hmac_sha256::{matching_token, single_header};
use super::{SignatureError, SigningKey, Verified, VerifyRequest};

const TOKEN: &str = "x-gitlab-token";

pub(super) fn verify(request: &VerifyRequest<'_>) -> Result<Verified, SignatureError> {
    let token = single_header(request.headers, TOKEN, TOKEN)?;
    matching_token(request.keys, token.as_bytes())
        .map(|key_index| Verified { key_index, signed_at: None })
        .ok_or(SignatureError::NoMatchingSignature)
}

/// No header when the key is not visible ASCII (no header could carry it).
pub(super) fn sign(key: &SigningKey) -> Vec<(HeaderName, HeaderValue)> {
    match HeaderValue::from_bytes(key.as_bytes()) {
        Ok(value) if value.to_str().is_ok() => vec![(HeaderName::from_static(TOKEN), value)],
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::signature::Scheme;
    use crate::signature::hmac_sha256::test_support::{headers, into_map, verify_with};

    const SCHEME: Scheme = Scheme::GitLab;

    fn key(secret: &str) -> SigningKey {
        SigningKey::from_config(&SCHEME, secret).unwrap()
    }

    fn check(token: &str, keys: &[SigningKey]) -> Result<Verified, SignatureError> {
        verify_with(&SCHEME, &headers(&[("X-Gitlab-Token", token)]), b"{}", keys, 0)
    }

    #[test]
    fn the_configured_token_matches_any_body() {
        let keys = [key("glpat-new-token-123"), key("glpat-old-token-456")];
        assert_eq!(check("glpat-new-token-123", &keys), Ok(Verified { key_index: 0, signed_at: None }));
        assert_eq!(check("glpat-old-token-456", &keys), Ok(Verified { key_index: 1, signed_at: None }));
        let signed = into_map(sign(&keys[0]));
        assert_eq!(verify_with(&SCHEME, &signed, b"any body", &keys, 0).map(|v| v.key_index), Ok(0));
    }

    #[test]
    fn another_token_a_prefix_or_a_case_change_fails() {
        let keys = [key("glpat-new-token-123")];
        for token in ["glpat-new-token-12", "glpat-new-token-1234", "GLPAT-NEW-TOKEN-123", "", " glpat-new-token-123"] {
            assert_eq!(check(token, &keys), Err(SignatureError::NoMatchingSignature), "{token:?}");
        }
        assert_eq!(
            verify_with(&SCHEME, &http::HeaderMap::new(), b"{}", &keys, 0),
            Err(SignatureError::MissingHeader(TOKEN))
        );
        let twice = headers(&[("X-Gitlab-Token", "glpat-new-token-123"), ("x-gitlab-token", "glpat-new-token-123")]);
        assert_eq!(verify_with(&SCHEME, &twice, b"{}", &keys, 0), Err(SignatureError::DuplicateHeader(TOKEN)));
    }

    proptest! {
        #[test]
        fn arbitrary_tokens_never_panic_and_only_the_token_matches(token in "[ -~]{0,80}") {
            let result = check(&token, &[key("glpat-new-token-123")]);
            prop_assert_eq!(result.is_ok(), token == "glpat-new-token-123");
        }
    }
}
