"""The contenders: one function per contender rendering the HTTP filters it puts before the
router. Every contender sees the same listener, route and requests (`GET /pets` with a valid
`x-api-key`); the ones that check keys must also refuse a wrong key.

To add a contender, write a function `fn(setup) -> [http filter, ...]` and list it in
`CONTENDERS`; move it out of `NOT_BUILT` when Tollgate can do the job.
"""

import hashlib
import json
from dataclasses import dataclass
from typing import Callable

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
class Contender:
    name: str
    label: str
    filters: Callable[[Setup], list]
    # Statuses a wrong key must get; empty for contenders that check nothing.
    denies: tuple = ()
    notes: str = ""


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


def tollgate_config(keys):
    """The Tollgate document for the key-check contender: one keyed method, `keys` keys."""
    return {
        "api": {"id": "bench", "region": "eu-west-1", "account_id": "123456789012"},
        "stage": {"name": "prod"},
        "methods": [{"resource": PATH, "http_method": "GET", "api_key_required": True}],
        "api_keys": [
            {"id": f"key-{i:06d}", "value_sha256": sha256_hex(key_value(i))} for i in range(keys)
        ],
    }


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
    Contender("native", "Envoy native: api_key_auth + local_ratelimit", native_key_ratelimit,
              denies=(401, 403), notes="plain-text key table, client id forwarded"),
    Contender("lua", "Lua: key table check", lua_keys, denies=(403,),
              notes="plain-text key table, client id set"),
]

NOT_BUILT = [
    ("Tollgate: API key + usage plan + throttle + quota", "usage plans, throttles and quotas"),
    ("Tollgate JWT (RS256, ES256; warm and cold cache) vs Envoy jwt_authn", "JWT authorizers"),
    ("Tollgate SigV4 (GET, 1 KB POST)", "SigV4 (IAM) auth"),
    ("Tollgate mapping template + JSON-schema validation (1 KB body)", "templates and validation"),
]


def select(names):
    """The contenders named in `names` (comma-separated), in their listed order; all if empty."""
    if not names:
        return list(CONTENDERS)
    wanted = [n.strip() for n in names.split(",") if n.strip()]
    known = {c.name: c for c in CONTENDERS}
    unknown = [n for n in wanted if n not in known]
    if unknown:
        raise SystemExit(f"unknown contender(s) {unknown}; known: {sorted(known)}")
    if "plain" not in wanted:
        wanted.insert(0, "plain")
    return [c for c in CONTENDERS if c.name in wanted]
