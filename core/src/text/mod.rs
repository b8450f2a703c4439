//! The vocabulary every other module speaks, at the bottom of `core` (it uses no other module):
//! percent-encoding, hex, the calendar, header names and ids.

pub mod datetime;
pub mod header_case;
pub mod hex;
pub mod percent;

/// RFC 7230 token characters, the only ones allowed in a header name.
pub(crate) fn is_token(name: &str) -> bool {
    !name.is_empty()
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// A DNS host name (`api.example.com`, a `*.` wildcard's labels too): labels of letters, digits
/// and `-`, not starting or ending with `-`, at most 253 characters.
pub fn is_host_name(name: &str) -> bool {
    let label_ok = |l: &str| {
        (1..=63).contains(&l.len())
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    name.len() <= 253 && name.split('.').all(label_ok)
}

/// What an id may be made of (ids become part of shared-data keys).
pub(crate) const ID_RULE: &str = "must be 1-128 characters of [A-Za-z0-9._~-]";

/// Ids become part of shared-data keys, so they are kept to a safe alphabet.
pub fn is_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'~' | b'-'))
}

/// `$context.extendedRequestId` and the `x-amz-apigw-id` header: the first 16 characters of
/// the request id (Envoy's `%REQ(x-request-id):16%`, so Envoy can write the header on answers
/// it proxies without asking the filter).
pub fn extended_request_id(request_id: &str) -> &str {
    let end = request_id.char_indices().nth(16).map_or(request_id.len(), |(i, _)| i);
    request_id.get(..end).unwrap_or(request_id)
}
