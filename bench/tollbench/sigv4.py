"""A small AWS Signature Version 4 signer (header form), standard library only, for the SigV4
contenders: it signs the one request wrk then replays.

The canonical request is AWS's: method, the path as sent, the query sorted by encoded name and
value, the signed headers lowercased with trimmed values, their names, and the hex SHA-256 of the
body. The path is taken as sent, which is AWS's (twice-encoded, normalised) canonical path only
for paths of unreserved characters and `/`, so other paths are refused rather than signed wrongly.

`python3 bench/tollbench/sigv4.py` checks the signer against AWS's `get-vanilla` test vector.
"""

import datetime
import hashlib
import hmac
import re
from urllib.parse import quote, unquote

ALGORITHM = "AWS4-HMAC-SHA256"
AMZ_DATE = "%Y%m%dT%H%M%SZ"
_PLAIN_PATH = re.compile(r"/[A-Za-z0-9/_.~-]*")


def _hmac(key, text):
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def _encode(text):
    return quote(text, safe="-_.~")


def canonical_query(query):
    """`a=1&b=x y` -> pairs decoded, re-encoded (RFC 3986, spaces as %20) and sorted."""
    pairs = []
    for part in query.split("&") if query else ():
        name, _, value = part.partition("=")
        pairs.append((_encode(unquote(name)), _encode(unquote(value))))
    return "&".join(f"{n}={v}" for n, v in sorted(pairs))


def _trim(value):
    return " ".join(str(value).split())


def sign(method, host, path, headers, body, access_key, secret_key, region,
         service="execute-api", when=None):
    """The headers to add to a request so that it is signed: `X-Amz-Date` and `Authorization`.

    `path` may carry a query (`/pets?type=dog`); `host` is the Host header exactly as sent
    (`127.0.0.1:8080`); `headers` are the other headers to sign (e.g. `Content-Type`), besides
    `host` and `x-amz-date`, which are always signed; `body` is bytes or str; `when` a datetime
    (UTC), now by default."""
    when = when or datetime.datetime.now(datetime.timezone.utc)
    amz_date = when.strftime(AMZ_DATE)
    day = amz_date[:8]
    raw_path, _, query = path.partition("?")
    if not _PLAIN_PATH.fullmatch(raw_path):
        raise ValueError(f"path {raw_path!r}: only unreserved characters and '/' are supported")
    if isinstance(body, str):
        body = body.encode()

    signed = {"host": _trim(host), "x-amz-date": amz_date}
    for name, value in headers.items():
        key = name.lower()
        signed[key] = f"{signed[key]},{_trim(value)}" if key in signed else _trim(value)
    names = sorted(signed)
    signed_headers = ";".join(names)
    canonical = "\n".join([
        method.upper(),
        raw_path,
        canonical_query(query),
        "".join(f"{n}:{signed[n]}\n" for n in names),
        signed_headers,
        hashlib.sha256(body or b"").hexdigest(),
    ])
    scope = f"{day}/{region}/{service}/aws4_request"
    to_sign = "\n".join([ALGORITHM, amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = _hmac(("AWS4" + secret_key).encode(), day)
    for part in (region, service, "aws4_request"):
        key = _hmac(key, part)
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    return {
        "X-Amz-Date": amz_date,
        "Authorization": f"{ALGORITHM} Credential={access_key}/{scope}, "
                         f"SignedHeaders={signed_headers}, Signature={signature}",
    }


# AWS's SigV4 test suite, get-vanilla: `GET /` to example.amazonaws.com, service `service`.
GET_VANILLA_AUTHZ = (
    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
    "SignedHeaders=host;x-amz-date, "
    "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
)


def self_check():
    when = datetime.datetime(2015, 8, 30, 12, 36, 0, tzinfo=datetime.timezone.utc)
    got = sign("GET", "example.amazonaws.com", "/", {}, b"", "AKIDEXAMPLE",
               "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "us-east-1", service="service", when=when)
    assert got["X-Amz-Date"] == "20150830T123600Z", got
    assert got["Authorization"] == GET_VANILLA_AUTHZ, got["Authorization"]
    print("get-vanilla: ok")


if __name__ == "__main__":
    self_check()
