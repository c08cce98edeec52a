//! Shared by the fuzz targets: the input format and the configuration they run against.
//!
//! An input reads like an HTTP request without the version: an optional first line
//! `METHOD source` (intake only), then `name: value` header lines, an empty line, and the
//! body as raw bytes. Header lines that `http` refuses are skipped, so every byte string is
//! a valid input; `fuzz/run.sh` turns the signed samples in `events/ingest/` into seeds.

#![allow(dead_code)]

use hookline_domain::SourcesConfig;
use http::{HeaderMap, HeaderName, HeaderValue};

pub const LOCAL_SOURCES: &str = include_str!("../../infra/local/sources.json");
/// The samples in `events/ingest/` are signed at this instant (2026-11-28T12:00:00Z).
pub const SAMPLE_NOW_MILLIS: i64 = 1_795_867_200_000;

pub fn config() -> SourcesConfig {
    SourcesConfig::from_json(LOCAL_SOURCES.as_bytes()).expect("the local sources document is valid")
}

/// Splits `data` into its header lines and body at the first empty line.
pub fn split(data: &[u8]) -> (Vec<&[u8]>, &[u8]) {
    let end = data.windows(2).position(|w| w == b"\n\n");
    let (head, body) = match end {
        Some(at) => (&data[..at], &data[at + 2..]),
        None => (data, &b""[..]),
    };
    (head.split(|b| *b == b'\n').collect(), body)
}

/// The header map of `lines`, keeping repeated names (appended) and skipping bad lines.
pub fn headers<'a>(lines: impl IntoIterator<Item = &'a [u8]>) -> HeaderMap {
    let mut map = HeaderMap::new();
    for line in lines {
        let Some(colon) = line.iter().position(|b| *b == b':') else { continue };
        let name = &line[..colon];
        let value = line[colon + 1..].strip_prefix(b" ").unwrap_or(&line[colon + 1..]);
        if let (Ok(name), Ok(value)) = (HeaderName::from_bytes(name), HeaderValue::from_bytes(value)) {
            map.append(name, value);
        }
    }
    map
}

/// Characters SQS accepts in a message body or attribute value.
pub fn sqs_accepts(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | ' '..='\u{d7ff}' | '\u{e000}'..='\u{fffd}' | '\u{10000}'..)
}

/// Verifies `data` (headers and body) as a request to the local source `name`, at the
/// samples' instant; an `Ok` must name one of the source's keys.
pub fn verify_source(name: &str, data: &[u8]) {
    let config = config();
    let source = config.get(name).expect("a local source");
    let (lines, body) = split(data);
    let headers = headers(lines);
    let result = hookline_domain::signature::verify(
        &source.scheme,
        &hookline_domain::signature::VerifyRequest {
            headers: &headers,
            body,
            keys: &source.keys,
            tolerance_seconds: source.tolerance_seconds,
            now_unix: SAMPLE_NOW_MILLIS / 1000,
        },
    );
    if let Ok(verified) = result {
        assert!(verified.key_index < source.keys.len());
        assert_eq!(verified.signed_at.is_some(), source.scheme.is_timestamped());
    }
}
