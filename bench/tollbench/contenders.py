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

    def verify(self, envoy, setup):
        """Fails loudly unless a valid key gets the route's 200 and, for the contenders that
        check keys, a wrong or missing key is refused."""
        from .envoy import BODY, http_get

        status, body = http_get(envoy.port, PATH, {KEY_HEADER: setup.valid_key})
        if status != 200 or body.decode() != BODY:
            raise SystemExit(f"{self.name}: a valid key got {status} {body[:300]!r}\n{envoy.log()}")
        for headers in ({KEY_HEADER: "wrong-key"}, {}) if self.denies else ():
            status, body = http_get(envoy.port, PATH, headers)
            if status not in self.denies:
                raise SystemExit(f"{self.name}: {headers or 'no key'} got {status}, expected "
                                 f"{self.denies}: {body[:300]!r}")


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
    Contender("native", "Envoy native: api_key_auth + local_ratelimit", native_key_ratelimit,
              denies=(401, 403), notes="plain-text key table, client id forwarded"),
    Contender("lua", "Lua: key table check", lua_keys, denies=(403,),
              notes="plain-text key table, client id set"),
]

NOT_BUILT = [
    ("Tollgate JWT (RS256, ES256; warm and cold cache) vs Envoy jwt_authn", "JWT authorizers"),
    ("Tollgate SigV4 (GET, 1 KB POST)", "SigV4 (IAM) auth"),
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
