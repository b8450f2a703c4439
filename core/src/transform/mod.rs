//! Request and response transformations: VTL mapping templates, parameter mappings and the
//! integration that applies them.

pub mod aws_service;
pub mod binary;
pub mod integration;
pub mod lambda_proxy;
pub mod mapping;
