//! Authentication of callers: AWS Signature Version 4 ([`sigv4`]).
//!
//! Everything here is a pure function over plain data; the pipeline reads the request through the
//! host seam, calls in, and maps the typed errors to gateway responses.

pub mod caller;
pub mod custom;
pub mod iam;
pub mod jwt;
pub mod lambda;
pub mod policy;
pub mod sigv4;
pub mod token;
