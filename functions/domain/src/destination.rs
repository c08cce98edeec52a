//! Where a source's events go: the events table (the default), EventBridge, or both.
//!
//! A source chooses in the sources configuration (`"destination": "eventbridge"`, or a list
//! for several). Ingest copies the choice into each envelope it accepts, so an event's
//! destinations are fixed when it is accepted: its retries and replays go where its first
//! attempt went, and the processor never needs the sources configuration (or its secrets).

use serde::{Deserialize, Serialize};

/// One destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Destination {
    /// The stack's DynamoDB events table: one item per event, written by a conditional put
    /// that is its own idempotency record.
    EventsTable,
    /// The stack's EventBridge bus: one `PutEvents` entry per event.
    #[serde(rename = "eventbridge")]
    EventBridge,
}

impl Destination {
    pub const ALL: [Destination; 2] = [Destination::EventsTable, Destination::EventBridge];

    pub fn as_str(self) -> &'static str {
        match self {
            Destination::EventsTable => "events_table",
            Destination::EventBridge => "eventbridge",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Destination::ALL.into_iter().find(|d| d.as_str() == name)
    }

    fn bit(self) -> u8 {
        1 << self as u8
    }
}

/// A non-empty set of destinations, iterated in a fixed order: the events table first, so
/// that under one claim the destination whose write is idempotent by itself runs before the
/// one that is not (see the processor's `Destinations`).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Destinations(u8);

impl Default for Destinations {
    /// The events table alone.
    fn default() -> Self {
        Destinations::only(Destination::EventsTable)
    }
}

impl std::fmt::Debug for Destinations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl Destinations {
    pub fn only(destination: Destination) -> Self {
        Destinations(destination.bit())
    }

    /// The set of `list`; `None` when it is empty or names one twice.
    pub fn from_list(list: impl IntoIterator<Item = Destination>) -> Option<Self> {
        let mut bits = 0u8;
        for destination in list {
            if bits & destination.bit() != 0 {
                return None;
            }
            bits |= destination.bit();
        }
        (bits != 0).then_some(Destinations(bits))
    }

    pub fn contains(self, destination: Destination) -> bool {
        self.0 & destination.bit() != 0
    }

    pub fn iter(self) -> impl Iterator<Item = Destination> {
        Destination::ALL.into_iter().filter(move |d| self.contains(*d))
    }

    pub fn len(self) -> usize {
        self.0.count_ones() as usize
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Whether this is the default (the events table alone), which envelopes do not spell out.
    pub fn is_default(self) -> bool {
        self == Destinations::default()
    }

    /// Parses the configuration's `destination` value: one name, or a list of names.
    pub fn from_config(value: &DestinationConfig) -> Result<Self, String> {
        let names: Vec<&str> = match value {
            DestinationConfig::One(name) => vec![name.as_str()],
            DestinationConfig::Several(names) => names.iter().map(String::as_str).collect(),
        };
        let parsed = names
            .iter()
            .map(|name| {
                Destination::parse(name)
                    .ok_or_else(|| format!("`destination` {name:?} is not one of \"events_table\" and \"eventbridge\""))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Destinations::from_list(parsed).ok_or_else(|| "`destination` is empty or names a destination twice".into())
    }
}

impl Serialize for Destinations {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter())
    }
}

impl<'de> Deserialize<'de> for Destinations {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let list = Vec::<Destination>::deserialize(deserializer)?;
        Destinations::from_list(list)
            .ok_or_else(|| serde::de::Error::custom("destinations: empty, or a destination named twice"))
    }
}

/// The configuration's `destination` field as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum DestinationConfig {
    One(String),
    Several(Vec<String>),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_is_the_events_table_alone() {
        let default = Destinations::default();
        assert!(default.is_default());
        assert_eq!(default.iter().collect::<Vec<_>>(), [Destination::EventsTable]);
        assert!(!Destinations::only(Destination::EventBridge).is_default());
    }

    #[test]
    fn the_table_comes_first_whatever_the_order_configured() {
        let both =
            Destinations::from_config(&DestinationConfig::Several(vec!["eventbridge".into(), "events_table".into()]))
                .unwrap();
        assert_eq!(both.iter().collect::<Vec<_>>(), [Destination::EventsTable, Destination::EventBridge]);
        assert_eq!(both.len(), 2);
        assert_eq!(serde_json::to_string(&both).unwrap(), r#"["events_table","eventbridge"]"#);
        assert_eq!(serde_json::from_str::<Destinations>(r#"["eventbridge","events_table"]"#).unwrap(), both);
    }

    #[test]
    fn unknown_empty_and_repeated_destinations_are_refused() {
        for config in [
            DestinationConfig::One("sns".into()),
            DestinationConfig::Several(vec![]),
            DestinationConfig::Several(vec!["eventbridge".into(), "eventbridge".into()]),
        ] {
            assert!(Destinations::from_config(&config).is_err(), "{config:?}");
        }
        assert!(serde_json::from_str::<Destinations>("[]").is_err());
        assert!(serde_json::from_str::<Destinations>(r#"["sqs"]"#).is_err());
    }
}
