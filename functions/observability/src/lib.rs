//! What Hookline's functions tell operators: JSON logs and CloudWatch metrics.

pub mod emf;
pub mod json_lines;
pub mod logging;

pub use emf::{MetricLine, Unit};
pub use logging::{LogSettings, init_logging};
