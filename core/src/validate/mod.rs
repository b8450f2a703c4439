//! AWS API Gateway's request validators: required request parameters ([`params`]) and request
//! bodies against the API's models, JSON Schema draft 4 ([`schema`]).
//!
//! A failed parameter check is AWS's `BAD_REQUEST_PARAMETERS` (400, `Missing required request
//! parameters: [...]`); a failed body check is `BAD_REQUEST_BODY` (400, `Invalid request body`),
//! with [`BodyError::validation_error_string`] as `$context.error.validationErrorString`.

mod compile;
mod draft4;
mod formats;
pub mod instance;
mod messages;
mod method;
mod node;
pub mod params;
mod refs;
pub mod schema;

#[cfg(test)]
mod draft4_tests;
#[cfg(test)]
mod schema_tests;

pub use instance::{Instance, Kind};
pub use messages::{Issue, MAX_MESSAGES};
pub use method::{body_rejection, MethodValidation, Request};
pub use params::{missing_message, ParamLocation, RequiredParams};
pub use schema::{BodyError, ModelError, ModelId, Models, MAX_DEPTH};
