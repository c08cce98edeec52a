//! [`EventBus`] over Amazon EventBridge `PutEvents`.
//!
//! `PutEvents` answers per entry: a request can succeed while some of its entries fail
//! (`FailedEntryCount`, an `ErrorCode` per failed entry). EventBridge documents
//! `InternalFailure` and `ThrottlingException` as worth retrying and the others
//! (`InvalidArgument`, `MalformedDetail`, `AccessDeniedException`, ...) as not; a code it
//! does not document is retried, as a failure of the whole request usually is.

use aws_sdk_eventbridge::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_eventbridge::primitives::DateTime;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use hookline_ports::{BusEvent, EventBus, PublishError};

/// Entry error codes EventBridge documents as not worth retrying.
const REFUSED_ENTRY_CODES: [&str; 8] = [
    "AccessDeniedException",
    "InvalidAccountIdException",
    "InvalidArgument",
    "MalformedDetail",
    "RedactionFailure",
    "NotAuthorizedForSourceException",
    "NotAuthorizedForDetailTypeException",
    "ValidationException",
];

#[derive(Debug, Clone)]
pub struct EventBridgeBus {
    client: aws_sdk_eventbridge::Client,
    /// The bus's name or ARN.
    bus: String,
}

impl EventBridgeBus {
    pub fn new(client: aws_sdk_eventbridge::Client, bus: impl Into<String>) -> Self {
        EventBridgeBus { client, bus: bus.into() }
    }
}

/// An entry's answer.
pub fn entry_error(code: &str, message: &str) -> PublishError {
    let (code, message) = (code.to_owned(), message.to_owned());
    if REFUSED_ENTRY_CODES.contains(&code.as_str()) {
        PublishError::Refused { code, message }
    } else {
        PublishError::Failed { code, message }
    }
}

/// A failure of the whole request: every entry's answer.
fn request_error<E, R>(error: &SdkError<E, R>) -> PublishError
where
    E: std::error::Error + ProvideErrorMetadata + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let message = DisplayErrorContext(error).to_string();
    match error {
        SdkError::ServiceError(service) => {
            let code = service.err().code().unwrap_or("Unknown").to_owned();
            // Throttled, failing inside, or not (yet) allowed: retried. Anything else is the
            // request itself (a ValidationException for an entry over 256 KB).
            let retried =
                matches!(code.as_str(), "ThrottlingException" | "InternalException" | "AccessDeniedException")
                    || code == "Unknown";
            if retried { PublishError::Failed { code, message } } else { PublishError::Refused { code, message } }
        }
        SdkError::ConstructionFailure(_) => PublishError::Refused { code: "ConstructionFailure".into(), message },
        SdkError::TimeoutError(_) => PublishError::Failed { code: "Timeout".into(), message },
        _ => PublishError::Failed { code: "Unreachable".into(), message },
    }
}

impl EventBus for EventBridgeBus {
    async fn publish(&self, events: &[BusEvent]) -> Vec<Result<(), PublishError>> {
        let entries = events
            .iter()
            .map(|event| {
                PutEventsRequestEntry::builder()
                    .event_bus_name(&self.bus)
                    .source(&event.source)
                    .detail_type(&event.detail_type)
                    .detail(&event.detail)
                    .set_time(event.time_millis.map(DateTime::from_millis))
                    .build()
            })
            .collect();
        let output = match self.client.put_events().set_entries(Some(entries)).send().await {
            Ok(output) => output,
            Err(error) => {
                let error = request_error(&error);
                return events.iter().map(|_| Err(error.clone())).collect();
            }
        };
        let answers = output.entries();
        events
            .iter()
            .enumerate()
            .map(|(index, _)| match answers.get(index) {
                Some(answer) if answer.error_code().is_none() && answer.event_id().is_some() => Ok(()),
                Some(answer) => Err(entry_error(
                    answer.error_code().unwrap_or("NoEventId"),
                    answer.error_message().unwrap_or("no event id in the answer"),
                )),
                None => Err(PublishError::Failed {
                    code: "NoAnswer".into(),
                    message: "PutEvents answered with fewer entries than it was sent".into(),
                }),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_codes_are_classified_as_eventbridge_documents_them() {
        assert!(matches!(entry_error("ThrottlingException", "m"), PublishError::Failed { .. }));
        assert!(matches!(entry_error("InternalFailure", "m"), PublishError::Failed { .. }));
        assert!(matches!(entry_error("SomethingNew", "m"), PublishError::Failed { .. }));
        for code in REFUSED_ENTRY_CODES {
            assert!(matches!(entry_error(code, "m"), PublishError::Refused { .. }), "{code}");
        }
    }
}
