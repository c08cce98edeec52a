//! The default handler: each event goes to the destinations its source names (the events
//! table, EventBridge, or both; see `hookline_domain::destination`).
//!
//! - **The events table alone** (the default): the conditional write is the event's own
//!   idempotency record, so no claim is taken ([`WebhookHandler::records_itself`]): one write
//!   per webhook, and exactly once even if the function dies right after it.
//! - **EventBridge** runs under the claim. `PutEvents` is not conditional: a crash between a
//!   successful put and the COMPLETED marker, or a put whose answer was lost, means the event
//!   is put again when the message comes back. The event id in the detail lets a consumer drop
//!   that rare duplicate.
//! - **Both**, under one claim, the table first: on a retry its write finds the event already
//!   stored and writes nothing, so only EventBridge is tried again. This needs no progress
//!   record because the table's write is idempotent by itself; EventBridge, the one effect that
//!   is not, comes last.

use hookline_domain::bus_event::bus_event;
use hookline_domain::instant::parse_rfc3339_millis;
use hookline_domain::{Destination, Envelope};
use hookline_ports::{
    BusEvent, Claim, Delivery, EventBus, EventStore, EventStoreError, Handled, HandlerError, PublishError, Recorded,
    WebhookHandler,
};

use crate::processor::class::PAYLOAD_CONFLICT;

/// Error classes of the destinations' failures, as the ledger and the metrics name them.
pub mod class {
    pub const EVENTS_TABLE_UNAVAILABLE: &str = "EventsTableUnavailable";
    pub const EVENTS_TABLE_REFUSED: &str = "EventsTableRefused";
    pub const EVENTBRIDGE_FAILED: &str = "EventBridgeFailed";
    pub const EVENTBRIDGE_REFUSED: &str = "EventBridgeRefused";
    pub const EVENT_TOO_LARGE: &str = "EventTooLargeForEventBridge";

    /// Classes that count as EventBridge failures (the `EventBridgeFailures` metric).
    pub fn is_eventbridge(class: &str) -> bool {
        matches!(class, EVENTBRIDGE_FAILED | EVENTBRIDGE_REFUSED | EVENT_TOO_LARGE)
    }
}

/// Routes each event to its destinations.
#[derive(Debug, Clone)]
pub struct DefaultHandler<T, E> {
    table: T,
    bus: E,
}

impl<T: EventStore, E: EventBus> DefaultHandler<T, E> {
    pub fn new(table: T, bus: E) -> Self {
        DefaultHandler { table, bus }
    }

    async fn store(&self, event: &Envelope, attempt: u32) -> Result<Recorded, HandlerError> {
        self.table.store(event, attempt).await.map_err(|EventStoreError { retryable, message }| {
            if retryable {
                HandlerError::transient(class::EVENTS_TABLE_UNAVAILABLE, message)
            } else {
                HandlerError::permanent(class::EVENTS_TABLE_REFUSED, message)
            }
        })
    }

    async fn publish(&self, event: &Envelope) -> Result<(), HandlerError> {
        let parts = bus_event(event).map_err(|e| HandlerError::permanent(class::EVENT_TOO_LARGE, e.to_string()))?;
        let bus_event = BusEvent {
            source: parts.source,
            detail_type: parts.detail_type,
            time_millis: parse_rfc3339_millis(&event.received_at),
            detail: parts.detail,
        };
        let answer = self.bus.publish(std::slice::from_ref(&bus_event)).await.into_iter().next();
        match answer {
            Some(Ok(())) => Ok(()),
            Some(Err(PublishError::Refused { code, message })) => {
                Err(HandlerError::permanent(class::EVENTBRIDGE_REFUSED, format!("{code}: {message}")))
            }
            Some(Err(PublishError::Failed { code, message })) => {
                Err(HandlerError::transient(class::EVENTBRIDGE_FAILED, format!("{code}: {message}")))
            }
            None => Err(HandlerError::transient(class::EVENTBRIDGE_FAILED, "no answer for the entry")),
        }
    }
}

impl<T: EventStore, E: EventBus> WebhookHandler for DefaultHandler<T, E> {
    fn records_itself(&self, event: &Envelope) -> bool {
        event.destinations.is_default()
    }

    async fn handle_unclaimed(&self, event: &Envelope, delivery: Delivery) -> Result<Recorded, HandlerError> {
        self.store(event, delivery.attempt).await
    }

    async fn handle(&self, event: &Envelope, claim: &Claim) -> Result<Handled, HandlerError> {
        for destination in event.destinations.iter() {
            match destination {
                Destination::EventsTable => match self.store(event, claim.attempt).await? {
                    Recorded::Stored | Recorded::AlreadyStored => {}
                    Recorded::Conflict { stored_fingerprint } => {
                        return Err(HandlerError::permanent(
                            PAYLOAD_CONFLICT,
                            format!(
                                "the events table holds this event id with another payload (stored fingerprint \
                                 {stored_fingerprint})"
                            ),
                        ));
                    }
                },
                Destination::EventBridge => self.publish(event).await?,
            }
        }
        Ok(Handled::Done)
    }
}

#[cfg(test)]
mod tests {
    use hookline_domain::Destinations as Set;
    use hookline_domain::idempotency::FailureKind;
    use hookline_ports::fakes::{MemoryEventBus, MemoryEventStore, sample_envelope};

    use super::*;

    fn claim(attempt: u32) -> Claim {
        Claim { event_id: "stripe:evt_1".into(), token: "t".into(), attempt, expires_at: 0 }
    }

    fn routed(destinations: &[Destination]) -> Envelope {
        let mut event = sample_envelope("stripe:evt_1", br#"{"id":"evt_1"}"#);
        event.destinations = Set::from_list(destinations.iter().copied()).unwrap();
        event
    }

    fn world() -> (MemoryEventStore, MemoryEventBus, DefaultHandler<MemoryEventStore, MemoryEventBus>) {
        let (table, bus) = (MemoryEventStore::new(), MemoryEventBus::new());
        (table.clone(), bus.clone(), DefaultHandler::new(table, bus))
    }

    #[tokio::test]
    async fn the_table_alone_records_itself_in_one_write() {
        let (table, bus, handler) = world();
        let event = routed(&[Destination::EventsTable]);
        assert!(handler.records_itself(&event));
        assert_eq!(handler.handle_unclaimed(&event, Delivery { attempt: 2 }).await, Ok(Recorded::Stored));
        assert_eq!(handler.handle_unclaimed(&event, Delivery { attempt: 3 }).await, Ok(Recorded::AlreadyStored));
        let other = sample_envelope("stripe:evt_1", br#"{"id":"other"}"#);
        assert!(matches!(
            handler.handle_unclaimed(&other, Delivery { attempt: 1 }).await,
            Ok(Recorded::Conflict { .. })
        ));
        assert_eq!((table.writes(), table.attempt("stripe:evt_1")), (3, Some(2)));
        assert_eq!(bus.requests(), 0);
    }

    #[tokio::test]
    async fn eventbridge_gets_the_documented_entry_under_the_claim() {
        let (table, bus, handler) = world();
        let mut event = routed(&[Destination::EventBridge]);
        event.event_type =
            hookline_domain::envelope::EventType::new("invoice.paid", hookline_domain::envelope::Origin::Signed);
        assert!(!handler.records_itself(&event));
        assert_eq!(handler.handle(&event, &claim(1)).await, Ok(Handled::Done));
        let events = bus.events();
        assert_eq!(events.len(), 1);
        assert_eq!((events[0].source.as_str(), events[0].detail_type.as_str()), ("hookline.stripe", "invoice.paid"));
        assert_eq!(events[0].time_millis, parse_rfc3339_millis("2026-11-28T12:00:00.000Z"));
        let detail: serde_json::Value = serde_json::from_str(&events[0].detail).unwrap();
        assert_eq!(detail["event_id"], "stripe:evt_1");
        assert_eq!(detail["body"]["id"], "evt_1");
        assert!(table.event_ids().is_empty());
    }

    #[tokio::test]
    async fn a_failed_entry_is_transient_and_a_refused_one_permanent() {
        let (_, bus, handler) = world();
        let event = routed(&[Destination::EventBridge]);
        bus.fail_next([
            PublishError::Failed { code: "ThrottlingException".into(), message: "slow down".into() },
            PublishError::Refused { code: "MalformedDetail".into(), message: "bad".into() },
        ]);
        let throttled = handler.handle(&event, &claim(1)).await.unwrap_err();
        assert_eq!((throttled.kind, throttled.class.as_str()), (FailureKind::Transient, class::EVENTBRIDGE_FAILED));
        assert!(throttled.message.contains("ThrottlingException"));
        let refused = handler.handle(&event, &claim(2)).await.unwrap_err();
        assert_eq!((refused.kind, refused.class.as_str()), (FailureKind::Permanent, class::EVENTBRIDGE_REFUSED));
        assert!(bus.events().is_empty());
        assert_eq!(handler.handle(&event, &claim(3)).await, Ok(Handled::Done));
        assert_eq!(bus.events().len(), 1);
    }

    #[tokio::test]
    async fn both_destinations_retry_eventbridge_without_writing_the_table_again() {
        let (table, bus, handler) = world();
        let event = routed(&[Destination::EventBridge, Destination::EventsTable]);
        assert!(!handler.records_itself(&event));
        bus.fail_next([PublishError::Failed { code: "InternalFailure".into(), message: "oops".into() }]);
        assert!(handler.handle(&event, &claim(1)).await.is_err());
        assert_eq!(table.event_ids(), ["stripe:evt_1"], "the table was written first");
        assert_eq!(handler.handle(&event, &claim(2)).await, Ok(Handled::Done));
        assert_eq!(table.attempt("stripe:evt_1"), Some(1), "the retry found the item and left it as it was");
        assert_eq!(bus.events().len(), 1);

        // A table that does not answer stops the event before EventBridge sees it.
        let (table, bus, handler) = world();
        table.fail(true);
        let error = handler.handle(&event, &claim(1)).await.unwrap_err();
        assert_eq!((error.kind, error.class.as_str()), (FailureKind::Transient, class::EVENTS_TABLE_UNAVAILABLE));
        assert_eq!(bus.requests(), 0);
    }

    #[tokio::test]
    async fn a_payload_conflict_in_the_table_stops_eventbridge_too() {
        let (_, bus, handler) = world();
        let event = routed(&[Destination::EventsTable, Destination::EventBridge]);
        handler.handle(&event, &claim(1)).await.unwrap();
        let mut reused = sample_envelope("stripe:evt_1", br#"{"id":"something else"}"#);
        reused.destinations = event.destinations;
        let error = handler.handle(&reused, &claim(1)).await.unwrap_err();
        assert_eq!((error.kind, error.class.as_str()), (FailureKind::Permanent, PAYLOAD_CONFLICT));
        assert_eq!(bus.events().len(), 1);
    }

    #[tokio::test]
    async fn an_event_too_large_for_an_entry_is_permanent() {
        let (_, bus, handler) = world();
        let mut event = routed(&[Destination::EventBridge]);
        event.body = vec![b'x'; 300_000];
        event.body_is_json = false;
        let error = handler.handle(&event, &claim(1)).await.unwrap_err();
        assert_eq!((error.kind, error.class.as_str()), (FailureKind::Permanent, class::EVENT_TOO_LARGE));
        assert_eq!(bus.requests(), 0);
    }
}
