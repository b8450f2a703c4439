//! Required request parameters: a method's `requestParameters` (`method.request.{where}.{name}`
//! -> required) checked as AWS's request validators check them. A required parameter must be
//! present and not blank (empty or whitespace only); headers match case-insensitively.

use std::collections::BTreeMap;

/// Where a request parameter is read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ParamLocation {
    Path,
    /// `querystring` and `multivaluequerystring`.
    Querystring,
    /// `header` and `multivalueheader`.
    Header,
}

impl ParamLocation {
    fn parse(word: &str) -> Option<ParamLocation> {
        match word {
            "path" => Some(ParamLocation::Path),
            "querystring" | "multivaluequerystring" => Some(ParamLocation::Querystring),
            "header" | "multivalueheader" => Some(ParamLocation::Header),
            _ => None,
        }
    }
}

/// A method's required request parameters, in AWS's order: by `requestParameters` key, so
/// `header`, `multivalueheader`, `multivaluequerystring`, `path`, then `querystring` names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequiredParams {
    params: Vec<(ParamLocation, String)>,
}

const PREFIX: &str = "method.request.";

impl RequiredParams {
    /// Reads AWS's `requestParameters` map. Keys set to `false` are optional and not checked;
    /// a key that is not `method.request.{path|querystring|multivaluequerystring|header|
    /// multivalueheader}.{name}` is an error.
    pub fn from_request_parameters(
        request_parameters: &BTreeMap<String, bool>,
    ) -> Result<RequiredParams, String> {
        let mut params: Vec<(ParamLocation, String)> = Vec::new();
        for (key, &required) in request_parameters {
            let (location, name) = parse_key(key).ok_or_else(|| {
                format!(
                    "request parameter {key:?}: expected method.request.{{path|querystring|\
                     multivaluequerystring|header|multivalueheader}}.{{name}}"
                )
            })?;
            let seen = params.iter().any(|(l, n)| *l == location && same_name(location, n, name));
            if required && !seen {
                params.push((location, name.to_owned()));
            }
        }
        Ok(RequiredParams { params })
    }

    /// Whether nothing is required.
    pub fn is_empty(&self) -> bool {
        self.params.is_empty()
    }

    /// Required path parameters.
    pub fn path(&self) -> impl Iterator<Item = &str> {
        self.at(ParamLocation::Path)
    }

    /// Required query string parameters.
    pub fn querystring(&self) -> impl Iterator<Item = &str> {
        self.at(ParamLocation::Querystring)
    }

    /// Required headers.
    pub fn header(&self) -> impl Iterator<Item = &str> {
        self.at(ParamLocation::Header)
    }

    fn at(&self, location: ParamLocation) -> impl Iterator<Item = &str> {
        self.params.iter().filter(move |(l, _)| *l == location).map(|(_, n)| n.as_str())
    }

    /// The required parameters that the request lacks or has blank, named as configured, in
    /// order. `query` holds decoded `(name, value)` pairs (a name may repeat: one non-blank
    /// value is enough); `headers` hold `(name, value)` in any case.
    pub fn missing(
        &self,
        path_params: &[(String, String)],
        query: &[(String, String)],
        headers: &[(String, Vec<u8>)],
    ) -> Vec<String> {
        self.params
            .iter()
            .filter(|(location, name)| {
                let present = match location {
                    ParamLocation::Path => {
                        path_params.iter().any(|(n, v)| n == name && !blank(v.as_bytes()))
                    }
                    ParamLocation::Querystring => {
                        query.iter().any(|(n, v)| n == name && !blank(v.as_bytes()))
                    }
                    ParamLocation::Header => {
                        headers.iter().any(|(n, v)| n.eq_ignore_ascii_case(name) && !blank(v))
                    }
                };
                !present
            })
            .map(|(_, name)| name.clone())
            .collect()
    }
}

/// AWS's message for missing parameters: `Missing required request parameters: [a, b]`.
pub fn missing_message(names: &[String]) -> String {
    format!("Missing required request parameters: [{}]", names.join(", "))
}

fn parse_key(key: &str) -> Option<(ParamLocation, &str)> {
    let (location, name) = key.strip_prefix(PREFIX)?.split_once('.')?;
    let location = ParamLocation::parse(location)?;
    (!name.is_empty()).then_some((location, name))
}

fn same_name(location: ParamLocation, a: &str, b: &str) -> bool {
    match location {
        ParamLocation::Header => a.eq_ignore_ascii_case(b),
        ParamLocation::Path | ParamLocation::Querystring => a == b,
    }
}

/// Empty or only whitespace: what AWS calls blank.
fn blank(value: &[u8]) -> bool {
    match std::str::from_utf8(value) {
        Ok(s) => s.trim().is_empty(),
        Err(_) => value.iter().all(u8::is_ascii_whitespace),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::test;

    fn required(pairs: &[(&str, bool)]) -> RequiredParams {
        let map: BTreeMap<String, bool> = pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect();
        RequiredParams::from_request_parameters(&map).unwrap()
    }

    fn strings(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn headers(pairs: &[(&str, &str)]) -> Vec<(String, Vec<u8>)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.as_bytes().to_vec())).collect()
    }

    #[test]
    fn reads_every_location_and_skips_optional_ones() {
        let params = required(&[
            ("method.request.path.petId", true),
            ("method.request.querystring.limit", true),
            ("method.request.multivaluequerystring.tag", true),
            ("method.request.header.x-foo", true),
            ("method.request.multivalueheader.X-Multi", true),
            ("method.request.querystring.page", false),
        ]);
        assert_eq!(params.path().collect::<Vec<_>>(), ["petId"]);
        assert_eq!(params.querystring().collect::<Vec<_>>(), ["tag", "limit"]);
        assert_eq!(params.header().collect::<Vec<_>>(), ["x-foo", "X-Multi"]);
        assert!(!params.is_empty());
        assert!(required(&[("method.request.header.a", false)]).is_empty());
    }

    #[test]
    fn malformed_keys_are_errors() {
        for key in [
            "method.request.body",
            "method.request.cookie.a",
            "method.request.header.",
            "method.response.header.a",
            "integration.request.header.a",
            "header.a",
            "",
        ] {
            let map = BTreeMap::from([(key.to_owned(), true)]);
            let err = RequiredParams::from_request_parameters(&map).unwrap_err();
            assert!(err.contains(&format!("{key:?}")), "{err}");
        }
    }

    #[test]
    fn names_with_dots_are_kept_whole() {
        let params = required(&[("method.request.querystring.filter.name", true)]);
        assert_eq!(params.querystring().collect::<Vec<_>>(), ["filter.name"]);
    }

    #[test]
    fn missing_names_come_in_aws_order_as_configured() {
        let params = required(&[
            ("method.request.querystring.limit", true),
            ("method.request.header.x-foo", true),
            ("method.request.path.petId", true),
        ]);
        let missing = params.missing(&[], &[], &[]);
        assert_eq!(missing, ["x-foo", "petId", "limit"]);
        assert_eq!(
            missing_message(&missing),
            "Missing required request parameters: [x-foo, petId, limit]"
        );
    }

    #[test]
    fn present_parameters_satisfy_and_headers_ignore_case() {
        let params = required(&[
            ("method.request.querystring.limit", true),
            ("method.request.header.X-Foo", true),
            ("method.request.path.petId", true),
        ]);
        let missing = params.missing(
            &strings(&[("petId", "7")]),
            &strings(&[("limit", "10")]),
            &headers(&[("x-foo", "bar")]),
        );
        assert!(missing.is_empty(), "{missing:?}");
    }

    #[test]
    fn blank_values_count_as_missing() {
        let params = required(&[
            ("method.request.querystring.limit", true),
            ("method.request.header.x-foo", true),
            ("method.request.path.petId", true),
        ]);
        let missing = params.missing(
            &strings(&[("petId", " ")]),
            &strings(&[("limit", "")]),
            &headers(&[("X-FOO", " \t")]),
        );
        assert_eq!(missing, ["x-foo", "petId", "limit"]);
    }

    #[test]
    fn query_names_are_case_sensitive_and_one_value_is_enough() {
        let params = required(&[("method.request.querystring.limit", true)]);
        assert_eq!(params.missing(&[], &strings(&[("Limit", "1")]), &[]), ["limit"]);
        let repeated = strings(&[("limit", ""), ("limit", "5")]);
        assert!(params.missing(&[], &repeated, &[]).is_empty());
    }

    #[test]
    fn header_and_multivalueheader_of_one_name_are_checked_once() {
        let params = required(&[
            ("method.request.header.x-id", true),
            ("method.request.multivalueheader.X-Id", true),
        ]);
        assert_eq!(params.header().collect::<Vec<_>>(), ["x-id"]);
        assert_eq!(params.missing(&[], &[], &[]), ["x-id"]);
    }

    #[test]
    fn missing_message_of_one_and_none() {
        assert_eq!(missing_message(&["x".to_owned()]), "Missing required request parameters: [x]");
        assert_eq!(missing_message(&[]), "Missing required request parameters: []");
    }
}
