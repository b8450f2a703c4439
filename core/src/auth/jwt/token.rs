//! A compact JWS taken apart: three base64url segments, a header we check ourselves (the
//! algorithm and key come from our key set, never from a URL or key the token names) and claims
//! parsed without duplicate members.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{Map, Value};

use super::json::{parse_object, JsonError};
use super::jwks::Alg;
use super::{JwtError, MAX_TOKEN_BYTES};

/// Header parameters that name keys or certificates somewhere else: we never fetch or trust
/// them, and refuse tokens that carry them rather than ignore what the issuer meant.
const KEY_SOURCES: [&str; 4] = ["jku", "x5u", "jwk", "x5c"];
const MAX_KID_BYTES: usize = 256;

/// A token whose shape and header are acceptable; its signature is not checked yet.
#[derive(Debug)]
pub struct Parsed<'a> {
    /// The whole token, ASCII.
    pub text: &'a str,
    pub alg: Alg,
    pub kid: Option<String>,
    /// The whole header, for the checks some algorithms add.
    pub header: Map<String, Value>,
    pub claims: Map<String, Value>,
    /// The decoded signature.
    pub signature: Vec<u8>,
}

pub fn parse(token: &[u8]) -> Result<Parsed<'_>, JwtError> {
    if token.is_empty() {
        return Err(JwtError::Missing);
    }
    if token.len() > MAX_TOKEN_BYTES {
        return Err(JwtError::TooLarge);
    }
    if !token.iter().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.')) {
        return Err(JwtError::Malformed("not base64url"));
    }
    let text = std::str::from_utf8(token).map_err(|_| JwtError::Malformed("not base64url"))?;
    let mut segments = text.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (segments.next(), segments.next(), segments.next(), segments.next())
    else {
        return Err(JwtError::Malformed("not three segments"));
    };
    let header = parse_object(&decode(header)?).map_err(|e| match e {
        JsonError::Duplicate => JwtError::Malformed("duplicate header member"),
        _ => JwtError::Malformed("header is not a JSON object"),
    })?;
    let (alg, kid) = check_header(&header)?;
    let claims = parse_object(&decode(payload)?).map_err(|e| match e {
        JsonError::Duplicate => JwtError::Malformed("duplicate claim"),
        _ => JwtError::Malformed("claims are not a JSON object"),
    })?;
    // An empty signature is an unsecured JWS: refused here, whatever the key.
    let signature = decode(signature)?;
    Ok(Parsed { text, alg, kid, header, claims, signature })
}

/// Strict base64url without padding; an empty segment is refused.
fn decode(segment: &str) -> Result<Vec<u8>, JwtError> {
    if segment.is_empty() {
        return Err(JwtError::Malformed("empty segment"));
    }
    URL_SAFE_NO_PAD.decode(segment).map_err(|_| JwtError::Malformed("bad base64url"))
}

fn check_header(header: &Map<String, Value>) -> Result<(Alg, Option<String>), JwtError> {
    for name in KEY_SOURCES {
        if header.contains_key(name) {
            return Err(JwtError::Header(name));
        }
    }
    // We implement no extension, so any `crit` is one we do not understand (RFC 7515 4.1.11;
    // an empty list is not allowed either).
    if header.contains_key("crit") {
        return Err(JwtError::Header("crit"));
    }
    if header.contains_key("enc") || header.contains_key("zip") {
        return Err(JwtError::Malformed("a JWE header"));
    }
    let alg = match header.get("alg") {
        Some(Value::String(name)) => Alg::from_name(name).ok_or(JwtError::Algorithm)?,
        Some(_) => return Err(JwtError::Malformed("alg is not a string")),
        None => return Err(JwtError::Malformed("no alg")),
    };
    let kid = match header.get("kid") {
        None => None,
        Some(Value::String(kid)) if kid.len() <= MAX_KID_BYTES => Some(kid.clone()),
        Some(_) => return Err(JwtError::Malformed("kid is not a short string")),
    };
    // Like jwt-simple: `JWT` or a `+jwt` media type (`at+jwt`), in any case.
    match header.get("typ") {
        None => {}
        Some(Value::String(typ))
            if typ.eq_ignore_ascii_case("JWT") || typ.to_ascii_uppercase().ends_with("+JWT") => {}
        Some(_) => return Err(JwtError::Malformed("typ is not JWT")),
    }
    // A nested JWT would need a second verification we do not do.
    match header.get("cty") {
        None => {}
        Some(Value::String(cty)) if !cty.eq_ignore_ascii_case("JWT") => {}
        Some(_) => return Err(JwtError::Malformed("nested JWT (cty)")),
    }
    Ok((alg, kid))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::test;

    fn b64(text: &str) -> String {
        URL_SAFE_NO_PAD.encode(text)
    }

    fn token(header: &str, claims: &str) -> String {
        format!("{}.{}.c2ln", b64(header), b64(claims))
    }

    #[test]
    fn a_good_shape_parses() {
        let t = token(r#"{"alg":"RS256","kid":"k1","typ":"at+jwt"}"#, r#"{"sub":"u"}"#);
        let p = parse(t.as_bytes()).unwrap();
        assert_eq!(
            (p.alg, p.kid.as_deref(), p.signature.as_slice()),
            (Alg::Rs256, Some("k1"), &b"sig"[..])
        );
        assert_eq!(p.claims.get("sub"), Some(&Value::String("u".into())));
        assert_eq!(p.text, t);
    }

    #[test]
    fn header_refusals() {
        let cases: [(&str, JwtError); 14] = [
            (r#"{"alg":"none"}"#, JwtError::Algorithm),
            (r#"{"alg":"None"}"#, JwtError::Algorithm),
            (r#"{"alg":"ES256K"}"#, JwtError::Algorithm),
            (r#"{"alg":["RS256"]}"#, JwtError::Malformed("alg is not a string")),
            (r#"{"kid":"a"}"#, JwtError::Malformed("no alg")),
            (r#"{"alg":"RS256","jku":"https://evil/jwks"}"#, JwtError::Header("jku")),
            (r#"{"alg":"RS256","x5u":"https://evil/cert"}"#, JwtError::Header("x5u")),
            (r#"{"alg":"RS256","jwk":{"kty":"oct","k":"AA"}}"#, JwtError::Header("jwk")),
            (r#"{"alg":"RS256","x5c":["MIIB"]}"#, JwtError::Header("x5c")),
            (r#"{"alg":"RS256","crit":["exp"],"exp":1}"#, JwtError::Header("crit")),
            (r#"{"alg":"RS256","crit":[]}"#, JwtError::Header("crit")),
            (r#"{"alg":"RS256","typ":"JOSE"}"#, JwtError::Malformed("typ is not JWT")),
            (r#"{"alg":"RS256","cty":"JWT"}"#, JwtError::Malformed("nested JWT (cty)")),
            (r#"{"alg":"RS256","alg":"HS256"}"#, JwtError::Malformed("duplicate header member")),
        ];
        for (header, want) in cases {
            assert_eq!(parse(token(header, "{}").as_bytes()).unwrap_err(), want, "{header}");
        }
    }

    #[test]
    fn shape_refusals() {
        let h = b64(r#"{"alg":"HS256"}"#);
        let c = b64("{}");
        let cases: Vec<(String, JwtError)> = vec![
            (String::new(), JwtError::Missing),
            (format!("{h}.{c}"), JwtError::Malformed("not three segments")),
            (format!("{h}.{c}.c2ln.c2ln"), JwtError::Malformed("not three segments")),
            (format!("{h}.{c}."), JwtError::Malformed("empty segment")),
            (format!("{h}.{c}.c2ln="), JwtError::Malformed("not base64url")),
            (format!("{h}.{c}.c2l+"), JwtError::Malformed("not base64url")),
            (format!("{h} .{c}.c2ln"), JwtError::Malformed("not base64url")),
            // A length no base64 encoding has, and non-zero trailing bits.
            (format!("{h}.{c}.c2lu1"), JwtError::Malformed("bad base64url")),
            (format!("{h}.{c}.AB"), JwtError::Malformed("bad base64url")),
            (
                format!("{h}.{}.c2ln", b64("[1]")),
                JwtError::Malformed("claims are not a JSON object"),
            ),
            (
                format!("{h}.{}.c2ln", b64("hello")),
                JwtError::Malformed("claims are not a JSON object"),
            ),
            (
                format!("{h}.{}.c2ln", b64(r#"{"a":1,"a":2}"#)),
                JwtError::Malformed("duplicate claim"),
            ),
            ("a".repeat(MAX_TOKEN_BYTES + 1), JwtError::TooLarge),
        ];
        for (t, want) in cases {
            assert_eq!(parse(t.as_bytes()).unwrap_err(), want, "{t:.80}");
        }
    }
}
