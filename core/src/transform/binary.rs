//! Binary payloads as API Gateway (REST) tells them from text: by Content-Type (or, for what a
//! client gets back, its first `Accept` type) among the API's `binaryMediaTypes`; and the
//! `contentHandling` conversions between binary and base64 text.

use base64::Engine as _;

use crate::config::ContentHandling;

/// The API's binary media types, lower case (`image/png`, `image/*`, `*/*`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BinaryTypes(Vec<String>);

impl BinaryTypes {
    pub fn new(types: &[String]) -> BinaryTypes {
        BinaryTypes(types.iter().map(|t| t.trim().to_ascii_lowercase()).collect())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `media` (a Content-Type, parameters allowed) is binary: an exact type, a
    /// `type/*` family or `*/*`.
    pub fn matches(&self, media: Option<&[u8]>) -> bool {
        let Some(media) = media.filter(|_| !self.0.is_empty()) else { return false };
        let media = String::from_utf8_lossy(media);
        let media = media.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
        if media.is_empty() {
            return false;
        }
        let family = media.split('/').next().unwrap_or_default();
        self.0
            .iter()
            .any(|t| t == "*/*" || *t == media || t.strip_suffix("/*").is_some_and(|f| f == family))
    }

    /// Whether a client that sent `accept` gets binary: API Gateway honours only the first
    /// media type of `Accept`.
    pub fn accepts(&self, accept: Option<&[u8]>) -> bool {
        let first = accept.and_then(|a| a.split(|b| *b == b',').next());
        self.matches(first)
    }
}

/// `CONVERT_TO_BINARY` of a payload that is not base64.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotBase64;

/// The payload after `contentHandling`: `CONVERT_TO_TEXT` base64-encodes a binary payload,
/// `CONVERT_TO_BINARY` decodes a text payload from base64; otherwise (or already in the wanted
/// form) it is unchanged (`Ok(None)`). `Err`: text to convert that is not base64.
pub fn convert(
    body: &[u8],
    handling: Option<ContentHandling>,
    binary: bool,
) -> Result<Option<Vec<u8>>, NotBase64> {
    let engine = base64::engine::general_purpose::STANDARD;
    match handling {
        Some(ContentHandling::ConvertToText) if binary => {
            Ok(Some(engine.encode(body).into_bytes()))
        }
        Some(ContentHandling::ConvertToBinary) if !binary => {
            let text: Vec<u8> = body.iter().copied().filter(|b| !b.is_ascii_whitespace()).collect();
            engine.decode(text).map(Some).map_err(|_| NotBase64)
        }
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_types_and_conversions() {
        let types = BinaryTypes::new(&["image/png".into(), "application/*".into()]);
        assert!(types.matches(Some(b"image/png")));
        assert!(types.matches(Some(b"Image/PNG; q=1")));
        assert!(types.matches(Some(b"application/octet-stream")));
        assert!(!types.matches(Some(b"image/jpeg")));
        assert!(!types.matches(None));
        assert!(types.accepts(Some(b"image/png, text/html")));
        assert!(!types.accepts(Some(b"text/html, image/png")), "only the first Accept type");
        assert!(BinaryTypes::new(&["*/*".into()]).matches(Some(b"text/plain")));
        assert!(!BinaryTypes::default().matches(Some(b"image/png")));
        let text = Some(ContentHandling::ConvertToText);
        let binary = Some(ContentHandling::ConvertToBinary);
        assert_eq!(convert(b"\x89PNG", text, true), Ok(Some(b"iVBORw==".to_vec())));
        assert_eq!(convert(b"\x89PNG", text, false), Ok(None));
        assert_eq!(convert(b"iVBO\nRw==", binary, false), Ok(Some(b"\x89PNG".to_vec())));
        assert_eq!(convert(b"not base64!", binary, false), Err(NotBase64));
        assert_eq!(convert(b"\x89PNG", binary, true), Ok(None));
        assert_eq!(convert(b"x", None, true), Ok(None));
    }
}
