//! Small helpers shared by the DynamoDB adapters: attribute values and error mapping.

use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::types::AttributeValue;
use hookline_ports::StoreError;

pub(crate) fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub(crate) fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// A failed DynamoDB request as a [`StoreError`]; only a request that could not even be
/// built is not worth retrying.
pub(crate) fn store_error<E, R>(operation: &'static str, error: SdkError<E, R>) -> StoreError
where
    E: std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    StoreError {
        operation,
        retryable: !matches!(error, SdkError::ConstructionFailure(_)),
        message: DisplayErrorContext(&error).to_string(),
        source: Some(Box::new(error)),
    }
}
