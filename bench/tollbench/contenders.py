"""The contenders: one function per contender rendering the HTTP filters it puts before the
router. Every contender sees the same listener and route; by default it is measured with
`GET /pets` and a valid `x-api-key`, and the ones that check keys must also refuse a wrong key.
A contender may bring its own request (method, path, headers, body; see `Request`) and the
requests it must refuse (the SigV4 contenders: a signed `GET` or `POST`, refused unsigned or
with a changed body).

To add a contender, write a function `fn(setup) -> [http filter, ...]` and list it in
`CONTENDERS`; move it out of `NOT_BUILT` when Tollgate can do the job.
"""

import hashlib
import json
from dataclasses import dataclass, field, replace
from typing import Callable

from . import sigv4

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

    def describe(self):
        body = f" with a {len(self.body):,}-byte body" if self.body else ""
        how = f" {self.how}" if self.how else ""
        return f"`{self.method} {self.path}`{body}{how}"


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

    def request_for(self, setup, port):
        return self.request(setup, port)

    def verify(self, envoy, setup):
        """Fails loudly unless the contender's request gets the route's 200 and, for the
        contenders that check callers, its refusals (a wrong or missing key, ...) are refused."""
        from .envoy import BODY, http_request

        req = self.request_for(setup, envoy.port)
        status, body = http_request(envoy.port, req.method, req.path, req.headers, req.body)
        if status != 200 or body.decode() != BODY:
            raise SystemExit(f"{self.name}: {req.describe()} got {status} {body[:300]!r}\n{envoy.log()}")
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


def tollgate_plan_config(keys):
    """The full chain as on AWS: the usage plan gets a throttle and a monthly quota, and the
    account throttle is on; limits no run reaches, so every request pays for all three."""
    config = tollgate_config(keys)
    plan = config["usage_plans"][0]
    plan["throttle"] = NEVER
    plan["quota"] = {"limit": 1_000_000_000_000, "period": "MONTH"}
    config["account_throttle"] = NEVER
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
                   how="signed (SigV4, header form) for the Host wrk sends")


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


def tollgate_plan(setup):
    return [tollgate_filter(setup, tollgate_plan_config(setup.keys))]


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
              notes="no host call"),
    Contender("touch", "proxy-wasm, read 1 header + set 1", touch_wasm,
              notes="2 host calls"),
    Contender("tollgate_keys", "Tollgate: API key check", tollgate_keys, denies=(403,),
              notes="SHA-256 of the key, id header + filter state + counter"),
    Contender("tollgate_plan", "Tollgate: API key + usage plan + throttle + quota", tollgate_plan,
              denies=(403,), notes="account + plan buckets and the quota in shared data"),
    Contender("tollgate_sigv4_get", "Tollgate: SigV4 (AWS_IAM) GET", tollgate_sigv4, denies=(403,),
              notes="SigV4 signature (cached signing key) + identity policy",
              request=sigv4_get_request, refusals=sigv4_get_refusals),
    Contender("tollgate_sigv4_post", "Tollgate: SigV4 (AWS_IAM) POST, 1 KB JSON body", tollgate_sigv4,
              denies=(403,), notes="body buffered and hashed, SigV4 signature + identity policy",
              request=sigv4_post_request, refusals=sigv4_post_refusals),
    Contender("native", "Envoy native: api_key_auth + local_ratelimit", native_key_ratelimit,
              denies=(401, 403), notes="plain-text key table, client id forwarded"),
    Contender("lua", "Lua: key table check", lua_keys, denies=(403,),
              notes="plain-text key table, client id set"),
]

NOT_BUILT = [
    ("Tollgate JWT (RS256, ES256; warm and cold cache) vs Envoy jwt_authn", "JWT authorizers"),
    ("Tollgate mapping template + JSON-schema validation (1 KB body)", "templates and validation"),
]


def probe(spec):
    """A contender making the host calls in `spec` (`get=3,set=1`, see bench/noop-filter) on every
    request, to price host calls by difference with the empty filter."""
    return Contender(f"probe:{spec}", f"proxy-wasm probe: {spec}",
                     lambda setup: [wasm_filter("bench_noop", setup.noop_wasm, f"probe:{spec}")],
                     notes="host-call probe")


CANDIDATE_CONFIGS = {"tollgate": tollgate_config, "tollgate_plan": tollgate_plan_config}


def candidate(spec):
    """`label=tollgate:/path.wasm` (a Tollgate build with the key-check config),
    `label=tollgate_plan:/path.wasm` (with the usage-plan config) or `label=wasm:/path.wasm` (any
    filter, empty configuration): to compare experimental builds with the contenders."""
    label, _, rest = spec.partition("=")
    kind, _, path = rest.partition(":")
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
