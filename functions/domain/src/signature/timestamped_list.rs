//! The header format Stripe and Paddle share: `name=value` items separated by one character,
//! one timestamp item and any number of signature items (several while a secret is rolled),
//! items of other names skipped (other signature versions), the MAC over
//! `{timestamp}{joiner}{body}`.

use http::{HeaderName, HeaderValue};

use super::hmac_sha256::{self, malformed, single_header};
use super::{SignatureError, SigningKey, Verified, VerifyRequest, timestamp};

pub(super) struct Format {
    pub header: &'static str,
    /// Between items: `,` (Stripe), `;` (Paddle).
    pub separator: char,
    /// The timestamp item's name: `t`, `ts`.
    pub timestamp: &'static str,
    /// The signature items' name: `v1`, `h1`.
    pub signature: &'static str,
    /// Between the timestamp and the body in the signed content: `.`, `:`.
    pub joiner: &'static [u8],
}

impl Format {
    pub(super) fn verify(&self, request: &VerifyRequest<'_>) -> Result<Verified, SignatureError> {
        let value = single_header(request.headers, self.header, self.header)?;
        let mut signed_timestamp = None;
        let mut candidates = Vec::new();
        for item in value.split(self.separator) {
            let (name, content) = item.split_once('=').ok_or_else(|| malformed(self.header, "item without '='"))?;
            if name == self.timestamp {
                // Two timestamps would leave it to the verifier to pick which one was signed.
                if signed_timestamp.replace(content).is_some() {
                    return Err(malformed(self.header, "more than one timestamp"));
                }
            } else if name == self.signature && !content.is_empty() {
                // An undecodable signature is skipped rather than fatal, as the providers'
                // libraries do: another one in the same header may still be good.
                candidates.extend(hex::decode(content).ok());
            }
        }
        let signed_timestamp = signed_timestamp.ok_or_else(|| malformed(self.header, "missing timestamp"))?;
        let signed_at = timestamp::parse_within_tolerance(signed_timestamp, self.header, request)?;
        if candidates.is_empty() {
            return Err(malformed(self.header, "no well-formed signature"));
        }
        let parts = [signed_timestamp.as_bytes(), self.joiner, request.body];
        hmac_sha256::match_candidates(request.keys, &parts, &candidates, Some(signed_at))
    }

    pub(super) fn sign(&self, key: &SigningKey, body: &[u8], now_unix: i64) -> Vec<(HeaderName, HeaderValue)> {
        let timestamp = now_unix.to_string();
        let mac = hmac_sha256::compute(key.as_bytes(), &[timestamp.as_bytes(), self.joiner, body]);
        let value = format!("{}={timestamp}{}{}={}", self.timestamp, self.separator, self.signature, hex::encode(mac));
        let Ok(value) = HeaderValue::from_str(&value) else {
            return Vec::new();
        };
        vec![(HeaderName::from_static(self.header), value)]
    }
}
