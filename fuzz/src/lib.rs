//! What the fuzz targets share: a readable input format (seeds are text files a person can
//! write), the rich config the pipeline targets run against, and the secrets the seeds are
//! signed with.
//!
//! Input format. A message is `first line`, then `name: value` header lines (a line starting
//! with a space or tab is another value of the header above), an empty line, then the body.
//! Sections of one input (the request, then each callout's answer, then the upstream's
//! response) are separated by [`SEP`]. An answer's first line is its status code.

#![recursion_limit = "512"]

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// Separates the sections of one input.
pub const SEP: &[u8] = b"\n~~~\n";
/// The pipeline's clock: 2025-11-25T12:00:00Z.
pub const NOW: i64 = 1_764_072_000;
pub const AMZ_DATE: &str = "20251125T120000Z";
/// The shared secret of the inline HS256 key `k1`.
pub const JWT_SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";
pub const ISSUER: &str = "https://issuer.example";
pub const API_KEY: &str = "fuzz-api-key";
pub const GLOBAL_API_KEY: &str = "fuzz-global-key";
pub const ADMIN_KEY: &str = "fuzz-admin-key";
pub const ACCESS_KEY_ID: &str = "AKIDFUZZ";
pub const SECRET_ACCESS_KEY: &str = "fuzz-secret-access-key";
pub const REGION: &str = "eu-west-1";
pub const ACCOUNT: &str = "123456789012";

/// `data` split at every [`SEP`].
pub fn sections(data: &[u8]) -> Vec<&[u8]> {
    split(data, SEP)
}

/// `data` split at every `sep` (non-empty).
pub fn split<'a>(data: &'a [u8], sep: &[u8]) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    let mut rest = data;
    while let Some(at) = find(rest, sep) {
        out.push(&rest[..at]);
        rest = &rest[at + sep.len()..];
    }
    out.push(rest);
    out
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || haystack.len() < needle.len() {
        return None;
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// One message: its first line, headers (names lowercased, values raw) and body.
#[derive(Debug, Clone, Default)]
pub struct Message {
    pub first: Vec<u8>,
    pub headers: Vec<(String, Vec<u8>)>,
    pub body: Vec<u8>,
}

impl Message {
    pub fn parse(data: &[u8]) -> Message {
        let (head, body) = match find(data, b"\n\n") {
            Some(at) => (&data[..at], &data[at + 2..]),
            None => (data, &[][..]),
        };
        let mut lines = head.split(|&b| b == b'\n');
        let first = lines.next().unwrap_or_default().to_vec();
        let mut headers: Vec<(String, Vec<u8>)> = Vec::new();
        for line in lines {
            if matches!(line.first(), Some(b' ' | b'\t')) {
                if let Some(name) = headers.last().map(|(n, _)| n.clone()) {
                    headers.push((name, line.to_vec()));
                }
                continue;
            }
            // `:path: /x`: a pseudo-header's name keeps its colon.
            let start = usize::from(line.first() == Some(&b':'));
            let Some(colon) = line[start..].iter().position(|&b| b == b':') else { continue };
            let (name, value) = line.split_at(start + colon);
            let value = &value[1..];
            let value = value.strip_prefix(b" ").unwrap_or(value);
            let name = String::from_utf8_lossy(name).to_ascii_lowercase();
            headers.push((name, value.to_vec()));
        }
        Message { first, headers, body: body.to_vec() }
    }

    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_slice())
    }

    /// A request's `METHOD TARGET [VERSION]` line.
    pub fn request_line(&self) -> (Vec<u8>, Vec<u8>) {
        let mut parts = self.first.splitn(3, |&b| b == b' ');
        let method = parts.next().unwrap_or_default().to_vec();
        let target = parts.next().unwrap_or_default().to_vec();
        (method, target)
    }

    /// An answer's status line (`0` when it is not a number: a failed call).
    pub fn status(&self) -> u16 {
        std::str::from_utf8(&self.first).ok().and_then(|s| s.trim().parse().ok()).unwrap_or(0)
    }
}

/// `target` split at its first `?`.
pub fn split_target(target: &[u8]) -> (&[u8], &[u8]) {
    match target.iter().position(|&b| b == b'?') {
        Some(q) => (&target[..q], &target[q + 1..]),
        None => (target, &[]),
    }
}

pub fn sha256_hex(value: &[u8]) -> String {
    Sha256::digest(value).iter().map(|b| format!("{b:02x}")).collect()
}

/// A compact JWS over `header` and `claims` (any bytes), signed with HS256 and [`JWT_SECRET`].
pub fn hs256_token(header: &[u8], claims: &[u8]) -> String {
    let signing_input =
        format!("{}.{}", URL_SAFE_NO_PAD.encode(header), URL_SAFE_NO_PAD.encode(claims));
    let mut mac = match Hmac::<Sha256>::new_from_slice(JWT_SECRET) {
        Ok(mac) => mac,
        Err(_) => return signing_input,
    };
    mac.update(signing_input.as_bytes());
    format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()))
}

/// The inline JWK Set: the HS256 key `k1`.
pub fn jwks() -> Value {
    json!({"keys": [{"kty": "oct", "kid": "k1", "alg": "HS256", "k": URL_SAFE_NO_PAD.encode(JWT_SECRET)}]})
}

/// A config that uses every feature a request can reach: two stages chosen by path prefix (one
/// with a canary and a cache), API keys and usage plans (one counted globally), AWS_IAM, JWT and
/// Cognito authorizers, TOKEN and REQUEST Lambda authorizers, a resource policy, models and
/// validators, HTTP, HTTP_PROXY, MOCK, Lambda proxy and AWS service integrations with mappings
/// and templates, gateway response overrides and the management routes.
pub fn rich_config() -> Value {
    let arn = format!("arn:aws:execute-api:{REGION}:{ACCOUNT}:petstore");
    let throttle = json!({"rate": 1000.0, "burst": 500});
    json!({
        "api": {"id": "petstore", "region": REGION, "account_id": ACCOUNT},
        "stages": [
            {"name": "dev", "variables": {"tier": "gold", "backend": "pets-dev"},
             "throttle": throttle, "method_throttles": {"/pets/GET": {"rate": 500.0, "burst": 100}},
             "cache": {"enabled": true, "ttl_seconds": 60, "capacity": 16}},
            {"name": "prod", "variables": {"tier": "silver", "backend": "pets"},
             "canary": {"percent_traffic": 50.0, "stage_variable_overrides": {"tier": "canary"}},
             "cache": {"enabled": true, "ttl_seconds": 300, "capacity": 8, "require_authorization_for_cache_control": false}},
        ],
        "stage_selection": {"path_prefix": true, "header": "x-stage", "default": "prod"},
        "base_path_mappings": [
            {"domain_name": "api.example.com", "base_path": "v1", "stage": "prod"},
            {"domain_name": "api.example.com", "base_path": "pets/v2", "stage": "dev"},
            {"domain_name": "root.example.com", "base_path": "(none)", "stage": "prod"},
        ],
        "api_keys": [
            {"id": "k1", "name": "fuzz", "value_sha256": sha256_hex(API_KEY.as_bytes()), "usage_plan_ids": ["local"]},
            {"id": "k2", "value_sha256": sha256_hex(GLOBAL_API_KEY.as_bytes()), "usage_plan_ids": ["fleet"]},
            {"id": "k3", "value_sha256": sha256_hex(b"disabled"), "enabled": false, "usage_plan_ids": ["local"]},
        ],
        "usage_plans": [
            {"id": "local", "throttle": {"rate": 100.0, "burst": 50},
             "quota": {"limit": 1000, "period": "WEEK", "offset": 1},
             "api_stages": [
                {"api_id": "petstore", "stage": "dev", "method_throttles": {"/pets/{petId}/*": {"rate": 10.0, "burst": 5}}},
                {"api_id": "petstore", "stage": "prod"}]},
            {"id": "fleet", "global": true, "throttle": {"rate": 50.0, "burst": 20},
             "quota": {"limit": 100, "period": "DAY"},
             "api_stages": [{"api_id": "petstore", "stage": "dev"}, {"api_id": "petstore", "stage": "prod"}]},
        ],
        "rate_limit_service": {"cluster": "ratelimit", "failure_mode": "LOCAL"},
        "rate_limit_headers": true,
        "iam": {"credentials": [
            {"access_key_id": ACCESS_KEY_ID, "secret_access_key": SECRET_ACCESS_KEY,
             "principal_arn": format!("arn:aws:iam::{ACCOUNT}:user/fuzz"),
             "policies": [{"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": ["execute-api:Invoke", "execute-api:InvalidateCache"], "Resource": format!("{arn}/*")},
                {"Effect": "Deny", "Action": "execute-api:Invoke", "Resource": format!("{arn}/*/DELETE/iam"),
                 "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}}]}]},
            {"access_key_id": "AKIDTEMP", "secret_access_key": "temp-secret", "session_token": "temp-token",
             "principal_arn": format!("arn:aws:iam::{ACCOUNT}:role/temp")},
        ]},
        "resource_policy": {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": "*", "Action": "execute-api:Invoke", "Resource": format!("{arn}/*")},
            {"Effect": "Deny", "Principal": "*", "Action": "execute-api:Invoke", "Resource": format!("{arn}/*/*/private/*"),
             "Condition": {"StringNotEquals": {"aws:SourceVpce": "vpce-1234"}}},
            {"Effect": "Deny", "Principal": "*", "Action": "execute-api:Invoke", "Resource": format!("{arn}/*/GET/blocked"),
             "Condition": {"NotIpAddress": {"aws:SourceIp": ["192.0.2.0/24", "2001:db8::/32"]},
                           "DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"},
                           "Bool": {"aws:SecureTransport": "false"}}},
        ]},
        "trusted_headers": {"source_vpce": "x-amzn-vpce-id", "source_vpc": "x-amzn-vpc-id"},
        "authorizers": [
            {"id": "jwt", "type": "JWT", "issuers": [ISSUER], "audiences": ["app"], "leeway_seconds": 30,
             "jwks": jwks(), "claims_to_headers": {"sub": "x-user-sub", "email": "x-user-email", "groups": "x-user-groups"}},
            {"id": "pool", "type": "COGNITO_USER_POOLS", "issuers": [ISSUER], "token_use": "access",
             "jwks_uri": {"cluster": "jwks", "authority": "idp.example", "path": "/jwks.json"}},
        ],
        "lambda_authorizers": [
            {"id": "tok", "type": "TOKEN", "function": {"cluster": "lambda", "authority": "lambda", "name": "auth"},
             "identity_source": "method.request.header.Authorization",
             "identity_validation_expression": "^[A-Za-z0-9._-]+$", "result_ttl_seconds": 300},
            {"id": "req", "type": "REQUEST", "function": {"cluster": "lambda", "authority": "lambda", "name": "auth:live"},
             "identity_source": "method.request.header.x-user, method.request.querystring.who, stageVariables.tier, context.httpMethod",
             "result_ttl_seconds": 60},
            {"id": "req-nocache", "type": "REQUEST", "function": {"cluster": "lambda", "authority": "lambda", "name": "auth2", "timeout_ms": 500},
             "identity_source": "method.request.header.x-user", "result_ttl_seconds": 0},
        ],
        "models": {
            "Pet": {"$schema": "http://json-schema.org/draft-04/schema#", "type": "object", "required": ["name"],
                    "properties": {"name": {"type": "string", "minLength": 1, "maxLength": 64, "pattern": "^[A-Za-z ]+$"},
                                   "age": {"type": "integer", "minimum": 0, "maximum": 100},
                                   "tags": {"type": "array", "items": {"$ref": "#/definitions/tag"}, "uniqueItems": true, "maxItems": 8},
                                   "kind": {"enum": ["dog", "cat", null]}},
                    "additionalProperties": false,
                    "definitions": {"tag": {"type": "object", "properties": {"id": {"type": "number", "multipleOf": 0.5}},
                                            "anyOf": [{"required": ["id"]}, {"not": {"type": "object"}}]}}},
            "Order": {"type": "object", "properties": {"pet": {"$ref": "Pet"}, "qty": {"type": "integer", "exclusiveMinimum": true, "minimum": 0}},
                      "oneOf": [{"required": ["pet"]}, {"required": ["qty"]}]},
        },
        "request_validators": {
            "all": {"validate_request_body": true, "validate_request_parameters": true},
            "params": {"validate_request_parameters": true},
        },
        "gateway_responses": {
            "DEFAULT_4XX": {"headers": {"x-fuzz": "4xx"}, "body": "{\"msg\": \"$context.error.messageString\", \"type\": \"$context.error.responseType\", \"id\": \"$context.requestId\"}"},
            "UNAUTHORIZED": {"status": 401, "headers": {"www-authenticate": "Bearer"}},
            "BAD_REQUEST_BODY": {"body": "{\"error\": $context.error.messageString, \"detail\": \"$context.error.validationErrorString\"}"},
        },
        "admin": {"keys": [{"id": "ops", "value_sha256": sha256_hex(ADMIN_KEY.as_bytes())}]},
        "methods": [
            {"resource": "/pets", "http_method": "GET", "api_key_required": true,
             "request_parameters": {"method.request.querystring.limit": false, "method.request.header.x-trace": false},
             "cache": {"enabled": true, "ttl_seconds": 30, "key_parameters": ["method.request.querystring.limit", "method.request.header.x-trace"]},
             "integration": {"type": "HTTP", "uri": "http://${stageVariables.backend}/v1/pets",
                "request_parameters": {"integration.request.querystring.max": "method.request.querystring.limit",
                                       "integration.request.header.x-key-id": "context.identity.apiKeyId"},
                "responses": {"default": {"status_code": "200",
                    "response_parameters": {"method.response.header.x-count": "integration.response.header.x-total"},
                    "response_templates": {"application/json": "#set($pets = $input.path('$'))\n[#foreach($p in $pets){\"name\": \"$util.escapeJavaScript($p.name)\", \"n\": $foreach.count}#if($foreach.hasNext),#end#end]"}}}}},
            {"resource": "/pets", "http_method": "POST", "authorization_type": "JWT", "authorizer_id": "jwt",
             "authorization_scopes": ["pets/write"], "request_validator": "all",
             "request_models": {"application/json": "Pet"},
             "integration": {"type": "HTTP", "uri": "http://pets/v1/pets", "passthrough_behavior": "WHEN_NO_TEMPLATES",
                "request_templates": {"application/json": "{\"pet\": $input.json('$'), \"by\": \"$context.authorizer.claims.sub\", \"raw\": \"$util.base64Encode($input.body)\", \"q\": \"$util.urlEncode($input.params('q'))\"}"}}},
            {"resource": "/pets/{petId}", "http_method": "PUT", "api_key_required": true, "request_validator": "all",
             "request_parameters": {"method.request.header.x-owner": true, "method.request.path.petId": true, "method.request.querystring.v": false},
             "request_models": {"application/json": "Pet", "application/xml": "Order"},
             "integration": {"type": "HTTP", "uri": "http://pets/v2/pets/{id}", "passthrough_behavior": "NEVER",
                "request_parameters": {"integration.request.path.id": "method.request.path.petId",
                                       "integration.request.header.x-owner": "method.request.header.x-owner",
                                       "integration.request.querystring.tier": "stageVariables.tier",
                                       "integration.request.header.x-fixed": "'fixed'"},
                "request_templates": {"application/json": "#set($b = $input.path('$'))\n{\"pet\": \"$b.name\", \"id\": \"$input.params('petId')\", \"age\": #if($b.age)$b.age#{else}0#end, \"tags\": $input.json('$.tags'), \"n\": $b.tags.size(), \"up\": \"$b.name.toUpperCase()\", \"sub\": \"$b.name.substring(0, 1)\"}"},
                "responses": {
                    "default": {"status_code": "200", "response_templates": {"application/json": "{\"saved\": $input.json('$.ok'), \"all\": $input.json('$..id')}"}},
                    "4\\d\\d": {"status_code": "400",
                        "response_parameters": {"method.response.header.x-reason": "integration.response.header.x-why",
                                                "method.response.header.x-body": "integration.response.body.msg"},
                        "response_templates": {"application/json": "{\"error\": \"$input.path('$.msg')\"}"}},
                    "5\\d\\d": {"status_code": "502"}}}},
            {"resource": "/pets/{petId}", "http_method": "GET", "authorization_type": "CUSTOM", "authorizer_id": "tok",
             "integration": {"type": "HTTP_PROXY", "uri": "http://pets/v1/pets/{petId}",
                "request_parameters": {"integration.request.path.petId": "method.request.path.petId",
                                       "integration.request.header.x-principal": "context.authorizer.principalId"}}},
            {"resource": "/pets/{petId}", "http_method": "DELETE", "authorization_type": "AWS_IAM",
             "integration": {"type": "HTTP_PROXY", "uri": "http://pets/v1/pets/{petId}",
                "request_parameters": {"integration.request.path.petId": "method.request.path.petId"}}},
            {"resource": "/iam", "http_method": "ANY", "authorization_type": "AWS_IAM",
             "cache": {"enabled": true, "key_parameters": ["method.request.querystring.q"]}},
            {"resource": "/private/{thing}", "http_method": "GET"},
            {"resource": "/blocked", "http_method": "GET"},
            {"resource": "/req/{proxy+}", "http_method": "ANY", "authorization_type": "CUSTOM", "authorizer_id": "req",
             "integration": {"type": "AWS_PROXY", "function": {"cluster": "lambda", "authority": "lambda.eu-west-1.amazonaws.com", "name": "pets-fn"}}},
            {"resource": "/nocache", "http_method": "POST", "authorization_type": "CUSTOM", "authorizer_id": "req-nocache",
             "api_key_required": true,
             "integration": {"type": "AWS_PROXY", "function": {"cluster": "lambda", "authority": "lambda", "name": "pets-fn:v2"}}},
            {"resource": "/items/{id}", "http_method": "GET", "authorization_type": "COGNITO_USER_POOLS", "authorizer_id": "pool",
             "integration": {"type": "AWS", "uri": "arn:aws:apigateway:eu-west-1:dynamodb:action/GetItem", "cluster": "dynamodb",
                "request_parameters": {"integration.request.header.x-trace": "method.request.header.x-trace"},
                "request_templates": {"application/json": "{\"TableName\": \"items\", \"Key\": {\"id\": {\"S\": \"$util.escapeJavaScript($input.params('id'))\"}}}"},
                "responses": {
                    "default": {"status_code": "200", "response_templates": {"application/json":
                        "#set($item = $input.path('$.Item'))\n#if($item == \"\")\n{\"missing\": true}\n#else\n{\"name\": \"$item.name.S\", \"keys\": \"$item.keySet()\"}\n#end\n"}},
                    "4\\d{2}": {"status_code": "400", "response_templates": {"application/json": "{\"message\": \"$input.path('$.message')\"}"}}}}},
            {"resource": "/items", "http_method": "POST", "api_key_required": true,
             "integration": {"type": "AWS", "uri": "arn:aws:apigateway:eu-west-1:sqs:path/123456789012/queue", "cluster": "sqs",
                "http_method": "POST",
                "request_templates": {"application/json": "Action=SendMessage&MessageBody=$util.urlEncode($input.body)"}}},
            {"resource": "/mock", "http_method": "GET",
             "integration": {"type": "MOCK",
                "request_templates": {"application/json": "#if($input.params('fail') == 'yes'){\"statusCode\": 503}#elseif($input.params('code') != ''){\"statusCode\": $input.params('code')}#else{\"statusCode\": 200}#end"},
                "responses": {
                    "default": {"status_code": "200", "response_parameters": {"method.response.header.x-stage": "'mock'"},
                        "response_templates": {"application/json": "{\"pong\": \"$context.stage\", \"ip\": \"$context.identity.sourceIp\", \"id\": \"$context.requestId\", \"path\": \"$context.resourcePath\", \"vars\": \"$stageVariables.tier\", \"h\": \"$input.params().header.get('x-h')\"}"}},
                    "5\\d\\d": {"status_code": "503", "response_templates": {"application/json": "{\"down\": true}"}}}}},
            {"resource": "/global", "http_method": "GET", "api_key_required": true},
            {"resource": "/files/{name}", "http_method": "GET",
             "integration": {"type": "HTTP", "uri": "http://files/static/{dir}/{file}",
                "request_parameters": {"integration.request.path.file": "method.request.path.name",
                                       "integration.request.path.dir": "method.request.querystring.dir"}}},
            {"resource": "/{proxy+}", "http_method": "ANY",
             "integration": {"type": "HTTP_PROXY", "uri": "http://pets/{proxy}",
                "request_parameters": {"integration.request.path.proxy": "method.request.path.proxy"}}},
        ],
    })
}

#[cfg(test)]
mod seeds;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rich_config_compiles() {
        let d =
            tollgate_core::deployment::Deployment::from_json(rich_config().to_string().as_bytes());
        assert!(d.is_ok(), "{:?}", d.err());
    }

    #[test]
    fn messages_parse() {
        let m =
            Message::parse(b"GET /a?b HTTP/1.1\nHost: x\n folded\n:path: /p\nbad\n\nbody\n\nmore");
        assert_eq!(m.request_line(), (b"GET".to_vec(), b"/a?b".to_vec()));
        assert_eq!(
            m.headers,
            vec![
                ("host".into(), b"x".to_vec()),
                ("host".into(), b" folded".to_vec()),
                (":path".into(), b"/p".to_vec()),
            ]
        );
        assert_eq!(m.body, b"body\n\nmore");
        assert_eq!(sections(b"a\n~~~\nb\n~~~\n"), vec![&b"a"[..], b"b", b""]);
    }
}
