//! AWS API Gateway's gateway response types: the keys of `gateway_responses` in a config, and
//! the kind of every rejection ([`crate::gateway_response`]).

use serde::{Deserialize, Serialize};

/// AWS API Gateway's gateway response types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ResponseType {
    AccessDenied,
    ApiConfigurationError,
    AuthorizerConfigurationError,
    AuthorizerFailure,
    BadRequestParameters,
    BadRequestBody,
    #[serde(rename = "DEFAULT_4XX")]
    Default4xx,
    #[serde(rename = "DEFAULT_5XX")]
    Default5xx,
    ExpiredToken,
    IntegrationFailure,
    IntegrationTimeout,
    InvalidApiKey,
    InvalidSignature,
    MissingAuthenticationToken,
    QuotaExceeded,
    RequestTooLarge,
    ResourceNotFound,
    Throttled,
    Unauthorized,
    UnsupportedMediaType,
    WafFiltered,
}

impl ResponseType {
    pub const ALL: [ResponseType; 21] = [
        ResponseType::AccessDenied,
        ResponseType::ApiConfigurationError,
        ResponseType::AuthorizerConfigurationError,
        ResponseType::AuthorizerFailure,
        ResponseType::BadRequestParameters,
        ResponseType::BadRequestBody,
        ResponseType::Default4xx,
        ResponseType::Default5xx,
        ResponseType::ExpiredToken,
        ResponseType::IntegrationFailure,
        ResponseType::IntegrationTimeout,
        ResponseType::InvalidApiKey,
        ResponseType::InvalidSignature,
        ResponseType::MissingAuthenticationToken,
        ResponseType::QuotaExceeded,
        ResponseType::RequestTooLarge,
        ResponseType::ResourceNotFound,
        ResponseType::Throttled,
        ResponseType::Unauthorized,
        ResponseType::UnsupportedMediaType,
        ResponseType::WafFiltered,
    ];

    /// (status, default message, `x-amzn-ErrorType`) as AWS sends them.
    const fn defaults(self) -> (u16, &'static str, &'static str) {
        use ResponseType::*;
        match self {
            AccessDenied => {
                (403, "User is not authorized to access this resource", "AccessDeniedException")
            }
            ApiConfigurationError => (500, "Internal server error", "InternalServerErrorException"),
            AuthorizerConfigurationError => {
                (500, "Internal server error", "AuthorizerConfigurationException")
            }
            AuthorizerFailure => (500, "Internal server error", "AuthorizerFailureException"),
            BadRequestParameters | BadRequestBody => (400, "Bad Request", "BadRequestException"),
            Default4xx => (400, "Bad Request", "BadRequestException"),
            Default5xx => (500, "Internal server error", "InternalServerErrorException"),
            ExpiredToken => (
                403,
                "The security token included in the request is expired",
                "ExpiredTokenException",
            ),
            IntegrationFailure => (504, "Internal server error", "InternalServerErrorException"),
            IntegrationTimeout => {
                (504, "Endpoint request timed out", "InternalServerErrorException")
            }
            InvalidApiKey => (403, "Forbidden", "ForbiddenException"),
            InvalidSignature => (403, "Forbidden", "InvalidSignatureException"),
            MissingAuthenticationToken => {
                (403, "Missing Authentication Token", "MissingAuthenticationTokenException")
            }
            QuotaExceeded => (429, "Limit Exceeded", "LimitExceededException"),
            RequestTooLarge => (413, "Request Too Long", "RequestTooLargeException"),
            ResourceNotFound => (404, "Not Found", "NotFoundException"),
            Throttled => (429, "Too Many Requests", "TooManyRequestsException"),
            Unauthorized => (401, "Unauthorized", "UnauthorizedException"),
            UnsupportedMediaType => {
                (415, "Unsupported Media Type", "UnsupportedMediaTypeException")
            }
            WafFiltered => (403, "Forbidden", "ForbiddenException"),
        }
    }

    pub const fn status(self) -> u16 {
        self.defaults().0
    }

    pub const fn default_message(self) -> &'static str {
        self.defaults().1
    }

    pub const fn error_type(self) -> &'static str {
        self.defaults().2
    }

    /// The config spelling (`INVALID_API_KEY`), also used in metric names.
    pub fn name(self) -> &'static str {
        use ResponseType::*;
        match self {
            AccessDenied => "ACCESS_DENIED",
            ApiConfigurationError => "API_CONFIGURATION_ERROR",
            AuthorizerConfigurationError => "AUTHORIZER_CONFIGURATION_ERROR",
            AuthorizerFailure => "AUTHORIZER_FAILURE",
            BadRequestParameters => "BAD_REQUEST_PARAMETERS",
            BadRequestBody => "BAD_REQUEST_BODY",
            Default4xx => "DEFAULT_4XX",
            Default5xx => "DEFAULT_5XX",
            ExpiredToken => "EXPIRED_TOKEN",
            IntegrationFailure => "INTEGRATION_FAILURE",
            IntegrationTimeout => "INTEGRATION_TIMEOUT",
            InvalidApiKey => "INVALID_API_KEY",
            InvalidSignature => "INVALID_SIGNATURE",
            MissingAuthenticationToken => "MISSING_AUTHENTICATION_TOKEN",
            QuotaExceeded => "QUOTA_EXCEEDED",
            RequestTooLarge => "REQUEST_TOO_LARGE",
            ResourceNotFound => "RESOURCE_NOT_FOUND",
            Throttled => "THROTTLED",
            Unauthorized => "UNAUTHORIZED",
            UnsupportedMediaType => "UNSUPPORTED_MEDIA_TYPE",
            WafFiltered => "WAF_FILTERED",
        }
    }
}
