//! A request's body as the HTTP layer hands it over, and as intake decides on it.

use std::borrow::Cow;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::envelope::EnvelopeBody;

/// A request's body as the HTTP layer holds it. API Gateway hands over a body as a JSON
/// string: the text itself, or standard base64 of the bytes (`isBase64Encoded`).
#[derive(Debug, Clone, Copy)]
pub enum RequestBody<'a> {
    /// The exact bytes, known to be UTF-8: the envelope needs no second check to embed them.
    Text(&'a str),
    /// The exact bytes.
    Bytes(&'a [u8]),
    /// Standard base64 of the exact bytes, not yet decoded: intake decodes it only once the
    /// source is known and its size limit checked.
    Base64(&'a str),
}

impl<'a> RequestBody<'a> {
    /// The body's size in bytes: for base64, what its length decodes to (padded standard
    /// base64, as API Gateway writes it), known without decoding.
    pub fn len(&self) -> usize {
        match self {
            RequestBody::Text(text) => text.len(),
            RequestBody::Bytes(bytes) => bytes.len(),
            RequestBody::Base64(encoded) => {
                let padding = encoded.bytes().rev().take_while(|&b| b == b'=').take(2).count();
                (encoded.len() / 4 * 3 + encoded.len() % 4 * 3 / 4).saturating_sub(padding)
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The exact bytes, decoded from base64 where they came so; `None` when that is not base64.
    pub(crate) fn decoded(self) -> Option<IntakeBody<'a>> {
        Some(match self {
            RequestBody::Text(text) => IntakeBody::Text(text),
            RequestBody::Bytes(bytes) => IntakeBody::Bytes(Cow::Borrowed(bytes)),
            RequestBody::Base64(encoded) => {
                IntakeBody::Decoded { bytes: STANDARD.decode(encoded).ok()?, base64: encoded }
            }
        })
    }
}

impl<'a> From<&'a str> for RequestBody<'a> {
    fn from(text: &'a str) -> Self {
        RequestBody::Text(text)
    }
}

impl<'a> From<&'a [u8]> for RequestBody<'a> {
    fn from(bytes: &'a [u8]) -> Self {
        RequestBody::Bytes(bytes)
    }
}

/// The exact bytes of the body intake decided on: borrowed from the request, or decoded from
/// its base64 (the one copy a base64 body needs).
#[derive(Debug, Clone)]
pub enum IntakeBody<'a> {
    Text(&'a str),
    Bytes(Cow<'a, [u8]>),
    /// Decoded from `base64`, which is therefore canonical standard base64 (the engine refuses
    /// any other): exactly what encoding `bytes` again would write.
    Decoded {
        bytes: Vec<u8>,
        base64: &'a str,
    },
}

/// Equal when the bytes are: text is only what the bytes are known to be.
impl PartialEq for IntakeBody<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.as_ref() == other.as_ref()
    }
}

impl Eq for IntakeBody<'_> {}

impl AsRef<[u8]> for IntakeBody<'_> {
    fn as_ref(&self) -> &[u8] {
        match self {
            IntakeBody::Text(text) => text.as_bytes(),
            IntakeBody::Bytes(bytes) => bytes,
            IntakeBody::Decoded { bytes, .. } => bytes,
        }
    }
}

impl EnvelopeBody for IntakeBody<'_> {
    fn known_text(&self) -> Option<&str> {
        match self {
            IntakeBody::Text(text) => Some(text),
            IntakeBody::Bytes(_) | IntakeBody::Decoded { .. } => None,
        }
    }

    fn known_base64(&self) -> Option<&str> {
        match self {
            IntakeBody::Decoded { base64, .. } => Some(base64),
            IntakeBody::Text(_) | IntakeBody::Bytes(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_size_of_base64_is_known_from_its_length() {
        for len in 0..40 {
            let bytes: Vec<u8> = (0..len).map(|i| i as u8 ^ 0xa5).collect();
            let encoded = STANDARD.encode(&bytes);
            let body = RequestBody::Base64(&encoded);
            assert_eq!(body.len(), len, "{encoded}");
            assert_eq!(body.decoded().unwrap().as_ref(), bytes.as_slice());
        }
        assert!(RequestBody::Base64("not base64 at all!").decoded().is_none());
        // Only canonical base64 decodes, so the text given is what encoding the bytes writes.
        assert!(RequestBody::Base64("e30").decoded().is_none(), "unpadded");
        assert!(RequestBody::Base64("e31=").decoded().is_none(), "trailing bits set");
        assert!(RequestBody::Base64("e3==").decoded().is_none(), "padding where a character belongs");
        // Not base64, so the size is an estimate, never more than the decoded bytes could be.
        assert!(RequestBody::Base64("abcde").len() <= 4);
    }
}
