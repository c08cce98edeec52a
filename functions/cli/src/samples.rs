//! The sample events in `events/ingest/`, generated from `manifest.json` so they can be
//! re-signed at any time: the timestamped schemes refuse a signature older than their
//! tolerance, so samples meant for a running stack are regenerated with the current time.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use hookline_domain::SourcesConfig;
use hookline_domain::signature::{Scheme, SigningKey};
use serde::Deserialize;
use serde_json::Value;

use crate::apigw_event::{HttpRequest, http_api_event};
use crate::signer::{SignRequest, sign_request, sign_with};

/// `events/ingest/manifest.json`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// The signing time of the checked-in samples (unit tests verify at this time).
    pub signed_at: i64,
    /// The sources configuration the samples are signed for, relative to the repository root.
    pub config: String,
    pub samples: Vec<Sample>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sample {
    pub file: String,
    pub description: String,
    /// The configured source whose secret signs the request.
    pub source: String,
    /// Defaults to `/webhooks/{source}`.
    pub path: Option<String>,
    #[serde(default = "post")]
    pub method: String,
    /// The raw query string (a `GET` endpoint check's).
    #[serde(default)]
    pub query: String,
    /// The body: inline text, a file beside the manifest, or a repeated text.
    pub body: Option<String>,
    pub body_file: Option<String>,
    pub body_repeat: Option<Repeat>,
    pub content_type: String,
    /// Headers added after signing.
    #[serde(default)]
    pub headers: Vec<(String, String)>,
    /// Signed headers renamed after signing, `[from, to]` (a sender's branded names for a
    /// scheme's headers, e.g. Svix's `svix-id` for `webhook-id`).
    #[serde(default)]
    pub rename_headers: Vec<(String, String)>,
    #[serde(default = "default_event_id")]
    pub event_id: String,
    #[serde(default)]
    pub key_index: usize,
    /// Deliver the body base64-encoded, as API Gateway does for binary media types.
    #[serde(default)]
    pub base64: bool,
    /// Send no signature headers at all.
    #[serde(default)]
    pub unsigned: bool,
    /// Sign with this secret instead of the source's (a sender using a wrong or revoked secret).
    pub wrong_secret: Option<String>,
    /// Sign with the private key of this 32-byte seed (32 ASCII characters: an Ed25519 seed,
    /// or SendGrid's P-256 scalar), for a source configured with the public key (Discord,
    /// Standard Webhooks `v1a`, SendGrid).
    pub signing_seed: Option<String>,
    /// Change the body after signing.
    pub tampered_body: Option<String>,
    /// Seconds added to the signing time (negative: a stale signature).
    #[serde(default)]
    pub signed_at_offset: i64,
    /// The documented HTTP status this sample gets.
    pub expect: u16,
    /// The exact answer's body, where a sender checks it (a handshake's).
    pub expect_body: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Repeat {
    pub text: String,
    pub count: usize,
}

fn post() -> String {
    "POST".into()
}

fn default_event_id() -> String {
    "sample-event-1".into()
}

impl Manifest {
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
    }
}

impl Sample {
    fn body(&self, dir: &Path) -> anyhow::Result<Vec<u8>> {
        Ok(match (&self.body, &self.body_file, &self.body_repeat) {
            (Some(text), None, None) => text.clone().into_bytes(),
            (None, Some(file), None) => {
                std::fs::read(dir.join(file)).with_context(|| format!("reading body file {file}"))?
            }
            (None, None, Some(repeat)) => repeat.text.repeat(repeat.count).into_bytes(),
            (None, None, None) => Vec::new(),
            _ => bail!("sample {}: give at most one of body, body_file, body_repeat", self.file),
        })
    }

    /// The API Gateway event for this sample, signed at `signed_at + signed_at_offset`.
    pub fn event(&self, config: &SourcesConfig, dir: &Path, signed_at: i64) -> anyhow::Result<Value> {
        let now_unix = signed_at + self.signed_at_offset;
        let body = with_signing_time(self.body(dir)?, now_unix);
        let request = SignRequest {
            source: &self.source,
            body: &body,
            content_type: &self.content_type,
            now_unix,
            key_index: self.key_index,
            event_id: &self.event_id,
        };
        let own_key = match (&self.wrong_secret, &self.signing_seed) {
            (Some(secret), None) => {
                let scheme = &config.get(&self.source).context("unknown sample source")?.scheme;
                Some(SigningKey::from_config(scheme, secret)?)
            }
            (None, Some(seed)) => {
                let seed: [u8; 32] = seed.as_bytes().try_into().context("signing_seed is not 32 bytes")?;
                let source = config.get(&self.source).context("unknown sample source")?;
                Some(match source.scheme {
                    Scheme::SendGrid => {
                        SigningKey::p256_from_scalar(&seed).context("signing_seed is no P-256 scalar")?
                    }
                    _ => SigningKey::ed25519_from_seed(&seed),
                })
            }
            (None, None) => None,
            (Some(_), Some(_)) => bail!("sample {}: give at most one of wrong_secret, signing_seed", self.file),
        };
        let signed = match own_key {
            Some(key) => sign_with(config, &request, &key)?,
            None => sign_request(config, &request)?,
        };
        let (mut headers, body) = (signed.headers, signed.body);
        if self.unsigned {
            headers.truncate(1);
        }
        for (from, to) in &self.rename_headers {
            let signed = headers.iter_mut().find(|(name, _)| name.eq_ignore_ascii_case(from));
            signed.with_context(|| format!("sample {}: no signed header {from} to rename", self.file))?.0 = to.clone();
        }
        headers.push(("user-agent".into(), format!("hookline-sample/{}", self.source)));
        headers.extend(self.headers.iter().cloned());
        let body = match &self.tampered_body {
            Some(tampered) => with_signing_time(tampered.clone().into_bytes(), now_unix),
            None => body,
        };
        let path = self.path.clone().unwrap_or_else(|| format!("/webhooks/{}", self.source));
        Ok(http_api_event(&HttpRequest {
            method: &self.method,
            path: &path,
            headers: &headers,
            body: &body,
            base64: self.base64,
            query: &self.query,
            time_epoch_millis: now_unix * 1000,
        }))
    }
}

/// What a body says for "the time of signing, in milliseconds": a sender that signs a time
/// inside the body (Linear's `webhookTimestamp`) writes the time it signs at.
pub const SIGNED_AT_MS: &str = "__SIGNED_AT_MS__";
/// The same in seconds (a tampered Mailgun body carries the time its signature was made at).
pub const SIGNED_AT: &str = "__SIGNED_AT__";

fn with_signing_time(body: Vec<u8>, now_unix: i64) -> Vec<u8> {
    match String::from_utf8(body) {
        Ok(text) if text.contains(SIGNED_AT_MS) || text.contains(SIGNED_AT) => text
            .replace(SIGNED_AT_MS, &(now_unix * 1000).to_string())
            .replace(SIGNED_AT, &now_unix.to_string())
            .into_bytes(),
        Ok(text) => text.into_bytes(),
        Err(not_text) => not_text.into_bytes(),
    }
}

/// Writes every sample of the manifest at `manifest_path` into `out_dir`, signed at
/// `signed_at` (the manifest's own time when `None`). `repo_root` resolves the manifest's
/// configuration path. Returns the files written.
pub fn generate(
    manifest_path: &Path,
    repo_root: &Path,
    out_dir: &Path,
    signed_at: Option<i64>,
) -> anyhow::Result<Vec<PathBuf>> {
    let manifest = Manifest::load(manifest_path)?;
    let config_path = repo_root.join(&manifest.config);
    let config = SourcesConfig::from_json(
        &std::fs::read(&config_path).with_context(|| format!("reading {}", config_path.display()))?,
    )?;
    let dir = manifest_path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(out_dir)?;
    let mut written = Vec::new();
    for sample in &manifest.samples {
        let event = sample.event(&config, dir, signed_at.unwrap_or(manifest.signed_at))?;
        let path = out_dir.join(&sample.file);
        std::fs::write(&path, serde_json::to_string_pretty(&event)? + "\n")?;
        written.push(path);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo_root() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
    }

    /// The checked-in samples are exactly what the manifest generates: edit the manifest and
    /// run `make samples`, never the event files by hand.
    #[test]
    fn checked_in_samples_match_the_manifest() {
        let root = repo_root();
        let out = std::env::temp_dir().join(format!("hookline-samples-{}", std::process::id()));
        let manifest = root.join("events/ingest/manifest.json");
        let written = generate(&manifest, &root, &out, None).unwrap();
        assert!(written.len() >= 15, "{written:?}");
        for path in written {
            let name = path.file_name().unwrap();
            let expected = std::fs::read_to_string(root.join("events/ingest").join(name))
                .unwrap_or_else(|_| panic!("events/ingest/{} is missing: run `make samples`", name.display()));
            assert_eq!(
                std::fs::read_to_string(&path).unwrap(),
                expected,
                "{} is stale: run `make samples`",
                name.display()
            );
        }
        std::fs::remove_dir_all(out).ok();
    }

    #[test]
    fn every_documented_status_is_covered() {
        let manifest = Manifest::load(&repo_root().join("events/ingest/manifest.json")).unwrap();
        let statuses: std::collections::BTreeSet<u16> = manifest.samples.iter().map(|s| s.expect).collect();
        for status in [200, 202, 204, 400, 401, 403, 404, 405, 413, 415] {
            assert!(statuses.contains(&status), "no sample answers {status}");
        }
    }
}
