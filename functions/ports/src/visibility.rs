//! Delaying a message's next delivery (backoff through the visibility timeout).

use std::future::Future;

use crate::queue::QueueError;

pub trait MessageVisibility: Send + Sync {
    /// Makes the message with `receipt_handle` invisible for `seconds` from now.
    fn delay(&self, receipt_handle: &str, seconds: u32) -> impl Future<Output = Result<(), QueueError>> + Send;
}
