//! Signing a payload the way a configured source's sender would.

use hookline_domain::SourcesConfig;
use hookline_domain::signature::sign;

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

#[derive(Debug, thiserror::Error)]
pub enum SignError {
    #[error("source {0:?} is not in the configuration")]
    UnknownSource(String),
    #[error("source {source_name:?} has {available} secret(s); there is no secret #{index}")]
    NoSuchKey { source_name: String, index: usize, available: usize },
}

/// The headers to send, in order: content type, the scheme's signature headers, then the
/// scheme's event id header if it has one.
pub fn signed_headers(config: &SourcesConfig, request: &SignRequest<'_>) -> Result<Vec<(String, String)>, SignError> {
    let source = config.get(request.source).ok_or_else(|| SignError::UnknownSource(request.source.to_owned()))?;
    let key = source.keys.get(request.key_index).ok_or_else(|| SignError::NoSuchKey {
        source_name: request.source.to_owned(),
        index: request.key_index,
        available: source.keys.len(),
    })?;
    let mut headers = vec![("content-type".to_owned(), request.content_type.to_owned())];
    for (name, value) in sign(&source.scheme, key, request.body, request.now_unix, request.event_id) {
        headers.push((name.as_str().to_owned(), value.to_str().unwrap_or_default().to_owned()));
    }
    if let Some(name) = source.unsigned_id_header() {
        headers.push((name.to_owned(), request.event_id.to_owned()));
    }
    Ok(headers)
}
