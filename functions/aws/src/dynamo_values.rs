//! Small helpers shared by the DynamoDB adapters: attribute values and error mapping.

use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::AttributeValue;
use hookline_ports::StoreError;

pub(crate) fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub(crate) fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// A failed DynamoDB request as a [`StoreError`]. Not worth retrying: a request that could
/// not even be built, and one DynamoDB refuses as invalid (`ValidationException`: an item over
/// 400 KB, an expression it cannot evaluate), which the same request meets every time.
pub(crate) fn store_error<E, R>(operation: &'static str, error: SdkError<E, R>) -> StoreError
where
    E: std::error::Error + ProvideErrorMetadata + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let refused = match &error {
        SdkError::ConstructionFailure(_) => true,
        SdkError::ServiceError(service) => service.err().code() == Some("ValidationException"),
        _ => false,
    };
    StoreError {
        operation,
        retryable: !refused,
        message: DisplayErrorContext(&error).to_string(),
        source: Some(Box::new(error)),
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_dynamodb::config::http::HttpResponse;
    use aws_sdk_dynamodb::error::ErrorMetadata;
    use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
    use aws_smithy_types::body::SdkBody;

    use super::*;

    fn service_error(code: &str) -> SdkError<UpdateItemError, HttpResponse> {
        let error = UpdateItemError::generic(ErrorMetadata::builder().code(code).message("m").build());
        SdkError::service_error(error, HttpResponse::new(400.try_into().unwrap(), SdkBody::empty()))
    }

    /// DynamoDB answers an item over 400 KB with a ValidationException: the same request meets
    /// it every time, so it is not retried (the emulator accepts such an update, so this is
    /// checked here, on the error DynamoDB documents).
    #[test]
    fn a_validation_exception_is_not_retryable_and_throttling_is() {
        assert!(!store_error("record", service_error("ValidationException")).retryable);
        assert!(store_error("record", service_error("ProvisionedThroughputExceededException")).retryable);
        assert!(store_error("record", service_error("InternalServerError")).retryable);
    }
}
