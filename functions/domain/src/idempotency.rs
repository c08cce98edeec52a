//! Idempotency records: how at-least-once delivery becomes exactly-once effects.
//!
//! One record per event id. A processor *claims* the record before running the handler;
//! the claim succeeds when the record is absent, expired, or not completed and unlocked
//! (its lock expired or was released after a failure) with the same payload. Everything
//! else is a conflict, classified here from the record the store returned.

use sha2::{Digest, Sha256};

/// Default life of a COMPLETED record: longer than any sender's retry window (Stripe
/// retries for up to 3 days).
pub const DEFAULT_COMPLETED_TTL_SECONDS: u64 = 7 * 24 * 3600;

/// Added to the invocation deadline to form the lock expiry: the lock outlives any work
/// the invocation can do, so it never expires under a live handler.
pub const LOCK_MARGIN_MILLIS: i64 = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordStatus {
    /// Claimed; `lock_expires_at_millis` says until when.
    InProgress,
    /// The effect happened. Final until the record expires.
    Completed,
    /// The last attempt failed and released the lock; the next receive may claim it.
    Failed,
}

impl RecordStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RecordStatus::InProgress => "IN_PROGRESS",
            RecordStatus::Completed => "COMPLETED",
            RecordStatus::Failed => "FAILED",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "IN_PROGRESS" => Some(RecordStatus::InProgress),
            "COMPLETED" => Some(RecordStatus::Completed),
            "FAILED" => Some(RecordStatus::Failed),
            _ => None,
        }
    }
}

/// Whether retrying can help.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    Transient,
    Permanent,
}

impl FailureKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::Transient => "transient",
            FailureKind::Permanent => "permanent",
        }
    }
}

/// The last failure of an event, as recorded for operators.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedError {
    pub kind: FailureKind,
    /// A short machine-friendly class, e.g. `HandlerTimeout`, `PayloadConflict`.
    pub class: String,
    /// A human-readable message. Never the payload.
    pub message: String,
}

impl RecordedError {
    /// Longest message kept: records, logs and message attributes stay small.
    pub const MAX_MESSAGE_CHARS: usize = 1024;

    pub fn new(kind: FailureKind, class: impl Into<String>, message: impl Into<String>) -> Self {
        let message: String = message.into();
        let message = match message.char_indices().nth(Self::MAX_MESSAGE_CHARS) {
            Some((cut, _)) => format!("{}…", &message[..cut]),
            None => message,
        };
        RecordedError { kind, class: class.into(), message }
    }
}

/// A stored idempotency record, as the store returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyRecord {
    pub event_id: String,
    pub status: RecordStatus,
    pub fingerprint: String,
    /// Meaningful while IN_PROGRESS.
    pub lock_expires_at_millis: i64,
    /// Unix seconds after which the record no longer counts (and DynamoDB's TTL deletes it).
    pub expires_at: i64,
    pub attempts: u32,
    pub last_error: Option<RecordedError>,
}

/// The payload fingerprint: SHA-256 of the exact body, hex.
pub fn fingerprint(body: &[u8]) -> String {
    hex::encode(Sha256::digest(body))
}

/// Why a claim did not succeed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimConflict {
    /// The effect already happened: acknowledge without running the handler.
    AlreadyCompleted,
    /// Another invocation holds a live lock: retry later, never acknowledge.
    InProgress { lock_expires_at_millis: i64 },
    /// The same event id arrived with a different payload.
    PayloadMismatch { stored_fingerprint: String, completed: bool },
}

/// Whether a claim over `existing` (or no record) at `now` may proceed, as the store's
/// condition expression decides it. Kept here so the in-memory store and the tests share
/// the exact rule the DynamoDB condition encodes.
pub fn claimable(existing: Option<&IdempotencyRecord>, fingerprint: &str, now_millis: i64) -> bool {
    match existing {
        None => true,
        Some(record) if record.expires_at * 1000 <= now_millis => true,
        Some(record) => {
            record.status != RecordStatus::Completed
                && record.lock_expires_at_millis <= now_millis
                && record.fingerprint == fingerprint
        }
    }
}

/// Classifies the record that made a claim fail.
pub fn classify_conflict(existing: &IdempotencyRecord, fingerprint: &str) -> ClaimConflict {
    if existing.fingerprint != fingerprint {
        return ClaimConflict::PayloadMismatch {
            stored_fingerprint: existing.fingerprint.clone(),
            completed: existing.status == RecordStatus::Completed,
        };
    }
    match existing.status {
        RecordStatus::Completed => ClaimConflict::AlreadyCompleted,
        RecordStatus::InProgress | RecordStatus::Failed => {
            ClaimConflict::InProgress { lock_expires_at_millis: existing.lock_expires_at_millis }
        }
    }
}

/// The lock expiry for work that must finish by `deadline_millis`.
pub fn lock_expiry(deadline_millis: i64) -> i64 {
    deadline_millis + LOCK_MARGIN_MILLIS
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(status: RecordStatus, lock: i64, fingerprint: &str) -> IdempotencyRecord {
        IdempotencyRecord {
            event_id: "s:e".into(),
            status,
            fingerprint: fingerprint.into(),
            lock_expires_at_millis: lock,
            expires_at: 10_000,
            attempts: 1,
            last_error: None,
        }
    }

    #[test]
    fn claims_absent_expired_and_unlocked_records_only() {
        let now = 5_000_000;
        assert!(claimable(None, "f", now));
        assert!(claimable(Some(&record(RecordStatus::InProgress, now - 1, "f")), "f", now));
        assert!(claimable(Some(&record(RecordStatus::Failed, 0, "f")), "f", now));
        assert!(!claimable(Some(&record(RecordStatus::InProgress, now + 1, "f")), "f", now));
        assert!(!claimable(Some(&record(RecordStatus::Completed, 0, "f")), "f", now));
        assert!(!claimable(Some(&record(RecordStatus::Failed, 0, "other")), "f", now));
        // Past its TTL a record no longer counts, whatever it says.
        assert!(claimable(Some(&record(RecordStatus::Completed, 0, "other")), "f", 10_000_000));
    }

    #[test]
    fn classifies_conflicts() {
        assert_eq!(classify_conflict(&record(RecordStatus::Completed, 0, "f"), "f"), ClaimConflict::AlreadyCompleted);
        assert_eq!(
            classify_conflict(&record(RecordStatus::InProgress, 9, "f"), "f"),
            ClaimConflict::InProgress { lock_expires_at_millis: 9 }
        );
        assert_eq!(
            classify_conflict(&record(RecordStatus::Completed, 0, "g"), "f"),
            ClaimConflict::PayloadMismatch { stored_fingerprint: "g".into(), completed: true }
        );
    }

    #[test]
    fn long_error_messages_are_cut() {
        let error = RecordedError::new(FailureKind::Transient, "X", "é".repeat(5000));
        assert_eq!(error.message.chars().count(), RecordedError::MAX_MESSAGE_CHARS + 1);
        assert!(RecordStatus::parse(RecordStatus::InProgress.as_str()).is_some());
    }

    #[test]
    fn the_lock_outlives_the_invocation() {
        assert!(lock_expiry(1_000) > 1_000);
    }
}
