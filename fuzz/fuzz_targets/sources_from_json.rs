//! `SourcesConfig::from_json` of any bytes: a typed error or a configuration whose limits
//! hold, never a panic.
#![no_main]

use hookline_domain::SourcesConfig;
use hookline_domain::source::MAX_BODY_BYTES_CEILING;
use hookline_domain::sources::{MAX_SECRETS_PER_SOURCE, MAX_TOLERANCE_SECONDS};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(config) = SourcesConfig::from_json(data) {
        for source in config.iter() {
            assert!((1..=MAX_SECRETS_PER_SOURCE).contains(&source.keys.len()));
            assert!(source.keys.iter().all(|k| !k.as_bytes().is_empty()));
            assert!((1..=MAX_TOLERANCE_SECONDS).contains(&source.tolerance_seconds));
            assert!((1..=MAX_BODY_BYTES_CEILING).contains(&source.max_body_bytes));
        }
    }
});
