//! Reading the run's logs: the processor's one line per record (what happened to every
//! message), the event source mapping's batches (which invocations died), and a search for
//! secrets that must never be there.

use std::collections::{BTreeMap, HashMap};

/// What the processor's `record` lines say.
#[derive(Debug, Default)]
pub struct RecordOutcomes {
    /// Lines per outcome label (`processed`, `duplicate`, `retry`, `dead_lettered`, ...).
    pub by_outcome: BTreeMap<String, usize>,
    /// `processed` lines per event id: an effect committed by that invocation.
    pub processed: HashMap<String, usize>,
}

impl RecordOutcomes {
    pub fn count(&self, outcome: &str) -> usize {
        self.by_outcome.get(outcome).copied().unwrap_or(0)
    }
}

/// Every `record` line of the processor in `text` (JSON lines; other lines are skipped).
pub fn record_outcomes(text: &str) -> RecordOutcomes {
    let mut outcomes = RecordOutcomes::default();
    for value in json_lines(text) {
        if value["message"] != "record" {
            continue;
        }
        let Some(outcome) = value["outcome"].as_str() else { continue };
        *outcomes.by_outcome.entry(outcome.to_owned()).or_default() += 1;
        if outcome == "processed"
            && let Some(event_id) = value["event_id"].as_str()
        {
            *outcomes.processed.entry(event_id.to_owned()).or_default() += 1;
        }
    }
    outcomes
}

/// The reprocess function's `dead letter` lines per outcome variant (`Replayed`, `Parked`,
/// `Retry`, `Dropped`...).
pub fn dead_letter_outcomes(text: &str) -> BTreeMap<String, usize> {
    let mut outcomes = BTreeMap::new();
    for value in json_lines(text) {
        if value["message"] != "dead letter" {
            continue;
        }
        let Some(outcome) = value["outcome"].as_str() else { continue };
        let variant = outcome.split(|c: char| !c.is_alphanumeric()).next().unwrap_or(outcome);
        *outcomes.entry(variant.to_owned()).or_default() += 1;
    }
    outcomes
}

/// Batches whose invocation failed (the function died or timed out), per the local event
/// source mapping's log.
pub fn failed_invocations(text: &str, function: &str) -> usize {
    json_lines(text)
        .filter(|v| v["event"] == "batch" && v["function"] == function && v["invocation_ok"] == false)
        .count()
}

fn json_lines(text: &str) -> impl Iterator<Item = serde_json::Value> + '_ {
    text.lines().filter(|l| l.starts_with('{')).filter_map(|l| serde_json::from_str(l).ok())
}

/// A secret and where it is configured, named without revealing it.
#[derive(Debug, Clone)]
pub struct Secret {
    pub label: String,
    pub value: String,
}

/// Every secret of a sources document (`{"sources": {name: {"secrets": [...]}}}`), and for
/// `whsec_` keys also the base64 key material after the prefix.
pub fn configured_secrets(sources_json: &str) -> Vec<Secret> {
    let document: serde_json::Value = serde_json::from_str(sources_json).expect("a sources document");
    let mut secrets = Vec::new();
    for (source, config) in document["sources"].as_object().expect("a sources map") {
        for (index, secret) in config["secrets"].as_array().into_iter().flatten().enumerate() {
            let value = secret.as_str().expect("secrets are strings").to_owned();
            if let Some(material) = value.strip_prefix("whsec_") {
                secrets
                    .push(Secret { label: format!("{source} secret #{index} (key material)"), value: material.into() });
            }
            secrets.push(Secret { label: format!("{source} secret #{index}"), value });
        }
    }
    secrets
}

/// The labels of the secrets found in `text`.
pub fn leaked<'a>(text: &str, secrets: &'a [Secret]) -> Vec<&'a str> {
    secrets.iter().filter(|s| text.contains(&s.value)).map(|s| s.label.as_str()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_outcomes_and_effects_per_event() {
        let log = concat!(
            "compiling...\n",
            r#"{"level":"INFO","message":"record","outcome":"processed","event_id":"a:1"}"#,
            "\n",
            r#"{"level":"INFO","message":"record","outcome":"duplicate","event_id":"a:1"}"#,
            "\n",
            r#"{"level":"INFO","message":"record","outcome":"processed","event_id":"a:1"}"#,
            "\n",
            r#"{"level":"INFO","message":"request","outcome":"accepted"}"#,
            "\n",
        );
        let outcomes = record_outcomes(log);
        assert_eq!((outcomes.count("processed"), outcomes.count("duplicate"), outcomes.count("accepted")), (2, 1, 0));
        assert_eq!(outcomes.processed["a:1"], 2);
    }

    #[test]
    fn counts_dead_letter_outcomes_by_variant() {
        let log = concat!(
            r#"{"message":"dead letter","outcome":"Replayed { replay_count: 1, delay_seconds: 2 }"}"#,
            "\n",
            r#"{"message":"dead letter","outcome":"Parked { reason: \"permanent_failure\" }"}"#,
            "\n",
            r#"{"message":"dead letter","outcome":"Replayed { replay_count: 2, delay_seconds: 1 }"}"#,
            "\n",
        );
        let outcomes = dead_letter_outcomes(log);
        assert_eq!((outcomes["Replayed"], outcomes["Parked"]), (2, 1));
    }

    #[test]
    fn counts_failed_invocations_of_one_function() {
        let log = concat!(
            r#"{"event":"batch","function":"processor","invocation_ok":false}"#,
            "\n",
            r#"{"event":"batch","function":"processor","invocation_ok":true}"#,
            "\n",
            r#"{"event":"batch","function":"reprocess","invocation_ok":false}"#,
            "\n",
        );
        assert_eq!(failed_invocations(log, "processor"), 1);
    }

    #[test]
    fn finds_every_configured_secret_by_label() {
        let secrets = configured_secrets(r#"{"sources":{"s":{"secrets":["whsec_QUJD","plain"]},"t":{"scheme":"x"}}}"#);
        assert_eq!(secrets.len(), 3);
        assert_eq!(leaked("nothing here", &secrets), Vec::<&str>::new());
        assert_eq!(leaked("key=QUJD!", &secrets), vec!["s secret #0 (key material)"]);
        assert_eq!(leaked("a plain leak", &secrets), vec!["s secret #1"]);
    }
}
