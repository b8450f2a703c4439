//! How header names are spelled in the events a Lambda function gets. Envoy keeps every name in
//! lower case and the ABI gives no way to the client's own spelling, so an event spells a name
//! as the spec does wherever the spec names it (`method.request.header.HeaderAuth1`); else, for
//! an HTTP/1.1 client, a standard header in the `Header-Case` HTTP/1.1 clients send and AWS's
//! sample events show (`Content-Type`, `User-Agent`, `X-Forwarded-For`, `X-Amz-Date`); else as
//! Envoy has it, lower case (custom headers: the guide's clients send `greeter`, `day`, and
//! HTTP/2 clients send every name in lower case).

use std::borrow::Cow;
use std::collections::BTreeMap;

const HEADER_EXPRESSION: &str = "method.request.header.";

/// The spec's spellings of header names, by lower-case name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HeaderSpellings(BTreeMap<String, String>);

impl HeaderSpellings {
    /// Every `method.request.header.NAME` in `text` (a spec serialized as JSON). The first
    /// spelling of a name wins.
    pub fn scan(text: &str) -> HeaderSpellings {
        let mut out = BTreeMap::new();
        for (at, _) in text.match_indices(HEADER_EXPRESSION) {
            let rest = text.get(at + HEADER_EXPRESSION.len()..).unwrap_or_default();
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c)))
                .unwrap_or(rest.len());
            let name = rest.get(..end).unwrap_or_default();
            // A name that ends a sentence in a description is no different: `X-Id.` is `X-Id`.
            let name = name.trim_end_matches('.');
            if !name.is_empty() {
                out.entry(name.to_ascii_lowercase()).or_insert_with(|| name.to_owned());
            }
        }
        HeaderSpellings(out)
    }

    /// `name` (lower case, as Envoy has it) as the event spells it: the spec's spelling, else
    /// (HTTP/1.1) a standard header's `Header-Case`, else as it is.
    pub fn spell<'a>(&'a self, name: &'a str, http2: bool) -> Cow<'a, str> {
        if let Some(spelled) = self.0.get(name) {
            return Cow::Borrowed(spelled);
        }
        if http2 || !is_standard(name) {
            return Cow::Borrowed(name);
        }
        Cow::Owned(header_case(name))
    }
}

/// Standard request headers, which HTTP/1.1 clients send in `Header-Case`.
const STANDARD: [&str; 33] = [
    "accept",
    "accept-charset",
    "accept-encoding",
    "accept-language",
    "authorization",
    "cache-control",
    "connection",
    "content-encoding",
    "content-length",
    "content-md5",
    "content-type",
    "cookie",
    "date",
    "expect",
    "forwarded",
    "host",
    "if-match",
    "if-modified-since",
    "if-none-match",
    "if-range",
    "if-unmodified-since",
    "origin",
    "pragma",
    "range",
    "referer",
    "transfer-encoding",
    "upgrade",
    "user-agent",
    "via",
    "x-forwarded-for",
    "x-forwarded-port",
    "x-forwarded-proto",
    "x-requested-with",
];

/// Families AWS's clients and edge send in `Header-Case` (`X-Amz-Date`, `X-Amzn-Trace-Id`,
/// `CloudFront-Viewer-Country`).
const STANDARD_PREFIXES: [&str; 3] = ["x-amz-", "x-amzn-", "cloudfront-"];

fn is_standard(name: &str) -> bool {
    STANDARD.contains(&name) || STANDARD_PREFIXES.iter().any(|p| name.starts_with(p))
}

/// A client of this protocol (`HTTP/2`, Envoy's `request.protocol`) sends lower-case names.
pub fn is_http2(protocol: &str) -> bool {
    protocol.starts_with("HTTP/2") || protocol.starts_with("HTTP/3")
}

/// `x-forwarded-for` -> `X-Forwarded-For`: each letter after a `-` (and the first) upper case.
pub fn header_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut upper = true;
    for c in name.chars() {
        out.push(if upper { c.to_ascii_uppercase() } else { c.to_ascii_lowercase() });
        upper = c == '-';
    }
    match out.strip_prefix("Cloudfront-") {
        Some(rest) => format!("CloudFront-{rest}"),
        None => out,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_come_from_the_spec_then_header_case() {
        let spec = r#"{"identity_source": "method.request.header.HeaderAuth1, method.request.querystring.q",
            "request_parameters": {"integration.request.header.x-b": "method.request.header.X-API-Token",
            "other": "method.request.header.x-api-token"}, "doc": "see method.request.header.ETag."}"#;
        let spellings = HeaderSpellings::scan(spec);
        assert_eq!(spellings.spell("headerauth1", false), "HeaderAuth1");
        assert_eq!(spellings.spell("headerauth1", true), "HeaderAuth1");
        assert_eq!(spellings.spell("x-api-token", false), "X-API-Token");
        assert_eq!(spellings.spell("etag", false), "ETag");
        assert_eq!(spellings.spell("x-forwarded-for", false), "X-Forwarded-For");
        assert_eq!(spellings.spell("content-type", true), "content-type");
        assert_eq!(spellings.spell("user-agent", false), "User-Agent");
        assert_eq!(spellings.spell("greeter", false), "greeter");
        assert_eq!(spellings.spell("x-amz-date", false), "X-Amz-Date");
        assert_eq!(
            spellings.spell("cloudfront-is-mobile-viewer", false),
            "CloudFront-Is-Mobile-Viewer"
        );
        assert_eq!(header_case("x-amzn-trace-id"), "X-Amzn-Trace-Id");
        assert_eq!(header_case("dnt"), "Dnt");
        assert_eq!(HeaderSpellings::scan("method.request.header."), HeaderSpellings::default());
    }
}
