use std::collections::BTreeMap;

use hookline_domain::Envelope;

/// An envelope for tests: the source is the event id's prefix (`stripe:evt_1` -> `stripe`).
pub fn sample_envelope(event_id: &str, body: &[u8]) -> Envelope {
    Envelope {
        source: event_id.split(':').next().unwrap_or("test").to_owned(),
        event_id: event_id.to_owned(),
        scheme: "stripe".to_owned(),
        received_at: "2026-11-28T12:00:00.000Z".to_owned(),
        content_type: Some("application/json".to_owned()),
        headers: BTreeMap::new(),
        signed_headers: BTreeMap::new(),
        event_type: None,
        body: body.to_vec(),
        stored_body: None,
        body_is_json: hookline_domain::envelope::is_embeddable_json(body),
        destinations: hookline_domain::Destinations::default(),
    }
}
