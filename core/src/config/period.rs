//! The periods of usage-plan quotas.

use serde::{Deserialize, Serialize};

/// A quota's period (its windows are [`crate::throttle::quota::window`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Period {
    Day,
    Week,
    Month,
}

impl Period {
    /// The largest offset AWS accepts: DAY 0; WEEK 0-6 (0 = Sunday); MONTH 0-27 (days after the 1st).
    pub const fn max_offset(self) -> u32 {
        match self {
            Period::Day => 0,
            Period::Week => 6,
            Period::Month => 27,
        }
    }
}
