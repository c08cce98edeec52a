//! Large webhooks end to end, through the running local stack (`make test`): signed bodies
//! over the inline threshold go through ingest into the body bucket, through the queue as a
//! reference, through the processor (which reads and checks them) into the events table; and a
//! reference whose object is gone or altered is parked with its reason in the ledger.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use hookline_aws::{DynamoLedger, s3_client};
use hookline_domain::Envelope;
use hookline_domain::body_ref::{BodyRef, body_key, sha256};
use hookline_domain::dead_letter::LedgerStatus;
use hookline_ports::DeadLetterLedger;
use hookline_ports::fakes::sample_envelope;
use hookline_tests::stack::{eventually, post_signed, post_signed_as, required, stored_event};
use hookline_tests::{sdk_config, unique_name};

struct Stack {
    dynamodb: aws_sdk_dynamodb::Client,
    s3: aws_sdk_s3::Client,
    sqs: aws_sdk_sqs::Client,
    bucket: String,
}

async fn stack() -> Stack {
    let sdk = sdk_config().await;
    Stack {
        dynamodb: aws_sdk_dynamodb::Client::new(&sdk),
        s3: s3_client(&sdk),
        sqs: aws_sdk_sqs::Client::new(&sdk),
        bucket: required("HOOKLINE_BODY_BUCKET"),
    }
}

impl Stack {
    async fn object(&self, key: &str) -> Option<Vec<u8>> {
        let object = self.s3.get_object().bucket(&self.bucket).key(key).send().await.ok()?;
        Some(object.body.collect().await.unwrap().to_vec())
    }
}

fn text(item: &HashMap<String, AttributeValue>, name: &str) -> String {
    item[name].as_s().unwrap().clone()
}

/// A JSON body of about `size` bytes with an id of its own.
fn json_body(id: &str, size: usize) -> Vec<u8> {
    let head = format!(r#"{{"id":"{id}","type":"push","commits":["#);
    let mut body = head.into_bytes();
    let mut n = 0;
    while body.len() + 64 < size {
        body.extend_from_slice(format!(r#"{{"sha":"{n:040x}","message":"change {n}"}},"#).as_bytes());
        n += 1;
    }
    body.extend_from_slice(br#"{"sha":"last"}]}"#);
    body
}

/// Sends `body`, waits for its effect, and checks it against the events table and the bucket:
/// stored byte for byte, under the key derived from its event id and SHA-256.
async fn through_the_stack(stack: &Stack, source: &str, content_type: &str, body: &[u8], sender_id: &str) {
    let (status, response) = post_signed_as(source, body, content_type, sender_id);
    assert_eq!(status, 202, "{} bytes: {response}", body.len());
    let event_id =
        serde_json::from_str::<serde_json::Value>(&response).unwrap()["event_id"].as_str().unwrap().to_owned();
    let item = stored_event(&stack.dynamodb, &event_id).await;
    let digest = sha256(body);
    let fingerprint = hookline_domain::idempotency::fingerprint(body);
    assert_eq!(text(&item, "body_sha256"), fingerprint, "{} bytes", body.len());
    let key = body_key(source, &event_id, &digest);
    assert_eq!(stack.object(&key).await.as_deref(), Some(body), "{} bytes: the stored object is the body", body.len());
    match (item.get("body"), item.get("body_ref")) {
        (Some(stored), None) => assert_eq!(stored.as_b().unwrap().as_ref(), body, "{} bytes", body.len()),
        (None, Some(reference)) => {
            let reference = reference.as_m().unwrap();
            assert_eq!(reference["bucket"].as_s().unwrap(), &stack.bucket);
            assert_eq!(reference["key"].as_s().unwrap(), &key);
            assert_eq!(reference["size"].as_n().unwrap(), &body.len().to_string());
            assert_eq!(reference["sha256"].as_s().unwrap(), &fingerprint);
        }
        other => panic!("{} bytes: neither the body nor its reference: {other:?}", body.len()),
    }
}

#[tokio::test]
async fn json_bodies_of_300_kib_1_mib_and_5_mb_take_effect_byte_for_byte() {
    let stack = stack().await;
    for size in [300 * 1024, 1024 * 1024, 5_000_000] {
        let id = unique_name("msg_large");
        through_the_stack(&stack, "acme", "application/json", &json_body(&id, size), &id).await;
    }
}

#[tokio::test]
async fn a_2_mb_binary_body_takes_effect_byte_for_byte() {
    let stack = stack().await;
    // Every byte value, then a marker of its own so that its body hash is new.
    let mut body: Vec<u8> = (0..2_000_000u32).map(|i| (i % 251) as u8).collect();
    body.extend_from_slice(unique_name("binary").as_bytes());
    through_the_stack(&stack, "files", "application/octet-stream", &body, "unused").await;
}

#[tokio::test]
async fn a_body_over_what_one_invocation_carries_is_413_and_stores_nothing() {
    let stack = stack().await;
    let id = unique_name("msg_huge");
    let body = json_body(&id, 6_300_000);
    let (status, response) = post_signed("acme", &body, &id);
    assert_eq!(status, 413, "{response}");
    let key = body_key("acme", &format!("acme:{id}"), &sha256(&body));
    assert_eq!(stack.object(&key).await, None);
}

/// A reference envelope whose object is `object` (absent when `None`), sent to the main queue
/// as ingest would have; waits until the ledger holds it PARKED with `expected_class`, no effect.
async fn parked_reference(stack: &Stack, object: Option<&[u8]>, expected_class: &str) {
    let body = json_body("unused", 4096);
    let digest = sha256(&body);
    let event_id = format!("acme:{}", unique_name("msg_gone"));
    let key = body_key("acme", &event_id, &digest);
    if let Some(object) = object {
        stack.s3.put_object().bucket(&stack.bucket).key(&key).body(object.to_vec().into()).send().await.unwrap();
    }
    let mut envelope: Envelope = sample_envelope(&event_id, b"");
    envelope.source = "acme".into();
    envelope.stored_body = Some(BodyRef::new(&stack.bucket, key, body.len(), &digest));
    let message = envelope.to_queue_message();
    let mut send = stack.sqs.send_message().queue_url(required("HOOKLINE_QUEUE_URL")).message_body(message.body);
    for (name, value) in message.attributes {
        send = send.message_attributes(
            name,
            aws_sdk_sqs::types::MessageAttributeValue::builder()
                .data_type("String")
                .string_value(value)
                .build()
                .unwrap(),
        );
    }
    send.send().await.unwrap();

    let ledger = DynamoLedger::new(stack.dynamodb.clone(), required("HOOKLINE_LEDGER_TABLE"));
    let record = eventually(&format!("{event_id} parked"), Duration::from_secs(120), || async {
        ledger.get(&event_id).await.unwrap().filter(|r| r.latest.status == LedgerStatus::Parked)
    })
    .await;
    let failure = record.latest.failure.expect("the reason is recorded");
    assert_eq!(failure.class, expected_class, "{failure:?}");
    assert!(failure.message.contains(&record_key(&record.latest.envelope)), "{failure:?}");
    let events_table = required("HOOKLINE_EVENTS_TABLE");
    assert!(hookline_tests::stack::item(&stack.dynamodb, &events_table, &event_id).await.is_none(), "no effect");
}

fn record_key(envelope: &str) -> String {
    Envelope::from_json(envelope).unwrap().stored_body.expect("the ledger keeps the reference").key
}

#[tokio::test]
async fn a_reference_whose_object_is_gone_is_parked_with_its_reason() {
    let stack = stack().await;
    parked_reference(&stack, None, "StoredBodyMissing").await;
}

#[tokio::test]
async fn a_reference_whose_object_was_altered_is_parked_with_its_reason() {
    let stack = stack().await;
    parked_reference(&stack, Some(b"not the body the reference names"), "StoredBodyCorrupt").await;
}
