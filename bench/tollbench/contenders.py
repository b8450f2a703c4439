"""The contenders: one function per contender rendering the HTTP filters it puts before the
router. Every contender sees the same listener and route; by default it is measured with
`GET /pets` and a valid `x-api-key`, and the ones that check keys must also refuse a wrong key.
A contender may bring its own request (method, path, headers, body; see `Request`) and the
requests it must refuse (the SigV4 contenders: a signed `GET` or `POST`, refused unsigned or
with a changed body; the JWT contenders: a bearer token, refused missing or tampered with). A
request may rotate header values, a different one on each request (the cold-cache JWT
contenders: thousands of tokens, so that none is found in a cache).

To add a contender, write a function `fn(setup) -> [http filter, ...]` and list it in
`CONTENDERS`; move it out of `NOT_BUILT` when Tollgate can do the job.
"""

import hashlib
import json
from pathlib import Path
from dataclasses import dataclass, field, replace
from typing import Callable

from . import jwtmint, sigv4

PATH = "/pets"
KEY_HEADER = "x-api-key"
# Header carrying the caller's id upstream, for the contenders that can set one.
CLIENT_HEADER = "x-client-id"


def key_value(i):
    return f"bench-key-{i:06d}-0123456789abcdef"


def sha256_hex(value):
    return hashlib.sha256(value.encode()).hexdigest()


@dataclass
class Setup:
    """What contenders need: built wasm modules and the key table."""

    tollgate_wasm: str
    noop_wasm: str
    keys: int = 1000

    @property
    def valid_key(self):
        return key_value(self.keys // 2)


@dataclass
class Request:
    """The one request a contender is measured with; wrk replays it as is. A `Host` header, when
    given, is sent exactly so (wrk, urllib and http.client all send it instead of their own)."""

    method: str = "GET"
    path: str = PATH
    headers: dict = field(default_factory=dict)
    body: bytes = b""
    # How it is authenticated, for the report (e.g. `signed (SigV4, header form) ...`).
    how: str = ""
    # Header name -> values: request i sends values[i % len(values)] (wrk through a Lua script,
    # round-robin per wrk thread); `headers` holds what request 0 sends.
    rotate: dict = field(default_factory=dict)
    # A sentence for the report on how such requests are made (the same note is printed once).
    note: str = ""

    def describe(self):
        body = f" with a {len(self.body):,}-byte body" if self.body else ""
        how = f" {self.how}" if self.how else ""
        return f"`{self.method} {self.path}`{body}{how}"

    def nth(self, i):
        """The request as sent the `i`th time (0 is `self`, unless rotated headers say otherwise)."""
        if not self.rotate:
            return self
        headers = dict(self.headers)
        headers.update({name: values[i % len(values)] for name, values in self.rotate.items()})
        return replace(self, headers=headers, rotate={})

    @property
    def variants(self):
        """How many different requests it stands for (1 unless headers rotate)."""
        return max((len(values) for values in self.rotate.values()), default=1)


def key_request(setup, port):
    """The default: `GET /pets` with a valid key."""
    return Request("GET", PATH, {KEY_HEADER: setup.valid_key})


def key_refusals(setup, port):
    """(what, request, text the refusal's body must hold) for the key-checking contenders."""
    return [("a wrong key", Request("GET", PATH, {KEY_HEADER: "wrong-key"}), ""),
            ("no key", Request("GET", PATH, {}), "")]


@dataclass
class Contender:
    name: str
    label: str
    filters: Callable[[Setup], list]
    # Statuses the refused requests must get; empty for contenders that check nothing.
    denies: tuple = ()
    notes: str = ""
    # (setup, port) -> Request: what the contender is measured with. Called again before every
    # warm-up and measurement (a signature must be fresh).
    request: Callable[[Setup, int], Request] = key_request
    # (setup, port) -> [(what, Request, text in the body)]: what it must refuse (when `denies`).
    refusals: Callable[[Setup, int], list] = key_refusals
    # The route goes to an origin listener rather than answering directly (see envoy.bootstrap).
    origin: bool = False
    # The filter config its rate-limit service enforces (tollbench/ratelimit.py): a global plan.
    ratelimit: Callable[[int], dict] = None
    # (setup, workdir) -> (access loggers, route filter_metadata): what the connection manager
    # logs (nothing by default).
    logs: Callable = None
    # Envoy's --concurrency for the throughput rounds (all workers on the one Envoy core).
    workers: int = 1
    # Filter names the route turns on (filters the connection manager has `disabled`).
    route_enables: tuple = ()
    # Keys imported into the rate-limit service's key store before the contender starts.
    store_keys: int = 0

    def bootstrap(self, setup, workdir, grpc_clusters=()):
        from .envoy import bootstrap

        access_log, metadata = self.logs(setup, workdir) if self.logs else (None, None)
        enables = {name: {"@type": "type.googleapis.com/envoy.config.route.v3.FilterConfig", "config": {}}
                   for name in self.route_enables}
        return bootstrap(self.filters(setup), origin=self.origin, grpc_clusters=grpc_clusters,
                         access_log=access_log, route_metadata=metadata, route_filters=enables)

    def request_for(self, setup, port):
        return self.request(setup, port)

    def verify(self, envoy, setup):
        """Fails loudly unless the contender's request gets the route's 200 and, for the
        contenders that check callers, its refusals (a wrong or missing key, ...) are refused."""
        from .envoy import BODY, http_request

        request = self.request_for(setup, envoy.port)
        # With rotated headers: the first, second and last variants.
        for i in sorted({0, 1 % request.variants, request.variants - 1}):
            req = request.nth(i)
            status, body = http_request(envoy.port, req.method, req.path, req.headers, req.body)
            if status != 200 or body.decode() != BODY:
                raise SystemExit(f"{self.name}: {req.describe()} (variant {i}) got {status} {body[:300]!r}"
                                 f"\n{envoy.log()}")
        for what, bad, needle in self.refusals(setup, envoy.port) if self.denies else ():
            status, body = http_request(envoy.port, bad.method, bad.path, bad.headers, bad.body)
            if status not in self.denies or needle.encode() not in body:
                raise SystemExit(f"{self.name}: {what} got {status}, expected {self.denies}"
                                 + (f" and {needle!r}" if needle else "") + f": {body[:300]!r}")


def wasm_filter(name, wasm, configuration, root_id=None):
    """An `envoy.filters.http.wasm` entry, loaded exactly as Tollgate ships (V8, fail closed)."""
    return {
        "name": "envoy.filters.http.wasm",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm",
            "config": {
                "name": name,
                "root_id": root_id or name,
                "failure_policy": "FAIL_CLOSED",
                "allow_on_headers_stop_iteration": True,
                "configuration": {
                    "@type": "type.googleapis.com/google.protobuf.StringValue",
                    "value": configuration,
                },
                "vm_config": {
                    "vm_id": name,
                    "runtime": "envoy.wasm.runtime.v8",
                    "code": {"local": {"filename": wasm}},
                },
            },
        },
    }


# ---- Tollgate configurations -------------------------------------------------------------


# Limits no benchmark reaches: every request pays for the buckets and the quota, none is refused.
NEVER = {"rate": 1_000_000_000, "burst": 1_000_000_000}


def tollgate_config(keys):
    """The key-check document: one keyed method, `keys` keys. As on AWS a key only opens a stage
    through a usage plan, so every key is in one plan, here without throttle or quota, and the
    account throttle Tollgate applies by default is off: no shared data is touched."""
    return {
        "api": {"id": "bench", "region": "eu-west-1", "account_id": "123456789012"},
        "stage": {"name": "prod"},
        "methods": [{"resource": PATH, "http_method": "GET", "api_key_required": True}],
        "api_keys": [
            {"id": f"key-{i:06d}", "value_sha256": sha256_hex(key_value(i)), "usage_plan_ids": ["bench"]}
            for i in range(keys)
        ],
        "usage_plans": [{"id": "bench", "api_stages": [{"api_id": "bench", "stage": "prod"}]}],
        "account_throttle": None,
    }


# Keys in the store of the key-store contenders (and the memory table's key-store row).
STORE_KEYS = 1_000_000


def tollgate_store_config(keys):
    """The key check with the keys in the key store (Redis, through `tollgate-ratelimit`): the
    filter config holds none, whatever `keys` says."""
    config = tollgate_config(0)
    del config["api_keys"]
    config["api_key_store"] = {"cluster": "ratelimit"}
    return config


def tollgate_keys_store(setup):
    return [tollgate_filter(setup, tollgate_store_config(setup.keys))]


def tollgate_plan_config(keys):
    """The full chain as on AWS: the usage plan gets a throttle and a monthly quota, and the
    account throttle is on; limits no run reaches, so every request pays for all three."""
    config = tollgate_config(keys)
    plan = config["usage_plans"][0]
    plan["throttle"] = NEVER
    plan["quota"] = {"limit": 1_000_000_000_000, "period": "MONTH"}
    config["account_throttle"] = NEVER
    return config


def tollgate_global_config(keys):
    """`tollgate_plan_config` with the usage plan global: its throttle and quota are counted by
    the rate-limit service (Redis), leased in batches per worker (automatic size: 64 here)."""
    config = tollgate_plan_config(keys)
    config["usage_plans"][0]["global"] = True
    config["rate_limit_service"] = {"cluster": "ratelimit"}
    return config


# The SigV4 identity: one credential whose identity policy allows the whole stage.
SIGV4_REGION = "eu-west-1"
SIGV4_ACCESS_KEY = "AKIDBENCH"
SIGV4_SECRET_KEY = "bench-secret-0123456789abcdef0123456789"
SIGV4_PRINCIPAL = "arn:aws:iam::123456789012:user/bench"


def tollgate_sigv4_config():
    """`GET` and `POST /pets` as AWS_IAM methods, one credential allowed `execute-api:Invoke` on
    the stage, no account throttle: only the signature and the policy are measured. wrk replays
    one request signed before each run, so the clock skew allowed is an hour."""
    return {
        "api": {"id": "bench", "region": SIGV4_REGION, "account_id": "123456789012"},
        "stage": {"name": "prod"},
        "methods": [
            {"resource": PATH, "http_method": "GET", "authorization_type": "AWS_IAM"},
            {"resource": PATH, "http_method": "POST", "authorization_type": "AWS_IAM"},
        ],
        "iam": {
            "max_skew_seconds": 3600,
            "credentials": [{
                "access_key_id": SIGV4_ACCESS_KEY,
                "secret_access_key": SIGV4_SECRET_KEY,
                "principal_arn": SIGV4_PRINCIPAL,
                "policies": [{"Version": "2012-10-17", "Statement": [{
                    "Effect": "Allow",
                    "Action": "execute-api:Invoke",
                    "Resource": f"arn:aws:execute-api:{SIGV4_REGION}:123456789012:bench/prod/*",
                }]}],
            }],
        },
        "account_throttle": None,
    }


def json_body(size=1024):
    """A JSON document of exactly `size` bytes: a list of pets, padded in the last one's note."""
    pets = []
    while True:
        pet = {"id": len(pets) + 1, "name": f"pet-{len(pets) + 1:04d}", "type": "dog", "price": 249.99,
               "note": ""}
        text = json.dumps({"pets": pets + [pet]}, separators=(",", ":"))
        if len(text) > size:
            break
        pets.append(pet)
    text = json.dumps({"pets": pets}, separators=(",", ":"))
    pets[-1]["note"] = "x" * (size - len(text))
    body = json.dumps({"pets": pets}, separators=(",", ":")).encode()
    assert len(body) == size, len(body)
    return body


SIGV4_POST_BODY = json_body(1024)


def signed_request(method, port, body=b"", extra=None):
    """`method /pets` signed (header form) now, for the Host wrk sends: `127.0.0.1:{port}`."""
    host = f"127.0.0.1:{port}"
    headers = dict(extra or {})
    headers.update(sigv4.sign(method, host, PATH, headers, body, SIGV4_ACCESS_KEY, SIGV4_SECRET_KEY,
                              SIGV4_REGION))
    return Request(method, PATH, {"Host": host, **headers}, body,
                   how="signed (SigV4, header form) for the Host wrk sends",
                   note="A signed request is signed afresh before each warm-up and measurement, then "
                        "replayed unchanged by wrk (Tollgate allows an hour of clock skew).")


MISSING_TOKEN = "Missing Authentication Token"
MISMATCH = "The request signature we calculated does not match"


def sigv4_get_request(setup, port):
    return signed_request("GET", port)


def sigv4_get_refusals(setup, port):
    return [("an unsigned GET", Request("GET", PATH, {"Host": f"127.0.0.1:{port}"}), MISSING_TOKEN)]


def sigv4_post_request(setup, port):
    # Tollgate reads the whole body before the route answers, so connections stay alive. A filter
    # that lets the headers through (plain Envoy, the empty filter) gets the direct_response
    # before the body is read, and Envoy then closes the connection after every request: a body
    # sent to those would measure connection setup, which is why they keep the bodiless GET.
    return signed_request("POST", port, SIGV4_POST_BODY, {"Content-Type": "application/json"})


def sigv4_post_refusals(setup, port):
    signed = sigv4_post_request(setup, port)
    changed = SIGV4_POST_BODY.replace(b'"type":"dog"', b'"type":"cat"', 1)
    unsigned = {k: v for k, v in signed.headers.items() if k not in ("Authorization", "X-Amz-Date")}
    return [("an unsigned POST", replace(signed, headers=unsigned), MISSING_TOKEN),
            ("a signed POST with a changed body", replace(signed, body=changed), MISMATCH)]


# The transform contender: `POST /pets` with the 1 KB JSON body, validated against a draft-4
# model and reshaped by a request mapping template (an HTTP integration), as AWS users write them.
TRANSFORM_MODEL = {
    "$schema": "http://json-schema.org/draft-04/schema#",
    "title": "Pets",
    "type": "object",
    "required": ["pets"],
    "properties": {"pets": {"type": "array", "items": {
        "type": "object",
        "required": ["id", "name", "type", "price"],
        "properties": {
            "id": {"type": "integer", "minimum": 1},
            "name": {"type": "string", "maxLength": 64},
            "type": {"type": "string", "enum": ["dog", "cat", "fish", "bird", "gecko"]},
            "price": {"type": "number", "minimum": 0, "maximum": 10000},
            "note": {"type": "string"},
        },
    }}},
}
TRANSFORM_TEMPLATE = """#set($root = $input.path('$'))
{
  "requestId": "$context.requestId",
  "count": $root.pets.size(),
  "items": [
#foreach($pet in $root.pets)
    {"sku": "$pet.type-$pet.id", "label": "$util.escapeJavaScript($pet.name)", "cents": $pet.price}#if($foreach.hasNext),#end
#end
  ]
}
"""


def tollgate_transform_config():
    return {
        "api": {"id": "bench", "region": "eu-west-1", "account_id": "123456789012"},
        "stage": {"name": "prod"},
        "models": {"Pets": TRANSFORM_MODEL},
        "request_validators": {"body": {"validate_request_body": True}},
        "methods": [{
            "resource": PATH, "http_method": "POST",
            "request_validator": "body",
            "request_models": {"application/json": "Pets"},
            "integration": {"type": "HTTP", "request_templates": {"application/json": TRANSFORM_TEMPLATE}},
        }],
        "account_throttle": None,
    }


def tollgate_transform(setup):
    return [wasm_filter("tollgate", setup.tollgate_wasm, json.dumps(tollgate_transform_config()))]


def transform_request(setup, port):
    # As for the SigV4 POST: Tollgate reads the whole body before the route answers.
    return Request("POST", PATH, {"Content-Type": "application/json"}, SIGV4_POST_BODY,
                   how="valid against the model")


def transform_refusals(setup, port):
    bad = SIGV4_POST_BODY.replace(b'"type":"dog"', b'"type":"cow"', 1)
    return [("a body the model refuses", Request("POST", PATH, {"Content-Type": "application/json"}, bad),
             "Invalid request body")]


# The JWT contenders: one authorizer with both keys inline; `GET /pets` needs a bearer token.
# Tollgate caches verified tokens per worker (1,024, the oldest evicted first): a warm run sends
# one token, a cold run cycles through JWT_TOKENS of them, so every request misses the cache.
JWT_TOKENS = 4096
UNAUTHORIZED = "Unauthorized"


def jwt_material():
    return jwtmint.material(JWT_TOKENS)


def tollgate_jwt_config():
    return {
        "api": {"id": "bench", "region": "eu-west-1", "account_id": "123456789012"},
        "stage": {"name": "prod"},
        "authorizers": [{"id": "jwt", "type": "JWT", "issuers": [jwtmint.ISSUER],
                         "audiences": [jwtmint.AUDIENCE], "jwks": jwt_material()["jwks"]}],
        "methods": [{"resource": PATH, "http_method": "GET", "authorization_type": "JWT",
                     "authorizer_id": "jwt"}],
        "account_throttle": None,
    }


JWT_NOTE = (f"JWTs are minted once per run with Python's `cryptography` (RS256 with an RSA-2048 key, "
            f"ES256 with P-256; `iss`, `aud`, `sub`, `iat`, `exp` in 2100), both keys inline in the JWK "
            f"Set. A cold run's wrk script sends {JWT_TOKENS:,} tokens round-robin from a file, a "
            f"different one on each request: four times Tollgate's per-worker cache of 1,024 verified "
            f"tokens (oldest evicted first), so every request verifies a signature. Envoy's jwt_authn "
            f"caches verified tokens only when `jwt_cache_config` is set (off by default; 100 tokens "
            f"when set without a size): its warm and cold contenders set 1,024, the default one does not.")


def jwt_request(alg, cold, twice=False):
    """`GET /pets` with `authorization: Bearer <alg JWT>`: the same token every time (warm), or
    the next of JWT_TOKENS tokens on each request (cold); `twice`: each token on two requests
    in a row, which wrk sends on two of its connections (for two workers, often two workers)."""
    tokens = jwt_material()["tokens"][alg]
    headers = {"authorization": f"Bearer {tokens[0]}"}
    if twice:
        return Request("GET", PATH, headers, how=f"with a bearer {alg} JWT, one of {len(tokens):,} in turn, "
                       "each on two requests in a row",
                       rotate={"authorization": [f"Bearer {t}" for t in tokens for _ in (0, 1)]},
                       note=JWT_NOTE)
    if cold:
        return Request("GET", PATH, headers, how=f"with a bearer {alg} JWT, one of {len(tokens):,} in turn "
                       "(a different token on each request)",
                       rotate={"authorization": [f"Bearer {t}" for t in tokens]}, note=JWT_NOTE)
    return Request("GET", PATH, headers, how=f"with a bearer {alg} JWT, the same token on every request",
                   note=JWT_NOTE)


def jwt_refusals(alg, needle):
    """No token, a token whose claims were changed, a token whose signature was changed."""
    token = jwt_material()["tokens"][alg][0]
    return lambda setup, port: [
        ("no token", Request("GET", PATH, {}), needle[0]),
        ("a token with a changed payload",
         Request("GET", PATH, {"authorization": f"Bearer {jwtmint.tampered_payload(token)}"}), needle[1]),
        ("a token with a changed signature",
         Request("GET", PATH, {"authorization": f"Bearer {jwtmint.tampered_signature(token)}"}), needle[1]),
    ]


def tollgate_jwt(setup):
    return [tollgate_filter(setup, tollgate_jwt_config())]


def native_jwt_authn_filter(cache_size):
    """Envoy's `jwt_authn`: one provider with the same issuer, audience and JWK Set (inline),
    required on every path. It caches verified tokens only with `jwt_cache_config` (size 100 when
    given without one); `cache_size` 0 leaves it out, Envoy's default."""
    provider = {
        "issuer": jwtmint.ISSUER,
        "audiences": [jwtmint.AUDIENCE],
        "local_jwks": {"inline_string": json.dumps(jwt_material()["jwks"])},
    }
    if cache_size:
        provider["jwt_cache_config"] = {"jwt_cache_size": cache_size}
    return {
        "name": "envoy.filters.http.jwt_authn",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication",
            "providers": {"bench": provider},
            "rules": [{"match": {"prefix": "/"}, "requires": {"provider_name": "bench"}}],
        },
    }


def native_jwt_authn(setup):
    """With a token cache as large as Tollgate's."""
    return [native_jwt_authn_filter(1024)]


def native_jwt_authn_nocache(setup):
    return [native_jwt_authn_filter(0)]


def tollgate_filter(setup, config):
    return wasm_filter("tollgate", setup.tollgate_wasm, json.dumps(config, separators=(",", ":")))


# ---- Contenders ---------------------------------------------------------------------------


def plain(setup):
    return []


def noop_wasm(setup):
    return [wasm_filter("bench_noop", setup.noop_wasm, "noop")]


def touch_wasm(setup):
    return [wasm_filter("bench_noop", setup.noop_wasm, "touch")]


def tollgate_keys(setup):
    return [tollgate_filter(setup, tollgate_config(setup.keys))]


def api_filter(setup, api, config):
    """API `api`'s filter as a gateway with several APIs has it: named `tollgate.{api}`, off in
    the connection manager unless a route turns it on, in the one `tollgate` VM (shared data and
    all) that every API's filter shares."""
    entry = tollgate_filter(setup, {**config, "api": {**config["api"], "id": api}})
    entry["name"] = f"tollgate.{api}"
    entry["disabled"] = True
    entry["typed_config"]["config"]["name"] = f"tollgate.{api}"
    entry["typed_config"]["config"]["root_id"] = "tollgate"
    entry["typed_config"]["config"]["vm_config"]["vm_id"] = "tollgate"
    return entry


def ten_apis(setup):
    """Ten APIs with the key-check config each (their own keys' table each); the route is the
    first one's."""
    config = tollgate_config(setup.keys)
    filters = []
    for i in range(10):
        api = f"bench{i}" if i else "bench"
        api_config = json.loads(json.dumps(config))
        api_config["usage_plans"][0]["api_stages"] = [{"api_id": api, "stage": "prod"}]
        filters.append(api_filter(setup, api, api_config))
    return filters


def tollgate_plan(setup):
    return [tollgate_filter(setup, tollgate_plan_config(setup.keys))]


def tollgate_plan_published(setup):
    """The plan chain publishing the caller's identity as filter state, as `tollgate render`'s
    config does for its access line."""
    return [tollgate_filter(setup, {**tollgate_plan_config(setup.keys), "filter_state": True})]


def tollgate_global(setup):
    return [tollgate_filter(setup, tollgate_global_config(setup.keys))]


def tollgate_cache(setup):
    """The key check with the stage cache on: after the first request every `GET /pets` is a
    hit answered by the filter from shared data (the route's answer is never asked again)."""
    config = tollgate_config(setup.keys)
    config["stage"]["cache"] = {"enabled": True, "ttl_seconds": 3600}
    return [tollgate_filter(setup, config)]


def envoy_cache(setup):
    """Envoy's own cache filter (in-memory `SimpleHttpCache`) in front of the origin route, whose
    answer carries `cache-control: max-age=3600`: after the first request every `GET /pets` is
    a hit. No key check: the cache alone."""
    cache = {
        "name": "envoy.filters.http.cache",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.cache.v3.CacheConfig",
            "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.http.cache.simple_http_cache.v3.SimpleHttpCacheConfig"},
        },
    }
    return [cache]


def tollgate_sigv4(setup):
    return [tollgate_filter(setup, tollgate_sigv4_config())]


def native_key_ratelimit(setup):
    """Envoy's own `api_key_auth` (forwarding the client id) + `local_ratelimit` with a bucket
    that never runs dry, so every request pays for the check and the token."""
    auth = {
        "name": "envoy.filters.http.api_key_auth",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.api_key_auth.v3.ApiKeyAuth",
            "credentials": [{"key": key_value(i), "client": f"key-{i:06d}"} for i in range(setup.keys)],
            "key_sources": [{"header": KEY_HEADER}],
            "forwarding": {"header": CLIENT_HEADER},
        },
    }
    ratelimit = {
        "name": "envoy.filters.http.local_ratelimit",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit",
            "stat_prefix": "bench",
            "token_bucket": {
                "max_tokens": 1000000000,
                "tokens_per_fill": 1000000000,
                "fill_interval": "1s",
            },
            "filter_enabled": {
                "runtime_key": "bench_rl_enabled",
                "default_value": {"numerator": 100, "denominator": "HUNDRED"},
            },
            "filter_enforced": {
                "runtime_key": "bench_rl_enforced",
                "default_value": {"numerator": 100, "denominator": "HUNDRED"},
            },
        },
    }
    return [auth, ratelimit]


# What `tollgate render` wrote before its logs spoke API Gateway's vocabulary: one text line.
TEXT_LOG_FORMAT = (
    '[%START_TIME%] "%REQ(:METHOD)% %REQ_WITHOUT_QUERY(X-ENVOY-ORIGINAL-PATH?:PATH)%" '
    '%RESPONSE_CODE% route="%ROUTE_NAME%" stage=%FILTER_STATE(wasm.tollgate.stage:PLAIN)% '
    'key=%FILTER_STATE(wasm.tollgate.api_key_id:PLAIN)% '
    'reason=%FILTER_STATE(wasm.tollgate.rejection:PLAIN)% %DURATION%ms\n')


def text_log(setup, workdir):
    """The text access line, to a file in the work directory."""
    log = {
        "name": "envoy.access_loggers.file",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog",
            "path": str(Path(workdir) / "text-access.log"),
            "log_format": {
                "text_format_source": {"inline_string": TEXT_LOG_FORMAT},
                "formatters": [{
                    "name": "envoy.formatter.req_without_query",
                    "typed_config": {"@type": "type.googleapis.com/envoy.extensions.formatter.req_without_query.v3.ReqWithoutQuery"},
                }],
            },
        },
    }
    return [log], None


def rendered_logs(**gateway):
    """The access loggers `tollgate render` writes for the plan contender's API with these
    `gateway` settings (the access line to `gateway.access_log`, and the stats loggers of
    the per-method metrics when asked for), taken from a real render, with the route metadata
    they read."""

    def logs(setup, workdir):
        import subprocess

        import yaml  # PyYAML: the rendered bootstrap is YAML

        root = Path(__file__).resolve().parents[2]
        work = Path(workdir) / "rendered" / ("-".join(sorted(gateway)) or "default")
        work.mkdir(parents=True, exist_ok=True)
        spec = dict(tollgate_plan_config(setup.keys))
        spec["gateway"] = {"upstream": "http://127.0.0.1:9", "access_log": str(work / "access.log"),
                           **gateway}
        (work / "spec.json").write_text(json.dumps(spec))
        subprocess.run([str(root / "target/release/tollgate"), "render", str(work / "spec.json"),
                        "--out", str(work / "gw"), "--wasm", setup.tollgate_wasm],
                       check=True, capture_output=True)
        bootstrap = yaml.safe_load((work / "gw/envoy.yaml").read_text())
        listener = next(l for l in bootstrap["static_resources"]["listeners"] if l["name"] == "api")
        hcm = listener["filter_chains"][0]["filters"][0]["typed_config"]
        route = next(r for r in hcm["route_config"]["virtual_hosts"][0]["routes"] if "metadata" in r)
        return hcm["access_log"], route["metadata"]["filter_metadata"]

    return logs


LUA_KEY_CHECK = """
local keys = {%s}
function envoy_on_request(handle)
  local headers = handle:headers()
  local id = keys[headers:get("%s") or ""]
  if id == nil then
    handle:respond({[":status"] = "403"}, "Forbidden")
    return
  end
  headers:replace("%s", id)
end
"""


def lua_keys(setup):
    table = ",".join(f'["{key_value(i)}"]="key-{i:06d}"' for i in range(setup.keys))
    code = LUA_KEY_CHECK % (table, KEY_HEADER, CLIENT_HEADER)
    return [
        {
            "name": "envoy.filters.http.lua",
            "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua",
                "default_source_code": {"inline_string": code},
            },
        }
    ]


CONTENDERS = [
    Contender("plain", "Envoy, no filter (the limit)", plain),
    Contender("noop", "proxy-wasm, empty filter (the floor)", noop_wasm,
              notes="no host call; like Tollgate, without the log/done callbacks it does not implement"),
    Contender("touch", "proxy-wasm, read 1 header + set 1", touch_wasm,
              notes="2 host calls"),
    Contender("tollgate_keys", "Tollgate: API key check", tollgate_keys, denies=(403,),
              notes="SHA-256 of the key + counter (no id header, no filter state: AWS has neither)"),
    Contender("tollgate_off_route", "Tollgate on the listener, off on this route (a health check)",
              lambda setup: [api_filter(setup, "bench", tollgate_plan_config(setup.keys))],
              notes="the plan chain's filter, `disabled` in the connection manager; the route turns nothing on"),
    Contender("tollgate_keys_store", "Tollgate: API key check, keys in the key store (warm)",
              tollgate_keys_store, denies=(403,), ratelimit=tollgate_store_config, store_keys=STORE_KEYS,
              notes="1,000,000 keys in Redis; the key's record is in the worker's cache after its first "
                    "request (one gRPC lookup), the change feed polled every 500 ms"),
    Contender("tollgate_keys_routed", "Tollgate: API key check, the API's filter turned on by its route",
              lambda setup: [api_filter(setup, "bench", tollgate_config(setup.keys))], denies=(403,),
              route_enables=("tollgate.bench",),
              notes="one API as a gateway of several has it: route-level FilterConfig"),
    Contender("tollgate_keys_ten_apis", "Tollgate: API key check, 10 APIs on the gateway",
              ten_apis, denies=(403,), route_enables=("tollgate.bench",),
              notes="10 filters (one per API, one VM), the route turns on the first"),
    Contender("tollgate_plan", "Tollgate: API key + usage plan + throttle + quota", tollgate_plan,
              denies=(403,), notes="account + plan buckets and the quota in shared data"),
    Contender("tollgate_plan_textlog", "Tollgate: key + plan chain, text access line (render before)",
              tollgate_plan_published, denies=(403,), logs=text_log,
              notes="the one text line `tollgate render` wrote before, to a file"),
    Contender("tollgate_plan_observed", "Tollgate: key + plan chain, the access line `tollgate render` writes",
              tollgate_plan_published, denies=(403,), logs=rendered_logs(),
              notes="AWS's CLF line with key id and response type, to a file (render's default)"),
    Contender("tollgate_plan_observed_full", "Tollgate: key + plan chain, JSON access lines and per-method metrics",
              tollgate_plan_published, denies=(403,),
              logs=rendered_logs(access_log_format="json", detailed_metrics=True),
              notes="JSON line in AWS's vocabulary + stats loggers (per-method count, latency, "
                    "integration latency): gateway.access_log_format json, detailed_metrics"),
    Contender("tollgate_global", "Tollgate: API key + global usage plan (rate-limit service, Redis)",
              tollgate_global, denies=(403,), ratelimit=tollgate_global_config,
              notes="plan throttle + quota leased 64 at a time over gRPC; account bucket in shared data"),
    Contender("tollgate_sigv4_get", "Tollgate: SigV4 (AWS_IAM) GET", tollgate_sigv4, denies=(403,),
              notes="SigV4 signature (cached signing key) + identity policy",
              request=sigv4_get_request, refusals=sigv4_get_refusals),
    Contender("tollgate_sigv4_post", "Tollgate: SigV4 (AWS_IAM) POST, 1 KB JSON body", tollgate_sigv4,
              denies=(403,), notes="body buffered and hashed, SigV4 signature + identity policy",
              request=sigv4_post_request, refusals=sigv4_post_refusals),
    Contender("tollgate_transform", "Tollgate: JSON-schema validation + mapping template, 1 KB body",
              tollgate_transform, denies=(400,),
              notes="body buffered, validated (draft 4), reshaped by a VTL template with #foreach",
              request=transform_request, refusals=transform_refusals),
    Contender("tollgate_cache", "Tollgate: API key + response cache hit", tollgate_cache, denies=(403,),
              notes="key check, then the cached answer read from shared data", origin=True),
    Contender("envoy_cache", "Envoy native: cache filter hit (no key check)", envoy_cache,
              notes="SimpleHttpCache; the origin answers with cache-control max-age=3600", origin=True),
    Contender("native", "Envoy native: api_key_auth + local_ratelimit", native_key_ratelimit,
              denies=(401, 403), notes="plain-text key table, client id forwarded"),
    Contender("lua", "Lua: key table check", lua_keys, denies=(403,),
              notes="plain-text key table, client id set"),
    Contender("tollgate_jwt_rs256_warm", "Tollgate: JWT RS256, warm cache", tollgate_jwt, denies=(401,),
              notes="the same token: SHA-256 of it, a cache hit, sub in filter state",
              request=lambda setup, port: jwt_request("RS256", cold=False),
              refusals=jwt_refusals("RS256", (UNAUTHORIZED, UNAUTHORIZED))),
    Contender("tollgate_jwt_rs256_cold", "Tollgate: JWT RS256, cold (new token each request)", tollgate_jwt,
              denies=(401,), notes=f"{JWT_TOKENS:,} tokens round-robin: RSA-2048 signature + claims every time",
              request=lambda setup, port: jwt_request("RS256", cold=True),
              refusals=jwt_refusals("RS256", (UNAUTHORIZED, UNAUTHORIZED))),
    Contender("tollgate_jwt_rs256_two_workers", "Tollgate: JWT RS256, 2 workers, each token twice",
              tollgate_jwt, denies=(401,), workers=2,
              notes=f"--concurrency 2; {JWT_TOKENS:,} tokens, each on two requests in a row (two of "
                    "wrk's connections): verified once per Envoy, the second request a worker's own "
                    "or the shared cache's hit",
              request=lambda setup, port: jwt_request("RS256", cold=True, twice=True),
              refusals=jwt_refusals("RS256", (UNAUTHORIZED, UNAUTHORIZED))),
    Contender("tollgate_jwt_es256_warm", "Tollgate: JWT ES256, warm cache", tollgate_jwt, denies=(401,),
              notes="the same token: SHA-256 of it, a cache hit, sub in filter state",
              request=lambda setup, port: jwt_request("ES256", cold=False),
              refusals=jwt_refusals("ES256", (UNAUTHORIZED, UNAUTHORIZED))),
    Contender("tollgate_jwt_es256_cold", "Tollgate: JWT ES256, cold (new token each request)", tollgate_jwt,
              denies=(401,), notes=f"{JWT_TOKENS:,} tokens round-robin: P-256 ECDSA signature + claims every time",
              request=lambda setup, port: jwt_request("ES256", cold=True),
              refusals=jwt_refusals("ES256", (UNAUTHORIZED, UNAUTHORIZED))),
    Contender("native_jwt_authn", "Envoy native: jwt_authn RS256, warm (jwt_cache 1,024)", native_jwt_authn,
              denies=(401,), notes="jwt_cache_config set (off by default): the same token, a cache hit",
              request=lambda setup, port: jwt_request("RS256", cold=False),
              refusals=jwt_refusals("RS256", ("Jwt is missing", "Jwt verification fails"))),
    Contender("native_jwt_authn_cold", "Envoy native: jwt_authn RS256, cold (jwt_cache 1,024)",
              native_jwt_authn, denies=(401,),
              notes=f"{JWT_TOKENS:,} tokens round-robin: RSA-2048 signature (BoringSSL) every time",
              request=lambda setup, port: jwt_request("RS256", cold=True),
              refusals=jwt_refusals("RS256", ("Jwt is missing", "Jwt verification fails"))),
    Contender("native_jwt_authn_nocache", "Envoy native: jwt_authn RS256, default (no token cache)",
              native_jwt_authn_nocache, denies=(401,),
              notes="Envoy's default: the same token verified on every request",
              request=lambda setup, port: jwt_request("RS256", cold=False),
              refusals=jwt_refusals("RS256", ("Jwt is missing", "Jwt verification fails"))),
]

NOT_BUILT = []


def probe(spec):
    """A contender making the host calls in `spec` (`get=3,set=1`, see bench/noop-filter) on every
    request, to price host calls by difference with the empty filter."""
    return Contender(f"probe:{spec}", f"proxy-wasm probe: {spec}",
                     lambda setup: [wasm_filter("bench_noop", setup.noop_wasm, f"probe:{spec}")],
                     notes="host-call probe")


CANDIDATE_CONFIGS = {"tollgate": tollgate_config, "tollgate_plan": tollgate_plan_config}


def candidate(spec):
    """`label=tollgate:/path.wasm` (a Tollgate build with the key-check config),
    `label=tollgate_plan:/path.wasm` (with the usage-plan config), `label=wasm:/path.wasm` (any
    filter, empty configuration), or `label=CONTENDER:/path.wasm` for any Tollgate contender
    (`tollgate_jwt_rs256_cold`, ...: its config, requests and checks with that build): to compare
    experimental or earlier builds with the contenders."""
    label, _, rest = spec.partition("=")
    kind, _, path = rest.partition(":")
    known = {c.name: c for c in CONTENDERS if c.name.startswith("tollgate")}
    if kind in known and kind not in CANDIDATE_CONFIGS:
        base = known[kind]
        return replace(base, name=f"{kind}:{label}", label=f"{base.label} (build {label})",
                       filters=lambda setup: base.filters(replace(setup, tollgate_wasm=path)),
                       notes=f"{base.notes}; {path}")
    if kind in CANDIDATE_CONFIGS:
        config = CANDIDATE_CONFIGS[kind]
        return Contender(f"{kind}:{label}", f"candidate {label} ({kind})",
                         lambda setup: [wasm_filter("tollgate", path, json.dumps(config(setup.keys)))],
                         denies=(403,), notes=path)
    if kind == "wasm":
        return Contender(f"{kind}:{label}", f"candidate {label}",
                         lambda setup: [wasm_filter(label, path, "")], notes=path)
    raise SystemExit(f"BENCH_CANDIDATES entry {spec!r}: expected label=KIND:PATH, KIND one of "
                     f"{sorted(CANDIDATE_CONFIGS) + ['wasm']}")


def select(names, probes="", candidates=""):
    """The contenders named in `names` (comma-separated), in their listed order, all if empty;
    then one probe per `;`-separated spec in `probes` and one contender per candidate build."""
    extra = [probe(spec.strip()) for spec in probes.split(";") if spec.strip()]
    extra += [candidate(spec.strip()) for spec in candidates.split(";") if spec.strip()]
    if not names:
        return list(CONTENDERS) + extra
    wanted = [n.strip() for n in names.split(",") if n.strip()]
    known = {c.name: c for c in CONTENDERS}
    unknown = [n for n in wanted if n not in known]
    if unknown:
        raise SystemExit(f"unknown contender(s) {unknown}; known: {sorted(known)}")
    if "plain" not in wanted:
        wanted.insert(0, "plain")
    return [c for c in CONTENDERS if c.name in wanted] + extra
