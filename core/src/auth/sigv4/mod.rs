//! AWS Signature Version 4 verification of inbound requests.

pub(crate) mod encode;
pub(crate) mod time;
