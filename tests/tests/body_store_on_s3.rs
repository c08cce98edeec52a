//! The S3 body store against the emulator's S3: what is put is read back byte for byte,
//! and a missing or altered object is reported as such, never as a body.

use aws_sdk_s3::primitives::ByteStream;
use hookline_aws::{S3BodyStore, s3_client};
use hookline_domain::body_ref::{BodyRef, body_key, sha256};
use hookline_ports::{BodyStore, BodyStoreError};
use hookline_tests::{create_bucket, sdk_config, unique_name};

async fn store() -> (aws_sdk_s3::Client, S3BodyStore) {
    let client = s3_client(&sdk_config().await);
    let bucket = create_bucket(&client, "hookline-bodies").await;
    (client.clone(), S3BodyStore::new(client, bucket))
}

#[tokio::test]
async fn a_large_body_round_trips_byte_for_byte_under_its_derived_key() {
    let (client, store) = store().await;
    // 5 MB of every byte value: not text, not JSON.
    let body: Vec<u8> = (0..5_000_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8).collect();
    let digest = sha256(&body);
    let key = body_key("github", "github:sha256:ab", &digest);
    let reference = store.put(&key, body.clone(), &digest).await.unwrap();
    assert_eq!(reference, BodyRef::new(store.bucket(), key.as_str(), body.len(), &digest));
    assert_eq!(store.get(&reference).await.unwrap(), body);
    // Stored with its checksum, as S3 keeps it for integrity checks of its own.
    let head = client
        .head_object()
        .bucket(store.bucket())
        .key(&key)
        .checksum_mode(aws_sdk_s3::types::ChecksumMode::Enabled)
        .send()
        .await
        .unwrap();
    assert_eq!(head.content_length(), Some(body.len() as i64));
    use base64::Engine;
    let expected = base64::engine::general_purpose::STANDARD.encode(digest);
    assert_eq!(head.checksum_sha256(), Some(expected.as_str()), "{head:?}");
}

#[tokio::test]
async fn a_missing_or_altered_object_is_a_permanent_failure_with_its_reason() {
    let (client, store) = store().await;
    let body = b"{\"id\":\"evt_1\"}".to_vec();
    let digest = sha256(&body);
    let reference = store.put("bodies/s/a/b", body.clone(), &digest).await.unwrap();

    // Overwritten behind the store's back (another body under the same key).
    client
        .put_object()
        .bucket(store.bucket())
        .key("bodies/s/a/b")
        .body(ByteStream::from_static(b"{}"))
        .send()
        .await
        .unwrap();
    let corrupt = store.get(&reference).await.unwrap_err();
    assert!(matches!(corrupt, BodyStoreError::Corrupt { .. }) && !corrupt.retryable(), "{corrupt}");

    let gone = BodyRef { key: "bodies/s/never/stored".into(), ..reference };
    let missing = store.get(&gone).await.unwrap_err();
    assert!(matches!(missing, BodyStoreError::Missing { .. }) && !missing.retryable(), "{missing}");
}

#[tokio::test]
async fn a_bucket_that_does_not_exist_is_unavailable_not_missing() {
    let client = s3_client(&sdk_config().await);
    let store = S3BodyStore::new(client, unique_name("hookline-no-such-bucket").to_ascii_lowercase());
    let body = b"x".to_vec();
    let error = store.put("bodies/k", body.clone(), &sha256(&body)).await.unwrap_err();
    assert!(error.retryable(), "{error}");
}
