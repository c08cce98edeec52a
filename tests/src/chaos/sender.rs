//! The chaos run's webhook sender: signs each attempt afresh (as Stripe, GitHub and the
//! Standard Webhooks senders do), POSTs it, and on a 503 or a transport error waits and
//! re-sends, as real senders do, until it gets an answer that is not "try again" (a 2xx, or a
//! 4xx other than 408).

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use hookline_cli::signer::{SignRequest, sign_request};
use hookline_domain::SourcesConfig;
use hookline_domain::signature::{Scheme, SigningKey};

use super::http1::{PostError, post};
use super::plan::{Delivery, LOCAL_DISCORD_SEED, LOCAL_SENDGRID_SCALAR, PlannedEvent};

/// How a delivery ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivered {
    /// 202, with the event id the ingest function assigned.
    Accepted { event_id: String },
    /// A deliberate 4xx: final, a sender does not retry it.
    Rejected { status: u16 },
    /// Still 503 or unreachable when the sender gave up.
    GaveUp,
}

/// What every sender saw, request by request.
#[derive(Debug, Default)]
pub struct SenderStats {
    pub requests: AtomicUsize,
    pub accepted: AtomicUsize,
    pub unavailable: AtomicUsize,
    /// 408 from the function host: the invocation outlived the function's timeout (API
    /// Gateway would answer 503/504); re-sent like a 503.
    pub timed_out: AtomicUsize,
    pub transport_errors: AtomicUsize,
    pub rejected: Mutex<BTreeMap<u16, usize>>,
    pub other: Mutex<BTreeMap<u16, usize>>,
}

impl SenderStats {
    pub fn rejected_total(&self) -> usize {
        self.rejected.lock().unwrap().values().sum()
    }
}

pub struct Sender {
    /// `.../webhooks`; the source is appended.
    pub base_url: String,
    pub config: SourcesConfig,
    pub stats: SenderStats,
    /// How long one delivery keeps retrying.
    pub give_up_after: Duration,
    pub request_timeout: Duration,
    /// The longest pause between attempts (a 503's Retry-After is honoured up to this).
    pub max_pause: Duration,
}

impl Sender {
    pub async fn deliver(&self, event: &PlannedEvent, delivery: Delivery) -> Delivered {
        let body = event.body();
        let started = Instant::now();
        loop {
            // A Mailgun body carries its signing time: signed at the plan's time, so that every
            // delivery of an event is the same bytes (as a sender's retries of one request are).
            let signs_in_body = self.config.get(event.source).is_some_and(|s| s.scheme.signs_inside_body());
            let now_unix = if signs_in_body { event.planned_at_unix } else { crate::stack::now_unix() };
            let signed = sign_request(
                &self.config,
                &SignRequest {
                    source: event.source,
                    body: &body,
                    content_type: "application/json",
                    now_unix,
                    key_index: 0,
                    event_id: &event.sender_id,
                },
            )
            .expect("every planned source is configured");
            let (mut headers, mut sent) = (signed.headers, signed.body);
            if delivery == Delivery::Replayed
                && let Some(id_header) = self
                    .config
                    .get(event.source)
                    .filter(|s| s.event_id_header().is_none())
                    .and_then(|s| s.unsigned_id_header())
            {
                headers.iter_mut().filter(|(name, _)| name == id_header).for_each(|(_, v)| v.push_str("-replayed"));
            }
            if delivery == Delivery::Forged {
                if self.config.get(event.source).is_some_and(|s| s.scheme == Scheme::GitLab) {
                    // GitLab signs nothing: the forgery is a token that is not the secret.
                    headers.iter_mut().filter(|(name, _)| name == "x-gitlab-token").for_each(|(_, v)| v.push('x'));
                } else if signs_in_body {
                    // Mailgun signs only its timestamp and token: the forgery is another token.
                    let token = format!("{}-token", event.sender_id);
                    let forged = String::from_utf8(sent).expect("a JSON body").replace(&token, &format!("{token}x"));
                    sent = forged.into_bytes();
                } else {
                    // Same signature, one byte more: valid JSON, but not what was signed.
                    sent.push(b' ');
                }
            }
            self.stats.requests.fetch_add(1, Ordering::Relaxed);
            let url = format!("{}/{}", self.base_url, event.source);
            let pause = match post(&url, &headers, &sent, self.request_timeout).await {
                Ok(answer) if answer.status == 202 => {
                    self.stats.accepted.fetch_add(1, Ordering::Relaxed);
                    let value: serde_json::Value = serde_json::from_str(&answer.body).expect("a JSON 202 body");
                    let event_id = value["event_id"].as_str().expect("202 carries the event id").to_owned();
                    return Delivered::Accepted { event_id };
                }
                Ok(answer) if answer.status == 408 => {
                    self.stats.timed_out.fetch_add(1, Ordering::Relaxed);
                    self.max_pause
                }
                Ok(answer) if (400..500).contains(&answer.status) => {
                    *self.stats.rejected.lock().unwrap().entry(answer.status).or_default() += 1;
                    return Delivered::Rejected { status: answer.status };
                }
                Ok(answer) => {
                    if answer.status == 503 {
                        self.stats.unavailable.fetch_add(1, Ordering::Relaxed);
                    } else {
                        *self.stats.other.lock().unwrap().entry(answer.status).or_default() += 1;
                    }
                    answer.retry_after_seconds.map_or(self.max_pause, Duration::from_secs).min(self.max_pause)
                }
                Err(PostError::Url(url)) => panic!("bad ingest URL {url}"),
                Err(_) => {
                    self.stats.transport_errors.fetch_add(1, Ordering::Relaxed);
                    self.max_pause
                }
            };
            if started.elapsed() > self.give_up_after {
                return Delivered::GaveUp;
            }
            tokio::time::sleep(pause.mul_f64(0.5 + fastrand::f64() / 2.0)).await;
        }
    }
}

/// The sources configuration as the senders hold it: each source's keys, but the private key
/// where the receiver holds the public one (Discord, SendGrid).
pub fn senders_config(sources_json: &str) -> SourcesConfig {
    let config = SourcesConfig::from_json(sources_json.as_bytes()).expect("the local sources document is valid");
    SourcesConfig::from_sources(config.iter().cloned().map(|mut source| {
        match source.scheme {
            Scheme::Discord => source.keys = vec![SigningKey::ed25519_from_seed(LOCAL_DISCORD_SEED)],
            Scheme::SendGrid => {
                source.keys = vec![SigningKey::p256_from_scalar(LOCAL_SENDGRID_SCALAR).expect("a valid scalar")];
            }
            _ => {}
        }
        source
    }))
}
