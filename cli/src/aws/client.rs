//! The API Gateway control plane of a live account, read with SigV4-signed `GET`s.
//!
//! The region, endpoint and credentials are found as the AWS CLI finds them ([`settings`]),
//! from an environment the tests give ([`Env`]). The reading itself ([`read_account`]) talks
//! to the control plane through one seam ([`ControlPlane`]): over HTTPS with [`Http`], or
//! from canned answers in the tests.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;
use tollgate_core::auth::sigv4::{authorization, format_amz_date, Request, Signer};

use super::settings::{settings, Credentials, Endpoint, Env, Settings};
use super::{items, text, Account, DomainName, RestApi, UsagePlan};

/// Where to read: the AWS CLI's `--profile`, `--region`, `--endpoint-url`.
#[derive(Debug, Clone, Default)]
pub struct Source {
    pub profile: Option<String>,
    pub region: Option<String>,
    pub endpoint_url: Option<String>,
}

/// Reads the account's APIs (all, or those of `api_ids`), keys, plans and domains.
pub fn fetch(source: &Source, api_ids: &[String]) -> Result<Account, String> {
    let var = |name: &str| std::env::var(name).ok();
    let read = |path: &str| std::fs::read_to_string(path).ok();
    let settings = settings(source, &Env { var: &var, read: &read })?;
    let http = Http::new(&settings);
    read_account(&http, &settings.region, api_ids)
}

const SERVICE: &str = "apigateway";
/// The control plane's largest page.
const PAGE: &str = "500";
/// Pages of one listing at most (a million items): a bound, not a limit anyone meets.
const MAX_PAGES: usize = 2000;
/// Throttled (`429`) or unavailable answers are tried again this many times, backing off.
const RETRIES: u32 = 5;
/// An export of a large API is a few MiB; nothing the control plane sends is near this.
const MAX_ANSWER: u64 = 64 << 20;

// ---- Requests ----

/// A path segment or query part percent-encoded (RFC 3986 unreserved characters kept).
pub(crate) fn encode(segment: &str) -> String {
    tollgate_core::text::percent::uri_encode(segment.as_bytes())
}

/// `/a/b/c` from segments, each encoded.
pub(crate) fn path(segments: &[&str]) -> String {
    segments.iter().map(|s| format!("/{}", encode(s))).collect()
}

/// `k=v&k=v`, values encoded.
fn query(pairs: &[(&str, &str)]) -> String {
    let pairs = pairs.iter().map(|(k, v)| format!("{}={}", encode(k), encode(v)));
    pairs.collect::<Vec<_>>().join("&")
}

/// The headers of a signed `GET` of `path?query` (the path already encoded, below the
/// endpoint's base): `host`, `x-amz-date`, `x-amz-security-token`, `authorization`.
pub(crate) fn signed_get(
    endpoint: &Endpoint,
    path: &str,
    query: &str,
    credentials: &Credentials,
    (region, service): (&str, &str),
    amz_date: &str,
) -> Vec<(String, String)> {
    let mut headers = vec![
        ("host".to_string(), endpoint.host.clone()),
        ("x-amz-date".into(), amz_date.to_string()),
    ];
    if let Some(token) = &credentials.session_token {
        headers.push(("x-amz-security-token".into(), token.clone()));
    }
    let signed: Vec<String> = headers.iter().map(|(n, _)| n.clone()).collect();
    let raw: Vec<(String, Vec<u8>)> =
        headers.iter().map(|(n, v)| (n.clone(), v.clone().into_bytes())).collect();
    let full = format!("{}{path}", endpoint.base);
    let request = Request {
        method: b"GET",
        path: full.as_bytes(),
        query: query.as_bytes(),
        headers: &raw,
        body: b"",
    };
    let signer = Signer {
        access_key_id: &credentials.access_key_id,
        secret_access_key: credentials.secret_access_key.as_bytes(),
        region,
        service,
        amz_date,
    };
    headers.push(("authorization".into(), authorization(&request, &signed, signer)));
    headers
}

/// Why a `GET` failed: the HTTP status when there was an answer, and the whole message.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Failure {
    pub status: Option<u16>,
    pub message: String,
}

/// The control plane, one `GET` at a time: the JSON answer of `path?query`.
pub(crate) trait ControlPlane {
    fn get(&self, path: &str, query: &str) -> Result<Value, Failure>;
}

/// The control plane over HTTP(S).
struct Http<'a> {
    agent: ureq::Agent,
    settings: &'a Settings,
}

impl<'a> Http<'a> {
    fn new(settings: &'a Settings) -> Http<'a> {
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_connect(Some(Duration::from_secs(10)))
            .timeout_global(Some(Duration::from_secs(120)))
            .user_agent(concat!("tollgate/", env!("CARGO_PKG_VERSION")))
            .build();
        Http { agent: ureq::Agent::new_with_config(config), settings }
    }

    /// One attempt: the status, `Retry-After` seconds, and the body.
    fn once(&self, path: &str, query: &str) -> Result<(u16, Option<u64>, Vec<u8>), String> {
        let s = self.settings;
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let date = format_amz_date(i64::try_from(now).unwrap_or_default());
        let headers =
            signed_get(&s.endpoint, path, query, &s.credentials, (&s.region, SERVICE), &date);
        let sep = if query.is_empty() { "" } else { "?" };
        let url = format!("{}{}{path}{sep}{query}", s.endpoint.origin, s.endpoint.base);
        let mut request = self.agent.get(&url).header("accept", "application/json");
        for (name, value) in &headers {
            request = request.header(name.as_str(), value.as_str());
        }
        let origin = &s.endpoint.origin;
        let (parts, mut body) =
            request.call().map_err(|e| format!("cannot reach {origin}: {e}"))?.into_parts();
        let retry_after =
            parts.headers.get("retry-after").and_then(|v| v.to_str().ok()?.trim().parse().ok());
        let bytes = body
            .with_config()
            .limit(MAX_ANSWER)
            .read_to_vec()
            .map_err(|e| format!("reading the answer from {origin}: {e}"))?;
        Ok((parts.status.as_u16(), retry_after, bytes))
    }
}

impl ControlPlane for Http<'_> {
    fn get(&self, path: &str, query: &str) -> Result<Value, Failure> {
        let what = format!("{SERVICE} GET {path}");
        let mut attempt = 0;
        loop {
            let (status, retry_after, body) = self
                .once(path, query)
                .map_err(|e| Failure { status: None, message: format!("{what}: {e}") })?;
            let again = matches!(status, 429 | 502 | 503 | 504) && attempt < RETRIES;
            if again {
                let backoff = retry_after.unwrap_or(1 << attempt).min(20);
                std::thread::sleep(Duration::from_secs(backoff));
                attempt += 1;
                continue;
            }
            if !(200..300).contains(&status) {
                return Err(Failure {
                    status: Some(status),
                    message: format!("{what}: {}", refusal(status, &body)),
                });
            }
            return serde_json::from_slice(&body).map_err(|e| Failure {
                status: None,
                message: format!("{what}: the answer is not JSON: {e}"),
            });
        }
    }
}

/// `403 Forbidden: {message}` from an error answer (`message` or `Message` in its JSON).
fn refusal(status: u16, body: &[u8]) -> String {
    let reason = ureq::http::StatusCode::from_u16(status).ok().and_then(|s| s.canonical_reason());
    let json: Option<Value> = serde_json::from_slice(body).ok();
    let message = json
        .as_ref()
        .and_then(|j| j.get("message").or_else(|| j.get("Message")))
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| {
            let body = String::from_utf8_lossy(body);
            body.split_whitespace().collect::<Vec<_>>().join(" ").chars().take(200).collect()
        });
    format!("{status} {}: {}", reason.unwrap_or_default(), message.trim())
}

// ---- Reading the account ----

/// Every item of a paginated listing: `limit=500`, then each answer's `position` echoed back.
fn all(
    plane: &dyn ControlPlane,
    path: &str,
    params: &[(&str, &str)],
) -> Result<Vec<Value>, String> {
    let mut out = Vec::new();
    let mut position: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let mut pairs = params.to_vec();
        pairs.push(("limit", PAGE));
        if let Some(p) = &position {
            pairs.push(("position", p));
        }
        let answer = plane.get(path, &query(&pairs)).map_err(|f| f.message)?;
        out.extend(items(&answer));
        let next = answer.get("position").and_then(Value::as_str).filter(|p| !p.is_empty());
        match next {
            None => return Ok(out),
            Some(next) if position.as_deref() == Some(next) => {
                return Err(format!(
                    "{SERVICE} GET {path}: the answer's position does not move on"
                ));
            }
            Some(next) => position = Some(next.to_string()),
        }
    }
    Err(format!("{SERVICE} GET {path}: more than {MAX_PAGES} pages"))
}

/// The account: the REST APIs (those of `api_ids` when some are given), keys, plans, domains.
pub(crate) fn read_account(
    plane: &dyn ControlPlane,
    region: &str,
    api_ids: &[String],
) -> Result<Account, String> {
    let listed = all(plane, "/restapis", &[])?;
    let missing: Vec<&str> = api_ids
        .iter()
        .map(String::as_str)
        .filter(|id| !listed.iter().any(|a| text(a, "id") == *id))
        .collect();
    if !missing.is_empty() {
        return Err(format!("no REST API with id {} in {region}", missing.join(", ")));
    }
    let wanted = |api: &Value| api_ids.is_empty() || api_ids.iter().any(|id| id == text(api, "id"));
    let rest_apis = listed
        .into_iter()
        .filter(wanted)
        .map(|api| read_api(plane, api))
        .collect::<Result<Vec<_>, _>>()?;
    let api_keys = all(plane, "/apikeys", &[("includeValues", "true")])?;
    let mut usage_plans = Vec::new();
    for plan in all(plane, "/usageplans", &[])? {
        let keys = all(plane, &path(&["usageplans", text(&plan, "id"), "keys"]), &[])?;
        usage_plans.push(UsagePlan { plan, keys });
    }
    let mut domain_names = Vec::new();
    for domain in all(plane, "/domainnames", &[])? {
        let mappings = all(
            plane,
            &path(&["domainnames", text(&domain, "domainName"), "basepathmappings"]),
            &[],
        )?;
        domain_names.push(DomainName { domain, mappings });
    }
    let mut account = Account {
        region: region.to_string(),
        account_id: None,
        rest_apis,
        api_keys,
        usage_plans,
        domain_names,
    };
    account.account_id = account_id(&account);
    Ok(account)
}

/// One API with what hangs off it. A stage whose export is refused, or is not an OpenAPI 3
/// document (moto answers Swagger 2.0 without the extensions), is left to be rebuilt.
fn read_api(plane: &dyn ControlPlane, api: Value) -> Result<RestApi, String> {
    let id = text(&api, "id").to_string();
    let under = |what: &str| path(&["restapis", &id, what]);
    let stages = items(&plane.get(&under("stages"), "").map_err(|f| f.message)?);
    let mut exports = BTreeMap::new();
    for stage in &stages {
        let name = text(stage, "stageName");
        let export = path(&["restapis", &id, "stages", name, "exports", "oas30"]);
        match plane.get(&export, &query(&[("extensions", "apigateway")])) {
            Ok(doc) if text(&doc, "openapi").starts_with("3.") => {
                exports.insert(name.to_string(), doc);
            }
            Ok(_) | Err(Failure { status: Some(_), .. }) => {}
            Err(failure) => return Err(failure.message),
        }
    }
    Ok(RestApi {
        resources: all(plane, &under("resources"), &[("embed", "methods")])?,
        models: all(plane, &under("models"), &[])?,
        request_validators: all(plane, &under("requestvalidators"), &[])?,
        authorizers: all(plane, &under("authorizers"), &[])?,
        gateway_responses: all(plane, &under("gatewayresponses"), &[])?,
        api,
        exports,
        stages,
    })
}

/// The account, when an ARN it must own says so: an API's resource policy naming the API
/// (`arn:aws:execute-api:{region}:{account}:{api id}/...`) or a domain's ACM certificate.
fn account_id(account: &Account) -> Option<String> {
    let own_api = account.rest_apis.iter().find_map(|a| {
        let id = text(&a.api, "id");
        arns(text(&a.api, "policy"))
            .find(|(service, resource, _)| {
                *service == "execute-api" && resource.split('/').next() == Some(id)
            })
            .map(|(_, _, account)| account)
    });
    own_api.or_else(|| {
        account.domain_names.iter().find_map(|d| {
            ["certificateArn", "regionalCertificateArn"].iter().find_map(|f| {
                arns(text(&d.domain, f)).find(|(s, _, _)| *s == "acm").map(|(_, _, a)| a)
            })
        })
    })
}

/// `(service, resource, account)` of each ARN in `text` with a 12-digit account.
fn arns(text: &str) -> impl Iterator<Item = (&str, &str, String)> {
    text.match_indices("arn:").filter_map(move |(at, _)| {
        let arn = text.get(at..)?.split(['"', '\\', ' ', ',', '\n']).next()?;
        let mut parts = arn.splitn(6, ':');
        let (_, _, service, _, account, resource) = (
            parts.next()?,
            parts.next()?,
            parts.next()?,
            parts.next()?,
            parts.next()?,
            parts.next()?,
        );
        (account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()))
            .then(|| (service, resource, account.to_string()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::cell::RefCell;

    #[test]
    fn segments_and_queries_are_percent_encoded() {
        assert_eq!(encode("AZaz09-._~"), "AZaz09-._~");
        assert_eq!(encode("a b/c+d%é"), "a%20b%2Fc%2Bd%25%C3%A9");
        assert_eq!(
            path(&["restapis", "abc", "stages", "my stage", "exports", "oas30"]),
            "/restapis/abc/stages/my%20stage/exports/oas30"
        );
        assert_eq!(
            path(&["domainnames", "api.example.com", "basepathmappings"]),
            "/domainnames/api.example.com/basepathmappings"
        );
        assert_eq!(
            query(&[("limit", "500"), ("position", "a=b/c")]),
            "limit=500&position=a%3Db%2Fc"
        );
    }

    fn example(token: Option<&str>) -> (Endpoint, Credentials) {
        let endpoint = Endpoint::parse("https://example.amazonaws.com").unwrap();
        let credentials = Credentials {
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into(),
            session_token: token.map(str::to_string),
        };
        (endpoint, credentials)
    }

    /// The AWS SigV4 test suite's `get-vanilla` and `get-vanilla-query-order-key-case`.
    #[test]
    fn signing_matches_the_aws_test_suite() {
        let (endpoint, credentials) = example(None);
        let scope = ("us-east-1", "service");
        let headers = signed_get(&endpoint, "/", "", &credentials, scope, "20150830T123600Z");
        let names: Vec<&str> = headers.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["host", "x-amz-date", "authorization"]);
        assert_eq!(headers[0].1, "example.amazonaws.com");
        let prefix =
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
                      SignedHeaders=host;x-amz-date, Signature=";
        let vanilla = "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31";
        assert_eq!(headers[2].1, format!("{prefix}{vanilla}"));
        let q = "Param2=value2&Param1=value1";
        let headers = signed_get(&endpoint, "/", q, &credentials, scope, "20150830T123600Z");
        let query_order = "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500";
        assert_eq!(headers[2].1, format!("{prefix}{query_order}"));
    }

    /// botocore's `SigV4Auth` for the same request (a stage name that needs encoding, a query
    /// with a position) gives this signature: the path is encoded once in the URL and once more
    /// in the canonical request.
    #[test]
    fn signing_matches_botocore_for_encoded_segments() {
        let (_, credentials) = example(Some("TOKEN"));
        let endpoint = Endpoint::parse("http://127.0.0.1:5055").unwrap();
        let path = path(&["restapis", "a1", "stages", "dev stage\u{e9}", "exports", "oas30"]);
        assert_eq!(path, "/restapis/a1/stages/dev%20stage%C3%A9/exports/oas30");
        let query = query(&[("extensions", "apigateway"), ("position", "a=b")]);
        let scope = ("us-east-1", SERVICE);
        let headers = signed_get(&endpoint, &path, &query, &credentials, scope, "20150830T123600Z");
        assert_eq!(headers[0].1, "127.0.0.1:5055");
        let botocore = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/apigateway/\
                        aws4_request, SignedHeaders=host;x-amz-date;x-amz-security-token, \
                        Signature=6083b8c022adfa2eaa8e760cea8279b4627bdd906b03fbb0e5411360eda0ae65";
        assert_eq!(headers[3].1, botocore);
    }

    #[test]
    fn session_token_is_sent_signed_and_never_shown() {
        let (endpoint, credentials) = example(Some("TOKEN"));
        let headers = signed_get(
            &endpoint,
            "/restapis",
            "limit=500",
            &credentials,
            ("us-east-1", SERVICE),
            "20150830T123600Z",
        );
        assert_eq!(headers[2], ("x-amz-security-token".to_string(), "TOKEN".to_string()));
        let scope = "/us-east-1/apigateway/aws4_request, ";
        assert!(headers[3].1.contains(scope), "{}", headers[3].1);
        assert!(headers[3].1.contains("SignedHeaders=host;x-amz-date;x-amz-security-token, "));
        let shown = format!("{credentials:?}");
        assert!(!shown.contains("wJalr") && !shown.contains("TOKEN"), "{shown}");
    }

    /// Canned answers by `path?query`; any other call is a 404.
    struct Canned {
        answers: BTreeMap<String, Result<Value, u16>>,
        calls: RefCell<Vec<String>>,
    }

    impl Canned {
        fn new(answers: Vec<(&str, Result<Value, u16>)>) -> Canned {
            let answers = answers.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
            Canned { answers, calls: RefCell::new(Vec::new()) }
        }
    }

    impl ControlPlane for Canned {
        fn get(&self, path: &str, query: &str) -> Result<Value, Failure> {
            let key = format!("{path}?{query}");
            self.calls.borrow_mut().push(key.clone());
            match self.answers.get(&key) {
                Some(Ok(v)) => Ok(v.clone()),
                Some(Err(status)) => {
                    Err(Failure { status: Some(*status), message: format!("{status} {key}") })
                }
                None => Err(Failure { status: Some(404), message: format!("404 {key}") }),
            }
        }
    }

    fn account_answers() -> Vec<(&'static str, Result<Value, u16>)> {
        let policy =
            r#"{"Statement":[{"Resource":"arn:aws:execute-api:us-east-1:123456789012:a1\/*"}]}"#;
        let empty = || Ok(json!({}));
        vec![
            (
                "/restapis?limit=500",
                Ok(json!({"item": [{"id": "a1", "name": "one", "policy": policy}],
                           "position": "p2"})),
            ),
            ("/restapis?limit=500&position=p2", Ok(json!({"item": [{"id": "b2", "name": "two"}]}))),
            (
                "/restapis/a1/stages?",
                Ok(json!({"item": [{"stageName": "prod"}, {"stageName": "dev 1"},
                                    {"stageName": "old"}]})),
            ),
            (
                "/restapis/a1/stages/prod/exports/oas30?extensions=apigateway",
                Ok(json!({"openapi": "3.0.1"})),
            ),
            ("/restapis/a1/stages/dev%201/exports/oas30?extensions=apigateway", Err(400)),
            (
                "/restapis/a1/stages/old/exports/oas30?extensions=apigateway",
                Ok(json!({"swagger": "2.0"})),
            ),
            (
                "/restapis/a1/resources?embed=methods&limit=500",
                Ok(json!({"item": [{"id": "r", "path": "/"}]})),
            ),
            ("/restapis/a1/models?limit=500", Ok(json!({"item": [{"name": "Empty"}]}))),
            ("/restapis/a1/requestvalidators?limit=500", empty()),
            ("/restapis/a1/authorizers?limit=500", empty()),
            (
                "/restapis/a1/gatewayresponses?limit=500",
                Ok(json!({"items": [{"responseType": "DEFAULT_4XX"}]})),
            ),
            (
                "/apikeys?includeValues=true&limit=500",
                Ok(json!({"item": [{"id": "k1", "value": "v"}]})),
            ),
            ("/usageplans?limit=500", Ok(json!({"item": [{"id": "u1"}]}))),
            (
                "/usageplans/u1/keys?limit=500",
                Ok(json!({"item": [{"id": "k1", "type": "API_KEY"}]})),
            ),
            ("/domainnames?limit=500", Ok(json!({"item": [{"domainName": "api.example.com"}]}))),
            (
                "/domainnames/api.example.com/basepathmappings?limit=500",
                Ok(json!({"item": [{"basePath": "(none)", "restApiId": "a1", "stage": "prod"}]})),
            ),
        ]
    }

    #[test]
    fn an_account_is_read_whole_with_pages_and_refused_exports_left_out() {
        let plane = Canned::new(account_answers());
        let account = read_account(&plane, "us-east-1", &["a1".into()]).unwrap();
        assert_eq!(account.region, "us-east-1");
        assert_eq!(account.account_id.as_deref(), Some("123456789012"));
        let [api] = account.rest_apis.as_slice() else { panic!("{:?}", account.rest_apis) };
        assert_eq!(text(&api.api, "name"), "one");
        assert_eq!(api.exports.keys().collect::<Vec<_>>(), ["prod"]);
        assert_eq!(api.stages.len(), 3);
        assert_eq!(
            (api.resources.len(), api.models.len(), api.request_validators.len()),
            (1, 1, 0)
        );
        assert_eq!(api.gateway_responses.len(), 1);
        assert_eq!(account.api_keys, [json!({"id": "k1", "value": "v"})]);
        assert_eq!(account.usage_plans[0].keys.len(), 1);
        assert_eq!(text(&account.domain_names[0].mappings[0], "stage"), "prod");
        let calls = plane.calls.borrow();
        assert!(calls.iter().any(|c| c.starts_with("/restapis/a1/stages/old/exports/oas30")));
        assert!(!calls.iter().any(|c| c.starts_with("/restapis/b2")));

        let err =
            read_account(&Canned::new(account_answers()), "us-east-1", &["zz".into(), "a1".into()])
                .unwrap_err();
        assert_eq!(err, "no REST API with id zz in us-east-1");
    }

    #[test]
    fn a_failed_listing_stops_the_read_and_a_stuck_position_is_caught() {
        let mut answers = account_answers();
        answers.retain(|(k, _)| !k.starts_with("/apikeys"));
        let err = read_account(&Canned::new(answers), "us-east-1", &["a1".into()]).unwrap_err();
        assert_eq!(err, "404 /apikeys?includeValues=true&limit=500");
        let stuck = Canned::new(vec![
            ("/usageplans?limit=500", Ok(json!({"item": [], "position": "x"}))),
            ("/usageplans?limit=500&position=x", Ok(json!({"item": [], "position": "x"}))),
        ]);
        let err = all(&stuck, "/usageplans", &[]).unwrap_err();
        assert!(err.contains("position does not move on"), "{err}");
    }

    #[test]
    fn refusals_quote_the_message() {
        assert_eq!(
            refusal(
                403,
                br#"{"message": "The security token included in the request is invalid."}"#
            ),
            "403 Forbidden: The security token included in the request is invalid."
        );
        assert_eq!(
            refusal(404, br#"{"Message": "Invalid API identifier specified"}"#),
            "404 Not Found: Invalid API identifier specified"
        );
        assert_eq!(
            refusal(500, b"<html>\n <title>oops</title>\n"),
            "500 Internal Server Error: <html> <title>oops</title>"
        );
    }

    #[test]
    fn account_ids_come_from_owned_arns_only() {
        let mut account = Account::default();
        let policy = "arn:aws:execute-api:us-east-1:111111111111:other/*";
        let api = json!({"id": "a1", "policy": policy});
        account.rest_apis.push(RestApi { api, ..RestApi::default() });
        assert_eq!(account_id(&account), None);
        let arn = "arn:aws:acm:us-east-1:222222222222:certificate/x";
        let domain = json!({"regionalCertificateArn": arn});
        account.domain_names.push(DomainName { domain, mappings: vec![] });
        assert_eq!(account_id(&account).as_deref(), Some("222222222222"));
    }
}
