//! What one method's request validator checks, compiled once: the required parameters and the
//! models by Content-Type, as `x-amazon-apigateway-request-validator` and `requestModels` name
//! them.

use std::collections::BTreeMap;

use crate::config::{ConfigError, Method, RequestValidator};
use crate::gateway_response::{Rejection, ResponseType};

use super::{missing_message, BodyError, ModelId, Models, RequiredParams};

#[derive(Debug, Clone)]
pub struct MethodValidation {
    /// Required parameters, when the validator checks parameters.
    params: Option<RequiredParams>,
    /// (media type, model), when the validator checks the body.
    models: Vec<(String, ModelId)>,
}

/// The request as the validator sees it.
pub struct Request<'a> {
    pub path: &'a [(String, String)],
    pub query: &'a [(String, String)],
    pub headers: &'a [(String, Vec<u8>)],
    pub content_type: Option<&'a [u8]>,
    pub body: &'a [u8],
}

impl MethodValidation {
    /// `None` when the method has no validator or its validator checks nothing.
    pub fn compile(
        method: &Method,
        validators: &BTreeMap<String, RequestValidator>,
        models: &Models,
        path: &str,
    ) -> Result<Option<MethodValidation>, ConfigError> {
        let params = RequiredParams::from_request_parameters(&method.request_parameters)
            .map_err(|r| ConfigError::new(format!("{path}.request_parameters"), r))?;
        let mut by_media = Vec::with_capacity(method.request_models.len());
        for (media, model) in &method.request_models {
            let id = models.id(model).ok_or_else(|| {
                ConfigError::new(
                    format!("{path}.request_models.{media}"),
                    format!("no model `{model}` in `models`"),
                )
            })?;
            by_media.push((media.to_ascii_lowercase(), id));
        }
        let Some(name) = &method.request_validator else { return Ok(None) };
        let validator = validators.get(name).ok_or_else(|| {
            ConfigError::new(
                format!("{path}.request_validator"),
                format!("no request validator `{name}` in `request_validators`"),
            )
        })?;
        let params = validator.validate_request_parameters.then_some(params);
        let models = if validator.validate_request_body { by_media } else { Vec::new() };
        if params.is_none() && models.is_empty() {
            return Ok(None);
        }
        Ok(Some(MethodValidation { params, models }))
    }

    /// Whether validation reads the body.
    pub fn needs_body(&self) -> bool {
        !self.models.is_empty()
    }

    /// Parameters first, then the body against the model for its Content-Type (no
    /// Content-Type: `application/json`; no model for it: the `$default` model, if any).
    pub fn check(&self, models: &Models, request: &Request<'_>) -> Result<(), Rejection> {
        self.check_params(request)?;
        match self.body_model(request.content_type) {
            Some(model) => models.validate(model, request.body).map_err(body_rejection),
            None => Ok(()),
        }
    }

    /// The required parameters, when the validator checks them.
    pub fn check_params(&self, request: &Request<'_>) -> Result<(), Rejection> {
        if let Some(params) = &self.params {
            let missing = params.missing(request.path, request.query, request.headers);
            if !missing.is_empty() {
                return Err(Rejection::with_message(
                    ResponseType::BadRequestParameters,
                    missing_message(&missing),
                ));
            }
        }
        Ok(())
    }

    /// The model the body is checked against: the one for its Content-Type (none:
    /// `application/json`; no model for it: the `$default` model, if any). `None` when the
    /// body is not checked.
    pub fn body_model(&self, content_type: Option<&[u8]>) -> Option<ModelId> {
        if self.models.is_empty() {
            return None;
        }
        let media = crate::transform::integration::media_type(content_type);
        let model = self
            .models
            .iter()
            .find(|(m, _)| *m == media)
            .or_else(|| self.models.iter().find(|(m, _)| m == "$default"));
        model.map(|(_, id)| *id)
    }
}

/// AWS's answer to a body that fails its model: 400 `Invalid request body`, the problems in
/// `$context.error.validationErrorString`.
pub fn body_rejection(error: BodyError) -> Rejection {
    Rejection::with_message(ResponseType::BadRequestBody, "Invalid request body")
        .validation_error(error.validation_error_string())
}
