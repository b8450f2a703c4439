//! Why a token is refused, and the gateway response each reason gets.

/// AWS's body message for a refused token.
pub const UNAUTHORIZED: &str = "Unauthorized";
/// AWS's message for a token past its `exp`.
pub const EXPIRED: &str = "The incoming token has expired";
/// Why a token is refused: every reason is a 401; the detail is for logs and tests, never for
/// the caller (AWS says `Unauthorized`, or that the token expired).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    /// No token in the identity source.
    #[error("no token")]
    Missing,
    /// Longer than [`super::MAX_TOKEN_BYTES`].
    #[error("token too large")]
    TooLarge,
    /// Not a compact JWS, bad base64url, not JSON, a duplicate member, a claim of the wrong type.
    #[error("malformed token: {0}")]
    Malformed(&'static str),
    /// The header names a key source or extension we never trust (`jku`, `x5u`, `jwk`, `x5c`,
    /// `crit`).
    #[error("refused header parameter `{0}`")]
    Header(&'static str),
    /// `alg` is `none`, unsupported, or not the algorithm of the key.
    #[error("algorithm not allowed for the key")]
    Algorithm,
    /// No key with the token's `kid` (fetching the JWKS again may help).
    #[error("unknown kid")]
    UnknownKid,
    /// No `kid`, and not exactly one key for the token's `alg`.
    #[error("no kid and no single key for the algorithm")]
    AmbiguousKey,
    #[error("bad signature")]
    BadSignature,
    #[error("token expired")]
    Expired,
    #[error("token not yet valid (nbf)")]
    NotYetValid,
    #[error("token issued in the future (iat)")]
    IssuedInFuture,
    #[error("issuer not allowed")]
    Issuer,
    #[error("audience not allowed")]
    Audience,
    /// Cognito's `token_use` is missing or not the one the authorizer wants.
    #[error("wrong token_use")]
    TokenUse,
    /// A valid token without any of the method's scopes.
    #[error("no required scope")]
    Scope,
}

impl JwtError {
    /// HTTP status of the gateway response: 401 for every reason, a missing scope too (AWS:
    /// "if any scope that's specified on the method ... matches a scope that's claimed in the
    /// incoming token ... Otherwise, the call fails with a 401 Unauthorized response").
    pub fn status(&self) -> u16 {
        401
    }

    /// The `{"message": ...}` AWS sends.
    pub fn message(&self) -> &'static str {
        match self {
            JwtError::Expired => EXPIRED,
            _ => UNAUTHORIZED,
        }
    }

    /// The token names a key the set does not have: the caller may fetch the JWKS again.
    pub fn is_unknown_kid(&self) -> bool {
        matches!(self, JwtError::UnknownKid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::test;

    #[test]
    fn aws_statuses_and_messages() {
        assert_eq!(
            (JwtError::Missing.status(), JwtError::Missing.message()),
            (401, "Unauthorized")
        );
        assert_eq!(
            (JwtError::Expired.status(), JwtError::Expired.message()),
            (401, "The incoming token has expired")
        );
        assert_eq!((JwtError::Scope.status(), JwtError::Scope.message()), (401, "Unauthorized"));
        assert_eq!(JwtError::BadSignature.message(), "Unauthorized");
        assert!(JwtError::UnknownKid.is_unknown_kid());
        assert!(!JwtError::BadSignature.is_unknown_kid());
    }
}
