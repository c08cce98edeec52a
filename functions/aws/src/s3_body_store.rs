//! [`BodyStore`] over Amazon S3: `PutObject` with the body's SHA-256 as its checksum (S3 refuses
//! a body that does not match it), `GetObject` checked against the reference's size and SHA-256.

use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_s3::operation::get_object::GetObjectError;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::ChecksumAlgorithm;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hookline_domain::body_ref::BodyRef;
use hookline_ports::{BodyStore, BodyStoreError};

/// An S3 client for `config`: path-style addressing when an endpoint URL is configured
/// (`AWS_ENDPOINT_URL`: S3-compatible endpoints and emulators take the bucket in the path), AWS's
/// virtual-hosted style otherwise.
pub fn s3_client(config: &aws_types::SdkConfig) -> aws_sdk_s3::Client {
    let s3 = aws_sdk_s3::config::Builder::from(config).force_path_style(config.endpoint_url().is_some()).build();
    aws_sdk_s3::Client::from_conf(s3)
}

#[derive(Debug, Clone)]
pub struct S3BodyStore {
    client: aws_sdk_s3::Client,
    bucket: String,
}

impl S3BodyStore {
    pub fn new(client: aws_sdk_s3::Client, bucket: impl Into<String>) -> Self {
        S3BodyStore { client, bucket: bucket.into() }
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }
}

impl BodyStore for S3BodyStore {
    async fn put(&self, key: &str, body: Vec<u8>, sha256: &[u8; 32]) -> Result<BodyRef, BodyStoreError> {
        let size = body.len();
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .checksum_algorithm(ChecksumAlgorithm::Sha256)
            .checksum_sha256(STANDARD.encode(sha256))
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(|error| classify(error, key))?;
        Ok(BodyRef::new(self.bucket.clone(), key, size, sha256))
    }

    async fn get(&self, reference: &BodyRef) -> Result<Vec<u8>, BodyStoreError> {
        let output =
            self.client.get_object().bucket(&reference.bucket).key(&reference.key).send().await.map_err(|error| {
                match &error {
                    SdkError::ServiceError(service) if matches!(service.err(), GetObjectError::NoSuchKey(_)) => {
                        BodyStoreError::Missing { key: reference.key.clone() }
                    }
                    _ => classify(error, &reference.key),
                }
            })?;
        let body = output.body.collect().await.map_err(|error| BodyStoreError::Unavailable {
            kind: "interrupted",
            message: format!("reading {}: {error}", reference.key),
        })?;
        let body = body.to_vec();
        if !reference.matches(&body) {
            return Err(BodyStoreError::Corrupt { key: reference.key.clone() });
        }
        Ok(body)
    }
}

fn classify<E>(error: SdkError<E, aws_sdk_s3::config::http::HttpResponse>, key: &str) -> BodyStoreError
where
    E: std::error::Error + ProvideErrorMetadata + Send + Sync + 'static,
{
    let kind = match &error {
        SdkError::TimeoutError(_) => "timeout",
        SdkError::DispatchFailure(_) => "unreachable",
        SdkError::ServiceError(service) => match service.err().code() {
            Some("BadDigest" | "InvalidDigest" | "XAmzContentSHA256Mismatch") => {
                return BodyStoreError::Corrupt { key: key.to_owned() };
            }
            Some("SlowDown" | "ServiceUnavailable" | "InternalError" | "RequestTimeout") => "throttled",
            Some("AccessDenied") => "access_denied",
            _ => "rejected",
        },
        _ => "client",
    };
    BodyStoreError::Unavailable { kind, message: format!("{key}: {}", DisplayErrorContext(&error)) }
}
