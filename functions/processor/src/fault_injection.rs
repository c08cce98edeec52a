//! Opt-in fault injection for chaos and end-to-end tests of the retry and dead-letter paths.
//!
//! Enabled only when `HOOKLINE_FAULT_INJECTION=payload_markers` is configured (never by
//! default, never in the template). A webhook whose JSON body has a top-level
//! `"hookline_fault"` field then fails on purpose:
//! - `"poison"`: a permanent failure, every time;
//! - `"transient:N"`: a transient failure on attempts 1..=N, then the real handler runs.
//!
//! Attempts come from the idempotency claim, so the behaviour is the same whichever
//! invocation (or replay) picks the event up; for a handler that records itself (no claim),
//! from the delivery's number (`hookline_ports::Delivery`), which counts replays too.

use hookline_domain::Envelope;
use hookline_ports::{Claim, Delivery, Handled, HandlerError, Recorded, WebhookHandler};

/// The marker field looked for in the body.
pub const MARKER: &str = "hookline_fault";

/// Wraps a handler; with `enabled` false it only delegates.
pub struct FaultInjection<H> {
    inner: H,
    enabled: bool,
}

impl<H> FaultInjection<H> {
    pub fn new(inner: H, enabled: bool) -> Self {
        FaultInjection { inner, enabled }
    }
}

/// The injected failure for `event` at `attempt`, if any.
pub fn injected_failure(event: &Envelope, attempt: u32) -> Option<HandlerError> {
    // Cheap first: most bodies never mention the marker.
    if !event.body.windows(MARKER.len()).any(|w| w == MARKER.as_bytes()) {
        return None;
    }
    let value: serde_json::Value = serde_json::from_slice(&event.body).ok()?;
    let marker = value.get(MARKER)?.as_str()?;
    if marker == "poison" {
        return Some(HandlerError::permanent("InjectedPoison", "fault injection: this event always fails"));
    }
    let failures: u32 = marker.strip_prefix("transient:")?.parse().ok()?;
    (attempt <= failures).then(|| {
        HandlerError::transient("InjectedOutage", format!("fault injection: attempt {attempt} of {failures} failing"))
    })
}

impl<H: WebhookHandler> WebhookHandler for FaultInjection<H> {
    async fn handle(&self, event: &Envelope, claim: &Claim) -> Result<Handled, HandlerError> {
        if self.enabled
            && let Some(failure) = injected_failure(event, claim.attempt)
        {
            return Err(failure);
        }
        self.inner.handle(event, claim).await
    }

    fn records_itself(&self, event: &Envelope) -> bool {
        self.inner.records_itself(event)
    }

    async fn handle_unclaimed(&self, event: &Envelope, delivery: Delivery) -> Result<Recorded, HandlerError> {
        if self.enabled
            && let Some(failure) = injected_failure(event, delivery.attempt)
        {
            return Err(failure);
        }
        self.inner.handle_unclaimed(event, delivery).await
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use hookline_domain::idempotency::FailureKind;
    use hookline_ports::fakes::ScriptedHandler;

    use super::*;

    fn event(body: &str) -> Envelope {
        Envelope {
            source: "s".into(),
            event_id: "s:e".into(),
            scheme: "stripe".into(),
            received_at: "2026-11-28T12:00:00.000Z".into(),
            content_type: None,
            headers: BTreeMap::new(),
            signed_headers: BTreeMap::new(),
            event_type: None,
            body: body.as_bytes().to_vec(),
            stored_body: None,
            body_is_json: hookline_domain::envelope::is_embeddable_json(body.as_bytes()),
            destinations: Default::default(),
        }
    }

    fn claim(attempt: u32) -> Claim {
        Claim { event_id: "s:e".into(), token: "t".into(), attempt, expires_at: 0 }
    }

    #[test]
    fn markers_decide_the_failure() {
        assert_eq!(injected_failure(&event(r#"{"hookline_fault":"poison"}"#), 9).unwrap().kind, FailureKind::Permanent);
        let flaky = event(r#"{"hookline_fault":"transient:2","x":1}"#);
        assert_eq!(injected_failure(&flaky, 2).unwrap().kind, FailureKind::Transient);
        assert!(injected_failure(&flaky, 3).is_none());
        for harmless in [
            r#"{"id":"evt"}"#,
            r#"{"hookline_fault":"transient:x"}"#,
            "hookline_fault not json",
            r#"{"hookline_fault":1}"#,
        ] {
            assert!(injected_failure(&event(harmless), 1).is_none(), "{harmless}");
        }
    }

    #[tokio::test]
    async fn disabled_injection_only_delegates() {
        let inner = ScriptedHandler::new();
        let poison = event(r#"{"hookline_fault":"poison"}"#);
        assert!(FaultInjection::new(inner.clone(), false).handle(&poison, &claim(1)).await.is_ok());
        assert!(FaultInjection::new(inner.clone(), true).handle(&poison, &claim(1)).await.is_err());
        assert_eq!(inner.effects().len(), 1);
    }
}
