//! What the chaos run sends: distinct events across every source and scheme, with their
//! faults, duplicates and forged deliveries, decided up front and deterministically from the
//! event's index, so a run's mix is known before anything is sent.

/// The sources of `infra/local/sources.json`: one of every signature scheme.
pub const SOURCES: [&str; 19] = [
    "stripe", "github", "shopify", "slack", "acme", "partner", "intercom", "paddle", "zoom", "twitch", "linear",
    "gitlab", "square", "discord", "sendgrid", "meta", "twilio", "hubspot", "mailgun",
];

/// The P-256 scalar of the key the local `sendgrid` source's public key belongs to.
pub const LOCAL_SENDGRID_SCALAR: &[u8; 32] = b"hookline-local-sendgrid-scalar01";

/// The seed of the Ed25519 key the local `discord` source's public key (infra/local/sources.json)
/// belongs to: the chaos run signs as Discord with it.
pub const LOCAL_DISCORD_SEED: &[u8; 32] = b"hookline-local-discord-seed-0001";

/// How an event's handler behaves (through the processor's payload-marker fault injection).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    None,
    /// Fails transiently on attempts 1..=n, then succeeds.
    Transient(u32),
    /// Fails permanently, every time: must end parked, with its ledger record, and no effect.
    Poison,
}

/// How a copy of an event is delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// The first delivery.
    Original,
    /// A redelivery sent at the same moment as the original (a sender retrying on a short timeout).
    Concurrent,
    /// A redelivery sent later, after the original was accepted.
    Later,
    /// A captured delivery replayed later by someone else: the same signed bytes with a fresh
    /// value in the scheme's unsigned delivery id header where the source deduplicates by body
    /// (for any other source, the same request again). Must be acknowledged as the same event
    /// and never take effect twice.
    Replayed,
    /// A request with the right headers but a body that is not what was signed (for a scheme
    /// that signs nothing, GitLab's token: a token that is not the secret): must get 401 and
    /// never take effect.
    Forged,
}

/// One distinct event and how it is delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedEvent {
    pub index: usize,
    pub source: &'static str,
    /// The sender's own id (header or body, by scheme); unique per run.
    pub sender_id: String,
    pub fault: Fault,
    /// When the plan was made (Unix seconds): the time a body that signs one carries.
    pub planned_at_unix: i64,
    /// Every delivery of this event, the original first.
    pub deliveries: Vec<Delivery>,
    /// Bytes of padding that make the body large enough to travel through the body bucket
    /// (0 for most events).
    pub padding: usize,
}

/// The sizes of the large bodies, in turn: over the inline threshold (256 KiB), over what the
/// events table keeps inline (350,000 bytes), and over one SQS message.
pub const LARGE_PADDINGS: [usize; 3] = [300 * 1024, 600 * 1024, 1024 * 1024 + 1];

impl PlannedEvent {
    /// The exact bytes the sender signs and sends (the same for every delivery, as a sender's
    /// retries are).
    pub fn body(&self) -> Vec<u8> {
        let fault = match self.fault {
            Fault::None => String::new(),
            Fault::Transient(n) => format!(r#","hookline_fault":"transient:{n}""#),
            Fault::Poison => r#","hookline_fault":"poison""#.to_owned(),
        };
        // The padding goes with the fault marker, at the end of the object.
        let fault = if self.padding > 0 { format!(r#"{fault},"pad":"{}""#, "x".repeat(self.padding)) } else { fault };
        let id = &self.sender_id;
        let n = self.index;
        match self.source {
            "stripe" => format!(r#"{{"id":"{id}","object":"event","type":"invoice.paid","n":{n}{fault}}}"#),
            "slack" => format!(r#"{{"type":"event_callback","event_id":"{id}","team_id":"T1","n":{n}{fault}}}"#),
            // A Discord event, never its PING (type 0).
            "discord" => format!(
                r#"{{"version":1,"type":1,"id":"{id}","event":{{"type":"ENTITLEMENT_CREATE"}},"n":{n}{fault}}}"#
            ),
            "paddle" | "square" => format!(r#"{{"event_id":"{id}","event_type":"order.created","n":{n}{fault}}}"#),
            // Linear signs a time inside the body: the plan's (the local source's tolerance
            // covers a run).
            "linear" => format!(
                r#"{{"action":"create","type":"Issue","id":"{id}","webhookTimestamp":{},"n":{n}{fault}}}"#,
                self.planned_at_unix * 1000
            ),
            // Mailgun signs inside the body: the sender writes the signature object's timestamp
            // and signature, at the plan's time (see `Sender::deliver`).
            "mailgun" => format!(
                r#"{{"signature":{{"token":"{id}-token","timestamp":"0","signature":""}},"event-data":{{"event":"delivered","id":"{id}"}},"n":{n}{fault}}}"#
            ),
            // Twilio's bodies are JSON here too (the fault marker is JSON): without a bodySHA256
            // in the URL the whole text is one form parameter of the signed string.
            _ => format!(r#"{{"id":"{id}","type":"order.created","n":{n}{fault}}}"#),
        }
        .into_bytes()
    }

    pub fn is_good(&self) -> bool {
        self.fault != Fault::Poison
    }
}

/// The events of a run of `count` distinct events. About 5% fail transiently (1, 2 or 4
/// times: 4 outlasts a MaxReceiveCount of 3, so those go through the dead-letter queue and
/// are replayed), about 1% are poison, about 24% are delivered more than once (half of
/// those concurrently), and about 1% have a forged extra delivery.
pub fn plan(run_id: &str, planned_at_unix: i64, count: usize) -> Vec<PlannedEvent> {
    (0..count)
        .map(|index| {
            let fault = match (index % 100, index % 20) {
                (37, _) => Fault::Poison,
                (_, 3) => Fault::Transient([1, 2, 4][(index / 20) % 3]),
                _ => Fault::None,
            };
            let mut deliveries = vec![Delivery::Original];
            if index % 5 == 1 {
                deliveries.push(if index % 10 == 1 { Delivery::Concurrent } else { Delivery::Later });
            }
            if index % 50 == 7 {
                deliveries.extend([Delivery::Later, Delivery::Concurrent]);
            }
            if index % 25 == 13 {
                deliveries.push(Delivery::Replayed);
            }
            // Shifted every hundred events so that the 1-in-100 kinds cover every source.
            let source = SOURCES[(index + index / 100) % SOURCES.len()];
            if index % 100 == 59 {
                deliveries.push(Delivery::Forged);
            }
            // About 2% large, every one of them also delivered twice and some failing
            // transiently; never for `partner`, whose source takes at most 64 KiB.
            let padding = if (index % 50 == 11 || index % 200 == 63) && source != "partner" {
                LARGE_PADDINGS[(index / 50) % LARGE_PADDINGS.len()]
            } else {
                0
            };
            PlannedEvent {
                index,
                source,
                sender_id: format!("chaos-{run_id}-{index}"),
                fault,
                planned_at_unix,
                deliveries,
                padding,
            }
        })
        .collect()
}

/// Counts over a plan, for the summary and for checking the mix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PlanCounts {
    pub events: usize,
    pub good: usize,
    pub poison: usize,
    pub transient: usize,
    /// Extra genuine deliveries of an event already delivered.
    pub duplicates: usize,
    pub concurrent_duplicates: usize,
    /// Replays with a fresh unsigned delivery id (counted among the duplicates too).
    pub replayed: usize,
    pub forged: usize,
    /// Events whose body travels through the body bucket.
    pub large: usize,
}

pub fn counts(events: &[PlannedEvent]) -> PlanCounts {
    let mut counts = PlanCounts { events: events.len(), ..PlanCounts::default() };
    for event in events {
        match event.fault {
            Fault::Poison => counts.poison += 1,
            Fault::Transient(_) => counts.transient += 1,
            Fault::None => {}
        }
        counts.good += usize::from(event.is_good());
        counts.large += usize::from(event.padding > 0);
        for delivery in &event.deliveries {
            match delivery {
                Delivery::Original => {}
                Delivery::Concurrent => {
                    counts.duplicates += 1;
                    counts.concurrent_duplicates += 1;
                }
                Delivery::Later => counts.duplicates += 1,
                Delivery::Replayed => {
                    counts.duplicates += 1;
                    counts.replayed += 1;
                }
                Delivery::Forged => counts.forged += 1,
            }
        }
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mix_is_what_the_issue_asks_for() {
        let events = plan("t", 1_795_867_200, 5000);
        let c = counts(&events);
        assert_eq!(c.events, 5000);
        assert!(c.duplicates * 100 >= c.events * 20, "at least 20% duplicates: {c:?}");
        assert!(c.concurrent_duplicates > 0 && c.concurrent_duplicates < c.duplicates, "{c:?}");
        assert_eq!(c.transient * 100 / c.events, 5, "about 5% transient: {c:?}");
        assert_eq!(c.poison * 100 / c.events, 1, "about 1% poison: {c:?}");
        assert_eq!(c.good + c.poison, c.events);
        assert!(c.forged > 0);
        assert_eq!(c.large * 100 / c.events, 2, "about 2% large: {c:?}");
        let transient_large = events.iter().any(|e| e.padding > 0 && e.fault == Fault::Transient(4));
        let duplicated_large = events.iter().any(|e| e.padding > 0 && e.deliveries.contains(&Delivery::Concurrent));
        assert!(duplicated_large && transient_large, "large bodies meet the other faults");
        for source in ["github", "shopify", "gitlab", "twilio"] {
            let replayed = |e: &PlannedEvent| e.source == source && e.deliveries.contains(&Delivery::Replayed);
            assert!(events.iter().any(replayed), "a replay with a fresh delivery id for {source}");
        }
        for source in SOURCES {
            assert!(events.iter().any(|e| e.source == source && e.fault == Fault::Poison), "poison for {source}");
            assert!(events.iter().any(|e| e.source == source && e.deliveries.len() > 1), "duplicates for {source}");
        }
    }

    #[test]
    fn a_reduced_run_keeps_every_kind_of_event() {
        let c = counts(&plan("t", 1_795_867_200, 400));
        assert!(c.poison >= 4 && c.transient >= 20 && c.concurrent_duplicates >= 20 && c.forged >= 4, "{c:?}");
        assert!(c.replayed >= 16, "{c:?}");
        assert!(c.large >= 7, "{c:?}");
    }

    #[test]
    fn bodies_are_distinct_valid_json_carrying_the_fault_marker() {
        let events = plan("r1", 1_795_867_200, 200);
        let bodies: std::collections::HashSet<Vec<u8>> = events.iter().map(PlannedEvent::body).collect();
        assert_eq!(bodies.len(), events.len());
        for event in &events {
            let value: serde_json::Value = serde_json::from_slice(&event.body()).unwrap();
            let marker = value.get("hookline_fault").and_then(|v| v.as_str());
            match event.fault {
                Fault::None => assert_eq!(marker, None),
                Fault::Poison => assert_eq!(marker, Some("poison")),
                Fault::Transient(n) => assert_eq!(marker, Some(format!("transient:{n}").as_str())),
            }
        }
    }
}
