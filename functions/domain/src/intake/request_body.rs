//! A request's body as the HTTP layer holds it.

use crate::envelope::EnvelopeBody;

/// The exact bytes of a request's body, as text when the HTTP layer already knows they are
/// UTF-8: API Gateway hands over a body it did not base64-encode as a JSON string, which
/// `lambda_http` has checked while reading the event. Carrying that knowledge spares the
/// envelope a second pass over the body before it can become an SQS message (a `String`).
#[derive(Debug, Clone, Copy)]
pub enum RequestBody<'a> {
    Text(&'a str),
    Bytes(&'a [u8]),
}

impl<'a> RequestBody<'a> {
    pub fn as_bytes(&self) -> &'a [u8] {
        match self {
            RequestBody::Text(text) => text.as_bytes(),
            RequestBody::Bytes(bytes) => bytes,
        }
    }
}

/// Equal when the bytes are: text is only what the bytes are known to be.
impl PartialEq for RequestBody<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for RequestBody<'_> {}

impl AsRef<[u8]> for RequestBody<'_> {
    fn as_ref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl EnvelopeBody for RequestBody<'_> {
    fn known_text(&self) -> Option<&str> {
        match self {
            RequestBody::Text(text) => Some(text),
            RequestBody::Bytes(_) => None,
        }
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
