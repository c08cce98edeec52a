//! The chaos run's parts (the run itself is `tests/tests/chaos.rs`, started by
//! `infra/local/chaos.sh`).

pub mod faults;
pub mod http1;
pub mod logs;
pub mod plan;
pub mod sender;
pub mod summary;
