//! Writes the seed corpora (`fuzz/corpus/<target>/`): requests that reach each feature of the
//! rich config, signed where they need to be. Run it again after changing the rich config:
//! `cargo test --manifest-path fuzz/Cargo.toml --lib -- --ignored write_seeds`.

use std::path::{Path, PathBuf};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::json;
use tollgate_core::auth::sigv4::{self, Signer};

use crate::*;

fn corpus(target: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus").join(target);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write(target: &str, name: &str, data: impl AsRef<[u8]>) {
    std::fs::write(corpus(target).join(name), data).unwrap();
}

/// Sections joined with [`SEP`].
fn join(parts: &[&[u8]]) -> Vec<u8> {
    parts.join(SEP)
}

/// A valid token for the `jwt` authorizer with these extra claims.
fn token(extra: serde_json::Value) -> String {
    let mut claims = json!({"iss": ISSUER, "aud": "app", "sub": "user-1", "email": "a@example.com",
                            "scope": "pets/write openid", "iat": NOW - 10, "exp": NOW + 600});
    for (k, v) in extra.as_object().unwrap() {
        match v {
            serde_json::Value::Null => {
                claims.as_object_mut().unwrap().remove(k);
            }
            v => claims[k] = v.clone(),
        }
    }
    hs256_token(br#"{"alg":"HS256","typ":"JWT","kid":"k1"}"#, claims.to_string().as_bytes())
}

/// `METHOD TARGET`, headers and body signed for the rich config's IAM credential.
fn iam_signed(method: &str, target: &str, headers: &[(&str, &str)], body: &str) -> String {
    let mut all: Vec<(String, Vec<u8>)> = vec![
        ("host".into(), b"api.example.com".to_vec()),
        ("x-amz-date".into(), AMZ_DATE.as_bytes().to_vec()),
    ];
    all.extend(headers.iter().map(|(n, v)| (n.to_string(), v.as_bytes().to_vec())));
    // The signature covers the path the client sent (with the stage).
    let (path, query) = split_target(target.as_bytes());
    let req = sigv4::Request {
        method: method.as_bytes(),
        path,
        query,
        headers: &all,
        body: body.as_bytes(),
    };
    let mut names: Vec<String> = all.iter().map(|(n, _)| n.clone()).collect();
    names.sort();
    let signer = Signer {
        access_key_id: ACCESS_KEY_ID,
        secret_access_key: SECRET_ACCESS_KEY.as_bytes(),
        region: REGION,
        service: "execute-api",
        amz_date: AMZ_DATE,
    };
    let authorization = sigv4::authorization(&req, &names, signer);
    let mut out = format!("{method} {target}\n");
    for (n, v) in &all {
        out.push_str(&format!("{n}: {}\n", String::from_utf8_lossy(v)));
    }
    out.push_str(&format!("authorization: {authorization}\n\n{body}"));
    out
}

fn allow_policy(key: Option<&str>) -> String {
    let mut answer = json!({
        "principalId": "user-7",
        "policyDocument": {"Version": "2012-10-17", "Statement": [
            {"Action": "execute-api:Invoke", "Effect": "Allow",
             "Resource": format!("arn:aws:execute-api:{REGION}:{ACCOUNT}:petstore/*")}]},
        "context": {"tier": "gold", "count": 3, "ok": true},
    });
    if let Some(key) = key {
        answer["usageIdentifierKey"] = key.into();
    }
    answer.to_string()
}

fn pipeline_seeds() {
    let t = "pipeline";
    let key = format!("x-api-key: {API_KEY}");
    let jwt = token(json!({}));
    let pet = r#"{"name": "Rex", "age": 3, "tags": [{"id": 1}, {"id": 2.5}], "kind": "dog"}"#;
    let seeds: Vec<(&str, Vec<u8>)> = vec![
        ("get-pets-key", format!("GET /dev/pets?limit=5\n{key}\nx-trace: t1\naccept: application/json\n\n\n~~~\n200\ncontent-type: application/json\nx-total: 2\n\n[{{\"name\": \"a\"}}, {{\"name\": \"b\\\"\"}}]").into_bytes()),
        ("get-pets-nokey", b"GET /prod/pets\n\n".to_vec()),
        ("get-pets-prod-header-stage", format!("GET /pets\nx-stage: prod\n{key}\ncache-control: max-age=0\n\n").into_bytes()),
        ("post-pets-jwt", format!("POST /dev/pets?q=a%20b\nauthorization: Bearer {jwt}\ncontent-type: application/json\ncontent-length: {}\n\n{pet}\n~~~\n201\n\n{{\"ok\": true}}", pet.len()).into_bytes()),
        ("post-pets-jwt-bad-body", format!("POST /dev/pets\nauthorization: {jwt}\ncontent-type: application/json\n\n{{\"age\": -1, \"extra\": [1,1]}}").into_bytes()),
        ("put-pet", format!("PUT /dev/pets/7?v=1\n{key}\nx-owner: ann\ncontent-type: application/json\n\n{pet}\n~~~\n400\nx-why: nope\ncontent-type: application/json\n\n{{\"msg\": \"bad\", \"ok\": false, \"id\": 3}}").into_bytes()),
        ("put-pet-xml", format!("PUT /prod/pets/%2e%2e%2f7\n{key}\nx-owner: ann\ncontent-type: application/xml\n\n{{\"qty\": 2}}").into_bytes()),
        ("put-pet-missing-param", format!("PUT /dev/pets/7\n{key}\n\n").into_bytes()),
        ("get-pet-token-authorizer", format!("GET /dev/pets/42\nauthorization: allow-me\n\n\n~~~\n200\n\n{}\n~~~\n200\ncontent-type: text/plain\n\nfine", allow_policy(None)).into_bytes()),
        ("get-pet-token-authorizer-unauthorized", b"GET /dev/pets/42\nauthorization: deny-me\n\n\n~~~\n200\nx-amz-function-error: Unhandled\n\n{\"errorMessage\": \"Unauthorized\"}".to_vec()),
        ("req-authorizer-lambda-proxy", format!("POST /dev/req/a/b/c?who=me&who=you\nx-user: u1\ncontent-type: application/json\n\n{{\"x\": 1}}\n~~~\n200\n\n{}\n~~~\n200\n\n{{\"statusCode\": 201, \"headers\": {{\"x-a\": \"1\"}}, \"multiValueHeaders\": {{\"set-cookie\": [\"a=1\", \"b=2\"]}}, \"body\": \"aGVsbG8=\", \"isBase64Encoded\": true}}", allow_policy(None)).into_bytes()),
        ("nocache-authorizer-key", format!("POST /prod/nocache\nx-user: u2\n\nbody\n~~~\n200\n\n{}\n~~~\n200\n\n{{\"statusCode\": \"200\", \"body\": \"ok\"}}", allow_policy(Some(API_KEY))).into_bytes()),
        ("items-cognito-jwks", format!("GET /dev/items/7\nauthorization: Bearer {}\nx-trace: t-1\naccept: */*\n\n\n~~~\n200\n\n{}\n~~~\n200\ncontent-type: application/x-amz-json-1.0\n\n{{\"Item\": {{\"id\": {{\"S\": \"7\"}}, \"name\": {{\"S\": \"Lamp\"}}}}}}", token(json!({"token_use": "access", "client_id": "c", "aud": null})), jwks()).into_bytes()),
        ("items-sqs", format!("POST /dev/items\n{key}\ncontent-type: application/json\n\n{{\"m\": \"hi\"}}\n~~~\n200\ncontent-type: text/xml\n\n<ok/>").into_bytes()),
        ("files", b"GET /dev/files/a.txt?dir=docs\n\n\n~~~\n200\n\nfile".to_vec()),
        ("mock", b"GET /dev/mock?code=418\nx-h: v\n\n".to_vec()),
        ("mock-fail", b"GET /prod/mock?fail=yes\naccept: application/json\n\n".to_vec()),
        ("global-key", format!("GET /dev/global\nx-api-key: {GLOBAL_API_KEY}\n\n\n~~~\n200\n\n\x08\x01\x12\x06\x08\x01\x10\x05\x18\x04").into_bytes()),
        ("private-vpce", b"GET /dev/private/x\nx-amzn-vpce-id: vpce-9999\n\n".to_vec()),
        ("blocked", b"GET /dev/blocked\n:source: 192.0.2.7:4000\n\n".to_vec()),
        ("proxy-traversal", b"DELETE /dev/%2e%2e/%2E%2E/etc/passwd?x=%00\nx-api-key: a\nx-api-key: b\n\n".to_vec()),
        ("admin-usage", format!("GET /usageplans/local/usage?keyId=k1\n:route: tollgate.admin\nx-tollgate-admin-key: {ADMIN_KEY}\n\n").into_bytes()),
        ("admin-global-usage", format!("GET /usageplans/fleet/usage\n:route: tollgate.admin\nx-tollgate-admin-key: {ADMIN_KEY}\n\n\n~~~\n200\n\n\x08\x01").into_bytes()),
        ("admin-flush", format!("DELETE /restapis/petstore/stages/dev/cache/data\n:route: tollgate.admin\nx-tollgate-admin-key: {ADMIN_KEY}\n\n").into_bytes()),
        ("route-name-stage", b"GET /pets/1\n:route: prod\nauthorization: x\n\n".to_vec()),
        ("iam-get", iam_signed("GET", "/dev/iam?q=1", &[("cache-control", "max-age=0")], "").into_bytes()),
        ("iam-post-body", iam_signed("POST", "/prod/iam", &[("content-type", "application/json")], "{\"a\": 1}").into_bytes()),
        ("iam-delete-pet", iam_signed("DELETE", "/dev/pets/9", &[], "").into_bytes()),
    ];
    for (name, data) in seeds {
        write(t, name, data);
    }
}

fn jwt_seeds() {
    let t = "jwt";
    write(t, "token", [b"\x00Bearer ".as_slice(), token(json!({})).as_bytes()].concat());
    write(
        t,
        "token-expired",
        [b"\x00".as_slice(), token(json!({"exp": NOW - 1})).as_bytes()].concat(),
    );
    write(t, "token-cognito", [b"\x00".as_slice(), token(json!({"token_use": "access", "client_id": "client-1", "aud": null, "scp": ["admin"]})).as_bytes()].concat());
    write(t, "token-none", b"\x00eyJhbGciOiJub25lIn0.eyJpc3MiOiJqb2UifQ.");
    let pairs: [(&str, serde_json::Value); 4] = [
        (
            r#"{"alg":"HS256","kid":"k1"}"#,
            json!({"iss": ISSUER, "aud": ["x", "app"], "exp": NOW + 5, "nbf": NOW - 5, "iat": NOW}),
        ),
        (
            r#"{"alg":"HS256","kid":"k1","typ":"at+jwt","cty":"x"}"#,
            json!({"iss": ISSUER, "client_id": "client-1", "token_use": "access", "exp": 1.5e9, "scope": "a b"}),
        ),
        (
            r#"{"alg":"HS256","kid":"k1","crit":["exp"]}"#,
            json!({"iss": "other", "exp": NOW + 1, "token_use": "id", "aud": "client-1"}),
        ),
        (
            r#"{"alg":"HS256"}"#,
            json!({"iss": ISSUER, "aud": "app", "exp": "soon", "sub": 5, "scp": "a b c"}),
        ),
    ];
    for (i, (header, claims)) in pairs.iter().enumerate() {
        write(
            t,
            &format!("signed-{i}"),
            [b"\x01".as_slice(), &join(&[header.as_bytes(), claims.to_string().as_bytes()])]
                .concat(),
        );
    }
    let jwks_docs = [
        jwks(),
        json!({"keys": [{"kty": "RSA", "kid": "rsa", "alg": "RS256", "use": "sig", "e": "AQAB",
                         "n": URL_SAFE_NO_PAD.encode([0xc5u8; 256])}]}),
        json!({"keys": [{"kty": "EC", "kid": "ec", "crv": "P-256", "alg": "ES256",
                         "x": URL_SAFE_NO_PAD.encode([1u8; 32]), "y": URL_SAFE_NO_PAD.encode([2u8; 32])},
                        {"kty": "OKP", "crv": "Ed25519", "kid": "ed", "x": URL_SAFE_NO_PAD.encode([3u8; 32])},
                        {"kty": "oct", "kid": "k1", "alg": "HS512", "k": "c2VjcmV0"},
                        {"kty": "RSA", "kid": "bad", "n": "", "e": ""}]}),
    ];
    for (i, doc) in jwks_docs.iter().enumerate() {
        write(t, &format!("jwks-{i}"), [b"\x02".as_slice(), doc.to_string().as_bytes()].concat());
    }
}

fn sigv4_seeds() {
    let suite =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../core/tests/data/aws-sig-v4-test-suite");
    let mut dirs = vec![suite.clone()];
    let mut n = 0;
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            if path.extension().and_then(|e| e.to_str()) != Some("req") {
                continue;
            }
            let req = std::fs::read_to_string(&path).unwrap();
            let authz = std::fs::read_to_string(path.with_extension("authz")).unwrap();
            let (head, body) = req.split_once("\n\n").unwrap_or((&req, ""));
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            write("sigv4", &name, format!("{head}\nAuthorization: {}\n\n{body}", authz.trim()));
            n += 1;
        }
    }
    assert!(n > 20, "the SigV4 suite has {n} requests");
    write("sigv4", "presigned", "GET /?Action=ListUsers&Version=2010-05-08&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host&X-Amz-Signature=0000000000000000000000000000000000000000000000000000000000000000 HTTP/1.1\nHost:example.amazonaws.com\n\n");
    write("sigv4", "date-header-token", "POST /a/../b/./c//d?x=%41&y=\nhost:example.amazonaws.com\ndate: Sun, 30 Aug 2015 12:36:00 GMT\nx-amz-security-token: tok\nx-amz-content-sha256: UNSIGNED-PAYLOAD\nauthorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=date;host;x-amz-content-sha256;x-amz-security-token, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31\n\nbody");
}

fn other_seeds() {
    let config = rich_config();
    write("config", "rich", config.to_string());
    write("config", "rich-pretty", serde_json::to_string_pretty(&config).unwrap());
    write("config", "minimal", r#"{"api": {"id": "a"}}"#);
    write(
        "config",
        "one-stage",
        r#"{"api": {"id": "a"}, "stage": {"name": "dev", "variables": {"v": "1"}, "throttle": {"rate": 0.5, "burst": 1}}, "methods": [{"resource": "/{proxy+}", "http_method": "ANY", "api_key_required": true}], "api_keys": [{"id": "k", "value_sha256": "00", "usage_plan_ids": ["p"]}], "usage_plans": [{"id": "p", "quota": {"limit": 1, "period": "MONTH", "offset": 27}}]}"#,
    );

    for (name, line) in [
        ("pets", "GET /dev/pets?limit=1&limit=2&a=%20b\nx-stage: dev\n\n\x10"),
        ("pet", "PUT /prod/pets/%E2%82%AC/\n\n\x7f"),
        ("greedy", "OPTIONS /dev/req/a//b/%2F?x\n:route: dev\n\n"),
        ("root", "GET /\n\n"),
        ("bad-stage", "HEAD /staging/pets\nx-stage: nope\n\n"),
    ] {
        write("routes", name, line);
    }

    let request = "limit=5&q=a%26b&s=a,b,c&count=7&j=[1,{\"a\":{\"b\":{\"c\":2}}}]&b=aGk=&u=%7E&p=$.tags[*].id\nx-h: v\nX-Trace: t1\n:petId: 7\n:proxy: a/b\n\n{\"name\": \"Rex\", \"n\": 12, \"tags\": [{\"id\": 1}, {\"id\": 2}], \"s\": \"x\\\"y\"}";
    write("vtl", "request", [b"\x00".as_slice(), request.as_bytes()].concat());
    write("vtl", "request-not-json", b"\x00s=abc\n\nnot json");
    for (i, template) in [
        "#set($x = $input.path('$'))#foreach($i in $x.tags)$i.id#if($foreach.hasNext),#end#end",
        "#if($input.params('a') == 'b')yes#elseif(!$input.params('c'))no#{else}x#end ${context.requestId}",
        "#set($m = {\"a\": [1, 2, {\"b\": true}]})$m.a.get(2).b $m.keySet() #foreach($i in [1..3])$i#end",
        "#* c *#\\$x #[[ $raw ]]# $util.urlEncode(\"a b\") $util.parseJson('{\"k\": 1}').k #stop after",
        "#set($s = 'hello')$s.replaceAll('l+', 'L').split('L').size() $s.substring(1, 20) $s.chars",
    ]
    .iter()
    .enumerate()
    {
        write("vtl", &format!("template-{i}"), [b"\x01".as_slice(), &join(&[template.as_bytes(), request.as_bytes()])].concat());
    }

    for (i, body) in [
        r#"{"name": "Rex", "age": 3, "tags": [{"id": 1}], "kind": null}"#,
        r#"{"pet": {"name": "a"}, "qty": 1}"#,
        r#"{"s": "ab", "n": 1.01, "i": 14, "d": {"x-a": "s", "a": 1, "b": 2}, "l": ["a", 1], "deep": {"s": "ba", "deep": {}}, "date": "2025-11-25T12:00:00Z", "ip": "1.2.3.4", "uri": "http://x"}"#,
        "",
        "[1, 2, 3]",
    ]
    .iter()
    .enumerate()
    {
        write("schema", &format!("body-{i}"), [b"\x00".as_slice(), body.as_bytes()].concat());
    }
    let schema = r#"{"type": "object", "properties": {"a": {"type": "string", "pattern": "^x+$"}, "b": {"$ref": "Pet"}}, "required": ["a"], "additionalProperties": {"type": "number"}}"#;
    write(
        "schema",
        "schema",
        [
            b"\x01".as_slice(),
            &join(&[schema.as_bytes(), br#"{"a": "xx", "c": 1}"#, br#"{"b": {"name": 1}}"#]),
        ]
        .concat(),
    );

    let replies: [(&str, String); 8] = [
        ("proxy", "200\n\n{\"statusCode\": 200, \"headers\": {\"content-type\": \"text/plain\"}, \"body\": \"hi\"}".into()),
        ("proxy-multi", "200\n\n{\"statusCode\": \"404\", \"multiValueHeaders\": {\"x\": [\"1\", \"2\"]}, \"body\": \"aGk=\", \"isBase64Encoded\": true}".into()),
        ("function-error", "200\nx-amz-function-error: Unhandled\n\n{\"errorMessage\": \"Unauthorized\", \"errorType\": \"Error\"}".into()),
        ("authorizer", format!("200\n\n{}", allow_policy(Some("k")))),
        ("authorizer-deny", "200\n\n{\"principalId\": \"u\", \"policyDocument\": {\"Version\": \"2012-10-17\", \"Statement\": [{\"Effect\": \"Deny\", \"Action\": [\"execute-api:*\"], \"Resource\": [\"arn:aws:execute-api:*:*:*/dev/*/pets/*\"], \"Condition\": {\"StringLike\": {\"aws:UserAgent\": \"*\"}}}]}, \"context\": {\"n\": 1.5}}".into()),
        ("service", "200\ncontent-type: application/x-amz-json-1.0\nx-total: 3\n\n{\"Item\": {\"name\": {\"S\": \"Lamp\"}}, \"items\": [1, 2]}".into()),
        ("service-error", "400\ncontent-type: application/json\n\n{\"message\": \"ThrottlingException\", \"__type\": \"x\"}".into()),
        ("timeout", "504\n\n".into()),
    ];
    for (name, data) in replies {
        write("replies", name, data);
    }
}

#[test]
#[ignore = "writes the seed corpora"]
fn write_seeds() {
    pipeline_seeds();
    jwt_seeds();
    sigv4_seeds();
    other_seeds();
}
