//! Tollgate's decisions as pure Rust over plain data.
//!
//! Nothing here knows about proxy-wasm: the filter reads what it needs through the [`host::Host`]
//! seam, asks [`pipeline`], and applies the answer. The CLI uses the same [`config`] and [`plan`]
//! code, so a config the CLI accepts is one the filter accepts.

pub mod admin;
pub mod apikey;
pub mod auth;
pub mod cache;
pub mod config;
pub mod deployment;
pub mod gateway_response;
pub mod host;
pub mod keystore;
pub mod pipeline;
pub mod plan;
pub mod routes;
pub mod text;
pub mod throttle;
pub mod transform;
pub mod validate;
pub mod vtl;

#[cfg(test)]
mod test_support;
