//! Token authorizers (COGNITO_USER_POOLS and JWT) through a real Envoy: tokens minted here with
//! `jwt-simple` (RS256 with a fixed test-only key, ES256 and HS256 keys made in the test), the
//! user pool's JWKS served by a real process (`tollgate-upstream --mode files`) that the filter
//! fetches through an Envoy cluster, key rotation while Envoy runs, AWS's error bodies and types,
//! claims forwarded upstream as headers, a JWKS endpoint that is down (fail closed) and one that
//! publishes its keys only after Envoy started.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // a test fails by panicking

use std::net::TcpListener;
use std::path::Path;
use std::time::{Duration, Instant};

use jwt_simple::prelude::{
    ECDSAP256KeyPairLike, ES256KeyPair, HS256Key, MACLike, RS256KeyPair, RSAKeyPairLike,
};
use serde_json::{json, Map, Value};
use tollgate_e2e::assert_gateway_error as assert_error;
use tollgate_e2e::jwt::{
    b64, b64_decode, claims, es256_jwk, now, rsa_jwk, test_rsa_key, unsigned, with, write_jwks,
};
use tollgate_e2e::{request, scratch_dir, Envoy, EnvoyOptions, Response, Upstream};

const UPSTREAM: &str = env!("CARGO_BIN_EXE_tollgate-upstream");
const POOL: &str = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Test";
const CLIENT: &str = "client-123";
const SHARED_ISSUER: &str = "https://issuer.example";
const SHARED_SECRET: &[u8; 32] = b"tollgate-e2e-shared-hs256-secret";
/// Where the JWKS server serves the pool's key set (`jwks_uri.path` without the leading `/`).
const JWKS_FILE: &str = "eu-west-1_Test/.well-known/jwks.json";

const UNAUTHORIZED: &str = "Unauthorized";
const EXPIRED: &str = "The incoming token has expired";

fn config() -> Value {
    json!({
        "api": {"id": "petstore", "region": "eu-west-1", "account_id": "123456789012"},
        "stage": {"name": "prod"},
        "authorizers": [
            {"id": "pool", "type": "COGNITO_USER_POOLS",
             "identity_source": "authorization",
             "issuers": [POOL],
             "audiences": [CLIENT],
             "jwks_uri": {"cluster": "jwks", "authority": "cognito-idp.eu-west-1.amazonaws.com",
                          "path": format!("/{JWKS_FILE}"), "refresh_seconds": 600, "timeout_ms": 2000},
             "claims_to_headers": {"sub": "x-user-sub", "email": "x-user-email"}},
            {"id": "shared", "type": "JWT", "issuers": [SHARED_ISSUER],
             "jwks": {"keys": [{"kty": "oct", "kid": "hs", "alg": "HS256", "k": b64(SHARED_SECRET)}]}},
        ],
        "methods": [
            {"resource": "/pets", "http_method": "GET", "authorization_type": "COGNITO_USER_POOLS", "authorizer_id": "pool"},
            {"resource": "/pets", "http_method": "POST", "authorization_type": "COGNITO_USER_POOLS", "authorizer_id": "pool", "authorization_scopes": ["pets/write"]},
            {"resource": "/shared", "http_method": "GET", "authorization_type": "JWT", "authorizer_id": "shared"},
            {"resource": "/open", "http_method": "GET"},
        ],
    })
}

/// The signing keys of the test: the pool's RSA key (kid `rs1`), the ES256 key rotated in later
/// (kid `es1`), a key the pool never publishes (kid `ghost`), the shared HS256 secret (kid `hs`).
struct Keys {
    rsa: RS256KeyPair,
    es: ES256KeyPair,
    ghost: ES256KeyPair,
    hs: HS256Key,
}

impl Keys {
    fn new() -> Keys {
        Keys {
            rsa: test_rsa_key("rs1"),
            es: ES256KeyPair::generate().with_key_id("es1"),
            ghost: ES256KeyPair::generate().with_key_id("ghost"),
            hs: HS256Key::from_bytes(SHARED_SECRET).with_key_id("hs"),
        }
    }

    fn rs256(&self, payload: &Value) -> String {
        self.rsa.sign(claims(payload)).expect("sign RS256")
    }

    fn es256(&self, payload: &Value) -> String {
        self.es.sign(claims(payload)).expect("sign ES256")
    }

    fn hs256(&self, payload: &Value) -> String {
        self.hs.authenticate(claims(payload)).expect("sign HS256")
    }

    fn rsa_jwk(&self) -> Value {
        rsa_jwk(&self.rsa, "rs1")
    }

    fn es_jwk(&self) -> Value {
        es256_jwk(&self.es, "es1")
    }
}

/// A Cognito id token's claims (alice): `aud` is the app client.
fn id_token() -> Value {
    let t = now();
    json!({
        "sub": "user-1", "email": "alice@example.com", "email_verified": true,
        "aud": CLIENT, "iss": POOL, "token_use": "id", "cognito:username": "alice",
        "auth_time": t - 10, "iat": t - 10, "exp": t + 600,
    })
}

/// A Cognito access token's claims (bob): no `aud`, the app client in `client_id`.
fn access_token(scope: &str) -> Value {
    let t = now();
    json!({
        "sub": "user-2", "client_id": CLIENT, "iss": POOL, "token_use": "access",
        "scope": scope, "username": "bob", "jti": "8d5f0c2e-access",
        "auth_time": t - 10, "iat": t - 10, "exp": t + 600,
    })
}

/// Claims for the `shared` (plain JWT) authorizer.
fn shared_token() -> Value {
    let t = now();
    json!({"sub": "svc-1", "iss": SHARED_ISSUER, "iat": t - 10, "nbf": t - 10, "exp": t + 600})
}

/// Writes the pool's JWKS where the JWKS server serves it.
fn write_pool_jwks(dir: &Path, keys: &[Value]) {
    write_jwks(&dir.join(JWKS_FILE), keys);
}

/// `method path` with `authorization: <auth>` (when given) and further headers.
fn call(
    port: u16,
    method: &str,
    path: &str,
    auth: Option<&str>,
    extra: &[(&str, &str)],
) -> Response {
    let mut headers: Vec<(&str, &[u8])> = Vec::new();
    if let Some(auth) = auth {
        headers.push(("authorization", auth.as_bytes()));
    }
    headers.extend(extra.iter().map(|(n, v)| (*n, v.as_bytes())));
    let body: &[u8] = if method == "POST" { br#"{"name":"Rex","type":"dog"}"# } else { b"" };
    if method == "POST" {
        headers.push(("content-type", b"application/json"));
    }
    request(port, method, path.as_bytes(), &headers, body)
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

/// 200 from the echo upstream for `method path`; returns the headers it saw.
fn assert_reached(r: &Response, method: &str, path: &str) -> Value {
    assert_eq!(r.status, 200, "{method} {path}: {}", r.text());
    let seen = r.json();
    assert_eq!(seen["method"], method, "{seen}");
    assert_eq!(seen["path"], path, "{seen}");
    seen["headers"].clone()
}

fn assert_unauthorized(r: &Response, case: &str) {
    assert_error(r, 401, UNAUTHORIZED, "UnauthorizedException", case);
}

/// Waits (up to `within`) until the filter fetched the pool's JWKS `n` times; returns the count.
fn wait_for_fetches(envoy: &Envoy, n: u64, within: Duration) -> u64 {
    let deadline = Instant::now() + within;
    loop {
        let fetched = envoy.stat("cluster.jwks.upstream_rq_200");
        if fetched >= n || Instant::now() > deadline {
            return fetched;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The pool's JWKS server, the echo upstream and Envoy (two workers) with `config()`.
struct Gateway {
    port: u16,
    envoy: Envoy,
    _upstream: Upstream,
}

impl Gateway {
    fn start(jwks_port: u16) -> Gateway {
        let upstream = Upstream::start(UPSTREAM, "echo");
        let options = EnvoyOptions::new(config(), upstream.port).cluster("jwks", jwks_port);
        let envoy = Envoy::start(&options).unwrap_or_else(|log| panic!("{log}"));
        Gateway { port: envoy.port, envoy, _upstream: upstream }
    }
}

#[test]
fn token_authorizers_end_to_end() {
    let keys = Keys::new();
    let jwks_dir = scratch_dir("jwks");
    write_pool_jwks(&jwks_dir, &[keys.rsa_jwk()]);
    let jwks = Upstream::files(UPSTREAM, &jwks_dir);
    let mut gw = Gateway::start(jwks.port);
    let port = gw.port;

    // Let every worker fetch the JWKS in the background first: a token's kid that a worker does
    // not know yet forces a refetch, and a worker refetches at most once per 30 s, which would
    // hold back the key rotation below.
    let fetched = wait_for_fetches(&gw.envoy, 2, Duration::from_secs(10));
    std::thread::sleep(Duration::from_millis(1500));
    eprintln!("JWKS fetched {fetched} times before the first request");

    // No authorization on the method: no token needed.
    assert_reached(&call(port, "GET", "/open", None, &[]), "GET", "/open");

    // A valid id token (RS256), with `Bearer ` and bare: the claims go upstream as headers, and
    // the client's own x-user-sub / x-user-email are replaced.
    let id = keys.rs256(&id_token());
    let forged = [("x-user-sub", "forged-sub"), ("x-user-email", "forged@example.com")];
    let seen =
        assert_reached(&call(port, "GET", "/pets", Some(&bearer(&id)), &forged), "GET", "/pets");
    assert_eq!(seen["x-user-sub"], "user-1", "{seen}");
    assert_eq!(seen["x-user-email"], "alice@example.com", "{seen}");
    let seen = assert_reached(&call(port, "GET", "/pets", Some(&id), &[]), "GET", "/pets");
    assert_eq!(seen["x-user-sub"], "user-1", "{seen}");
    assert_eq!(seen["x-user-email"], "alice@example.com", "{seen}");
    // Two forged copies are both replaced; without a `sub` claim the forged header is removed.
    let twice = [("x-user-sub", "forged-1"), ("x-user-sub", "forged-2")];
    let r = call(port, "GET", "/pets", Some(&bearer(&id)), &twice);
    assert_eq!(assert_reached(&r, "GET", "/pets")["x-user-sub"], "user-1");
    let no_sub = keys.rs256(&with(id_token(), json!({"sub": null})));
    let seen = assert_reached(&call(port, "GET", "/pets", Some(&no_sub), &forged), "GET", "/pets");
    assert_eq!(seen.get("x-user-sub"), None, "forged x-user-sub went upstream: {seen}");
    assert_eq!(seen["x-user-email"], "alice@example.com", "{seen}");

    // An access token with the scope may POST; it has no email claim, so a client-sent
    // x-user-email must not reach the upstream either.
    let access = keys.rs256(&access_token("openid pets/write"));
    let r = call(port, "POST", "/pets", Some(&bearer(&access)), &forged);
    let seen = assert_reached(&r, "POST", "/pets");
    assert_eq!(seen["x-user-sub"], "user-2", "{seen}");
    assert_eq!(seen.get("x-user-email"), None, "forged x-user-email went upstream: {seen}");
    assert_eq!(r.json()["body"], r#"{"name":"Rex","type":"dog"}"#);
    // GET /pets asks for no scope: a Cognito user pool method without OAuth scopes takes ID
    // tokens only ("API Gateway treats the supplied token as an identity token"), so an access
    // token is 401, whatever its scopes.
    let read_only = keys.rs256(&access_token("openid profile"));
    let r = call(port, "GET", "/pets", Some(&bearer(&read_only)), &[]);
    assert_unauthorized(&r, "access token on a method without scopes");
    // Valid, but without the scope POST /pets asks for: AWS's 401 ("Otherwise, the call fails
    // with a 401 Unauthorized response"); a scope-like substring is no scope.
    for scope in ["openid profile", "pets/writer pets", "pets/write-all"] {
        let token = keys.rs256(&access_token(scope));
        let r = call(port, "POST", "/pets", Some(&bearer(&token)), &[]);
        assert_unauthorized(&r, &format!("scope {scope:?}"));
    }
    // An id token carries no scopes at all: refused the same way.
    let r = call(port, "POST", "/pets", Some(&bearer(&id)), &[]);
    assert_unauthorized(&r, "id token on a scoped method");

    // No token, or an unusable one: 401 Unauthorized.
    let t = now();
    let mut tampered: Vec<String> = id.split('.').map(str::to_string).collect();
    tampered[1] = b64(with(id_token(), json!({"sub": "admin"})).to_string().as_bytes());
    let tampered = tampered.join(".");
    let rsa_public_pem = keys.rsa.public_key().to_pem().expect("public pem");
    let rsa_public_der = keys.rsa.public_key().to_der().expect("public der");
    let confused = |secret: &[u8]| {
        HS256Key::from_bytes(secret)
            .with_key_id("rs1")
            .authenticate(claims(&id_token()))
            .expect("HS256")
    };
    let rejected: Vec<(&str, Option<String>)> = vec![
        ("no authorization header", None),
        ("empty authorization", Some(String::new())),
        ("bearer without token", Some("Bearer ".into())),
        ("garbage", Some(bearer("not-a-jwt"))),
        ("three garbage parts", Some(bearer("a.b.c"))),
        ("tampered payload", Some(bearer(&tampered))),
        (
            "wrong issuer",
            Some(bearer(&keys.rs256(&with(
                id_token(),
                json!({"iss": "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Other"}),
            )))),
        ),
        ("no issuer", Some(bearer(&keys.rs256(&with(id_token(), json!({"iss": null})))))),
        (
            "wrong audience",
            Some(bearer(&keys.rs256(&with(id_token(), json!({"aud": "client-999"}))))),
        ),
        ("no audience", Some(bearer(&keys.rs256(&with(id_token(), json!({"aud": null})))))),
        (
            "access token of another client",
            Some(bearer(
                &keys.rs256(&with(access_token("pets/write"), json!({"client_id": "client-999"}))),
            )),
        ),
        (
            "not yet valid (nbf)",
            Some(bearer(&keys.rs256(&with(id_token(), json!({"nbf": t + 300}))))),
        ),
        (
            "issued in the future (iat)",
            Some(bearer(
                &keys.rs256(&with(id_token(), json!({"iat": t + 300, "auth_time": t + 300}))),
            )),
        ),
        ("no expiry", Some(bearer(&keys.rs256(&with(id_token(), json!({"exp": null})))))),
        ("alg none", Some(bearer(&unsigned(&id_token(), "rs1")))),
        ("9 KB of garbage", Some(bearer(&"A".repeat(9000)))),
        (
            "HS256 with the RSA public key (PEM) as secret",
            Some(bearer(&confused(rsa_public_pem.as_bytes()))),
        ),
        ("HS256 with the RSA public key (DER) as secret", Some(bearer(&confused(&rsa_public_der)))),
    ];
    for (case, auth) in &rejected {
        for method in ["GET", "POST"] {
            let r = call(port, method, "/pets", auth.as_deref(), &[]);
            assert_unauthorized(&r, &format!("{method} /pets, {case}"));
        }
    }

    let r = request(port, "GET", b"/pets", &[("authorization", b"Bearer \xff\xfe.\x80.x")], b"");
    assert_unauthorized(&r, "non-UTF-8 token");

    // An expired token has its own message; `exp` is the first second it is invalid (leeway 0).
    let expired = keys
        .rs256(&with(id_token(), json!({"iat": t - 3600, "auth_time": t - 3600, "exp": t - 60})));
    let r = call(port, "GET", "/pets", Some(&bearer(&expired)), &[]);
    assert_error(&r, 401, EXPIRED, "UnauthorizedException", "expired id token");
    let expired = keys.rs256(&with(access_token("pets/write"), json!({"exp": t - 1})));
    let r = call(port, "POST", "/pets", Some(&bearer(&expired)), &[]);
    assert_error(&r, 401, EXPIRED, "UnauthorizedException", "expired access token");
    let expiring = keys.rs256(&with(id_token(), json!({"exp": now()})));
    let r = call(port, "GET", "/pets", Some(&bearer(&expiring)), &[]);
    assert_error(&r, 401, EXPIRED, "UnauthorizedException", "exp == now");

    // The shared HS256 authorizer: inline keys, its own issuer.
    let shared = keys.hs256(&shared_token());
    let seen = assert_reached(
        &call(port, "GET", "/shared", Some(&bearer(&shared)), &[]),
        "GET",
        "/shared",
    );
    assert_eq!(seen.get("x-user-sub"), None, "the shared authorizer maps no claims: {seen}");
    let other = keys.hs256(&with(shared_token(), json!({"iss": "https://other.example"})));
    assert_unauthorized(
        &call(port, "GET", "/shared", Some(&bearer(&other)), &[]),
        "/shared, other issuer",
    );
    assert_unauthorized(&call(port, "GET", "/shared", None, &[]), "/shared, no token");
    assert_unauthorized(
        &call(port, "GET", "/shared", Some(&bearer(&id)), &[]),
        "/shared, pool token",
    );
    let expired = keys.hs256(&with(shared_token(), json!({"exp": t - 60})));
    let r = call(port, "GET", "/shared", Some(&bearer(&expired)), &[]);
    assert_error(&r, 401, EXPIRED, "UnauthorizedException", "/shared, expired");

    // Key rotation while Envoy runs: the pool publishes an ES256 key. A token signed with it
    // names a kid the workers do not have, which makes each worker refetch the JWKS (the request
    // waits for it). Within ~3 s every worker must accept it: 20 requests in a row, on new
    // connections spread over both workers, get through. A 401 is allowed only from a worker
    // whose forced refetch was rate-limited.
    let fetches_before = gw.envoy.stat("cluster.jwks.upstream_rq_200");
    write_pool_jwks(&jwks_dir, &[keys.rsa_jwk(), keys.es_jwk()]);
    let rotated =
        keys.es256(&with(id_token(), json!({"sub": "user-3", "email": "carol@example.com"})));
    let deadline = Instant::now() + Duration::from_secs(3);
    let mut statuses = Vec::new();
    let mut streak = 0;
    while streak < 20 {
        assert!(
            Instant::now() < deadline,
            "rotated key not accepted everywhere within 3 s: {statuses:?}"
        );
        let r = call(port, "GET", "/pets", Some(&bearer(&rotated)), &[]);
        statuses.push(r.status);
        if r.status == 401 {
            assert_unauthorized(&r, "rotated key, rate-limited worker");
            streak = 0;
            std::thread::sleep(Duration::from_millis(100));
            continue;
        }
        let seen = assert_reached(&r, "GET", "/pets");
        assert_eq!(seen["x-user-sub"], "user-3", "{seen}");
        assert_eq!(seen["x-user-email"], "carol@example.com", "{seen}");
        streak += 1;
    }
    let fetches = gw.envoy.stat("cluster.jwks.upstream_rq_200") - fetches_before;
    eprintln!("rotation: statuses {statuses:?}, {fetches} JWKS fetches");
    assert!(fetches >= 1, "the new key arrived without a JWKS fetch?");
    // The old key still works.
    assert_reached(&call(port, "GET", "/pets", Some(&bearer(&id)), &[]), "GET", "/pets");

    // A key the pool never published: the refetch (or its rate limit) changes nothing. (These
    // name kids the pool does not have, so they come after the rotation.)
    // Each worker refetches at most once per 30 s for unknown kids: no fetch storm.
    let ghost = keys.ghost.sign(claims(&id_token())).expect("sign ghost");
    let fetches_before = gw.envoy.stat("cluster.jwks.upstream_rq_completed");
    for _ in 0..10 {
        assert_unauthorized(&call(port, "GET", "/pets", Some(&bearer(&ghost)), &[]), "unknown kid");
    }
    let fetches = gw.envoy.stat("cluster.jwks.upstream_rq_completed") - fetches_before;
    assert!(fetches <= 2, "10 requests with an unknown kid made {fetches} JWKS fetches");
    let shared_at_pool = keys.hs256(&shared_token());
    let r = call(port, "GET", "/pets", Some(&bearer(&shared_at_pool)), &[]);
    assert_unauthorized(&r, "shared-authorizer token at the pool");
    // An ES256 token that names the RSA key's kid: the JWK pins the algorithm.
    let es_as_rs1 = ES256KeyPair::from_bytes(&keys.es.to_bytes())
        .expect("es key")
        .with_key_id("rs1")
        .sign(claims(&id_token()))
        .expect("sign");
    assert_unauthorized(
        &call(port, "GET", "/pets", Some(&bearer(&es_as_rs1)), &[]),
        "ES256 with kid rs1",
    );

    // After all the rejections the gateway still works, on both workers.
    for _ in 0..6 {
        let seen =
            assert_reached(&call(port, "GET", "/pets", Some(&bearer(&id)), &[]), "GET", "/pets");
        assert_eq!(seen["x-user-sub"], "user-1");
        assert_reached(&call(port, "GET", "/open", None, &[]), "GET", "/open");
    }
    assert!(gw.envoy.is_running(), "envoy died");
    // Nothing logs a token or a secret.
    let log = gw.envoy.log();
    for token in [&id, &access, &shared, &rotated, &tampered] {
        for part in token.split('.').filter(|p| p.len() > 8) {
            assert!(!log.contains(part), "Envoy's log holds part of a token: {part}");
        }
    }
    assert!(!log.contains(std::str::from_utf8(SHARED_SECRET).expect("ascii")), "secret logged");

    // The subject is in the filter state (`wasm.tollgate.sub`), which the access log prints.
    let mut access = String::new();
    for _ in 0..50 {
        access = gw.envoy.access_log();
        if access.lines().filter(|l| l.starts_with("/open ")).count() >= 7 {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(access.contains("/pets 200 key=- sub=user-1 stage=- reason=-\n"), "{access}");
    assert!(access.contains("/pets 200 key=- sub=user-3 stage=- reason=-\n"), "{access}");
    assert!(access.contains("/shared 200 key=- sub=svc-1 stage=- reason=-\n"), "{access}");
    assert!(access.contains("/pets 401 key=- sub=- stage=- reason=unauthorized\n"), "{access}");
}

#[test]
fn jwks_endpoint_down_fails_closed() {
    let keys = Keys::new();
    // A port nothing listens on.
    let closed = TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let mut gw = Gateway::start(closed);
    let port = gw.port;
    std::thread::sleep(Duration::from_millis(1500));

    let id = keys.rs256(&id_token());
    for i in 0..6 {
        let r = call(port, "GET", "/pets", Some(&bearer(&id)), &[]);
        eprintln!(
            "JWKS down, try {i}: {} {:?} {}",
            r.status,
            r.header("x-amzn-errortype"),
            r.text()
        );
        match r.status {
            401 => assert_unauthorized(&r, "JWKS down"),
            500 => {
                assert!(
                    r.json().get("headers").is_none(),
                    "the upstream was reached: {}",
                    r.text()
                );
                assert!(r.header("x-amzn-errortype").is_some(), "500 without an error type");
            }
            other => panic!("try {i}: JWKS down gave {other}, expected 500 or 401: {}", r.text()),
        }
    }
    // What needs no fetched keys still works.
    assert_reached(&call(port, "GET", "/open", None, &[]), "GET", "/open");
    let shared = keys.hs256(&shared_token());
    assert_reached(&call(port, "GET", "/shared", Some(&bearer(&shared)), &[]), "GET", "/shared");
    assert!(gw.envoy.is_running(), "envoy died");
}

#[test]
fn jwks_published_after_start_is_picked_up() {
    // The JWKS server runs but has no key set yet (404): fail closed, then, once the key set is
    // published, every worker picks it up by itself (a failed fetch is retried after a short
    // backoff, not only after `refresh_seconds`).
    let keys = Keys::new();
    let jwks_dir = scratch_dir("jwks-late");
    let jwks = Upstream::files(UPSTREAM, &jwks_dir);
    let gw = Gateway::start(jwks.port);
    let port = gw.port;
    let id = keys.rs256(&id_token());
    wait_for_fetch_attempts(&gw.envoy, 2, Duration::from_secs(10));
    for i in 0..4 {
        let r = call(port, "GET", "/pets", Some(&bearer(&id)), &[]);
        assert!(
            r.status == 500 || r.status == 401,
            "try {i}, no JWKS yet: {} {}",
            r.status,
            r.text()
        );
    }

    write_pool_jwks(&jwks_dir, &[keys.rsa_jwk()]);
    let published = Instant::now();
    let mut statuses = Vec::new();
    let mut streak = 0;
    while streak < 20 {
        assert!(
            published.elapsed() < Duration::from_secs(20),
            "published JWKS not picked up by every worker within 20 s: {statuses:?}"
        );
        let r = call(port, "GET", "/pets", Some(&bearer(&id)), &[]);
        statuses.push(r.status);
        if r.status == 200 {
            assert_eq!(assert_reached(&r, "GET", "/pets")["x-user-sub"], "user-1");
            streak += 1;
        } else {
            assert!(r.status == 500 || r.status == 401, "{} {}", r.status, r.text());
            streak = 0;
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    eprintln!("late JWKS accepted everywhere after {:?}", published.elapsed());
}

/// Waits (up to `within`) until the filter tried to fetch the pool's JWKS `n` times.
fn wait_for_fetch_attempts(envoy: &Envoy, n: u64, within: Duration) {
    let deadline = Instant::now() + within;
    while envoy.stat("cluster.jwks.upstream_rq_completed") < n && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The test's own fixtures, checked natively: the JWKs served to the filter verify the tokens
/// minted here (so a failure above is the filter's, not the test's).
#[test]
fn minted_tokens_verify_with_the_served_jwks() {
    use jwt_simple::prelude::{
        ECDSAP256PublicKeyLike, ES256PublicKey, RS256PublicKey, RSAPublicKeyLike,
        VerificationOptions,
    };
    let keys = Keys::new();
    let decode = |v: &Value| b64_decode(v.as_str().expect("str"));
    let options = || VerificationOptions {
        allowed_issuers: Some([POOL.to_string()].into()),
        allowed_audiences: Some([CLIENT.to_string()].into()),
        time_tolerance: Some(jwt_simple::prelude::Duration::from_secs(0)),
        ..Default::default()
    };

    let jwk = keys.rsa_jwk();
    let rsa =
        RS256PublicKey::from_components(&decode(&jwk["n"]), &decode(&jwk["e"])).expect("n, e");
    let id = keys.rs256(&id_token());
    let verified = rsa.verify_token::<Map<String, Value>>(&id, Some(options())).expect("RS256");
    assert_eq!(verified.subject.as_deref(), Some("user-1"));
    assert_eq!(verified.custom["email"], "alice@example.com");
    let header = b64_decode(id.split('.').next().expect("header"));
    let header: Value = serde_json::from_slice(&header).expect("header JSON");
    assert_eq!((header["alg"].as_str(), header["kid"].as_str()), (Some("RS256"), Some("rs1")));

    let jwk = keys.es_jwk();
    let point = [vec![4u8], decode(&jwk["x"]), decode(&jwk["y"])].concat();
    let es = ES256PublicKey::from_bytes(&point).expect("P-256 point");
    let verified = es.verify_token::<Map<String, Value>>(&keys.es256(&id_token()), Some(options()));
    assert_eq!(verified.expect("ES256").subject.as_deref(), Some("user-1"));

    let hs = HS256Key::from_bytes(&decode(&config()["authorizers"][1]["jwks"]["keys"][0]["k"]));
    let shared = keys.hs256(&shared_token());
    assert!(hs.verify_token::<Map<String, Value>>(&shared, None).is_ok(), "HS256");

    let expired = keys.rs256(&with(id_token(), json!({"exp": now() - 60})));
    assert!(rsa.verify_token::<Map<String, Value>>(&expired, Some(options())).is_err(), "expired");
}

/// A Cognito authorizer over two user pools (AWS's `providerARNs` with two ARNs): each pool's
/// tokens are verified with that pool's own key set, fetched from its own JWKS URL; a token
/// signed with the other pool's key, or from a third pool, is 401.
#[test]
fn an_authorizer_over_two_user_pools() {
    const SECOND: &str = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Second";
    const SECOND_FILE: &str = "us-east-1_Second/.well-known/jwks.json";
    let keys = Keys::new();
    let dir = scratch_dir("jwks-pools");
    write_pool_jwks(&dir, &[keys.rsa_jwk()]);
    write_jwks(&dir.join(SECOND_FILE), &[keys.es_jwk()]);
    let jwks = Upstream::files(UPSTREAM, &dir);
    let upstream = Upstream::start(UPSTREAM, "echo");
    let uri = |path: &str| json!({"cluster": "jwks", "authority": "cognito-idp.amazonaws.com", "path": format!("/{path}")});
    let config = json!({
        "api": {"id": "petstore", "region": "eu-west-1", "account_id": "123456789012"},
        "authorizers": [{"id": "pools", "type": "COGNITO_USER_POOLS", "identity_source": "authorization",
                         "issuers": [POOL, SECOND], "jwks_uris": [uri(JWKS_FILE), uri(SECOND_FILE)]}],
        "methods": [{"resource": "/pets", "http_method": "GET",
                     "authorization_type": "COGNITO_USER_POOLS", "authorizer_id": "pools"}],
    });
    let options = EnvoyOptions::new(config, upstream.port).cluster("jwks", jwks.port);
    let envoy = Envoy::start(&options).unwrap_or_else(|log| panic!("{log}"));
    let port = envoy.port;

    let first = keys.rs256(&id_token());
    assert_reached(&call(port, "GET", "/pets", Some(&bearer(&first)), &[]), "GET", "/pets");
    let second = keys.es256(&with(id_token(), json!({"iss": SECOND})));
    assert_reached(&call(port, "GET", "/pets", Some(&bearer(&second)), &[]), "GET", "/pets");
    // The second pool does not publish the first pool's key, nor the other way round.
    let crossed = keys.rs256(&with(id_token(), json!({"iss": SECOND})));
    assert_unauthorized(&call(port, "GET", "/pets", Some(&bearer(&crossed)), &[]), "crossed");
    let crossed = keys.es256(&id_token());
    assert_unauthorized(&call(port, "GET", "/pets", Some(&bearer(&crossed)), &[]), "crossed back");
    let third = keys.rs256(&with(
        id_token(),
        json!({"iss": "https://cognito-idp.us-east-1.amazonaws.com/third"}),
    ));
    assert_unauthorized(&call(port, "GET", "/pets", Some(&bearer(&third)), &[]), "third pool");
}
