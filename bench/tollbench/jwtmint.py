"""Keys and tokens for the JWT contenders: a fresh RSA-2048 key (RS256) and P-256 key (ES256) per
run, their JWK Set, and `count` distinct tokens per algorithm, all valid for ever (`exp` in 2100).

Needs the `cryptography` package: used in-process when the interpreter running the bench has it,
otherwise installed (pinned) into the project's .venv and this file run there:
`.venv/bin/python bench/tollbench/jwtmint.py COUNT` prints the material as JSON.
"""

import base64
import json
import subprocess
import sys
import time
from pathlib import Path

ISSUER = "https://issuer.bench"
AUDIENCE = "bench-client"
EXP = 4102444800  # 2100-01-01T00:00:00Z
RS_KID = "rs"
ES_KID = "es"
CRYPTOGRAPHY = "cryptography==48.0.0"
VENV = Path(__file__).resolve().parents[2] / ".venv"


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_json(value):
    return b64url(json.dumps(value, separators=(",", ":")).encode())


def _uint(value, size=None):
    """Big-endian unsigned bytes: exactly `size` bytes, or as few as hold `value`."""
    return value.to_bytes(size or max(1, (value.bit_length() + 7) // 8), "big")


def _mint(count):
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ec_key = ec.generate_private_key(ec.SECP256R1())
    rn = rsa_key.public_key().public_numbers()
    en = ec_key.public_key().public_numbers()
    jwks = {"keys": [
        {"kty": "RSA", "kid": RS_KID, "alg": "RS256", "use": "sig", "n": b64url(_uint(rn.n)),
         "e": b64url(_uint(rn.e))},
        {"kty": "EC", "kid": ES_KID, "alg": "ES256", "use": "sig", "crv": "P-256",
         "x": b64url(_uint(en.x, 32)), "y": b64url(_uint(en.y, 32))},
    ]}

    def rs256(data):
        return rsa_key.sign(data, padding.PKCS1v15(), hashes.SHA256())

    def es256(data):
        # JWS wants R || S, 32 bytes each, not the DER that `sign` returns.
        r, s = decode_dss_signature(ec_key.sign(data, ec.ECDSA(hashes.SHA256())))
        return _uint(r, 32) + _uint(s, 32)

    iat = int(time.time()) - 60
    tokens = {}
    for alg, kid, sign in (("RS256", RS_KID, rs256), ("ES256", ES_KID, es256)):
        header = b64url_json({"alg": alg, "typ": "JWT", "kid": kid})
        tokens[alg] = []
        for i in range(count):
            claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": f"bench-user-{i:05d}", "iat": iat, "exp": EXP}
            signing_input = f"{header}.{b64url_json(claims)}"
            tokens[alg].append(f"{signing_input}.{b64url(sign(signing_input.encode()))}")
    return {"jwks": jwks, "tokens": tokens}


def _venv_python():
    """The .venv's python, with `cryptography` installed (pinned) if it was not."""
    python = VENV / "bin/python"
    if not python.exists():
        raise SystemExit(f"the JWT contenders need `cryptography`: neither {sys.executable} nor {python} "
                         "has it (run `make setup` to create the .venv)")
    if subprocess.run([python, "-c", "import cryptography"], capture_output=True).returncode != 0:
        print(f"+ {VENV}/bin/pip install {CRYPTOGRAPHY}", flush=True)
        subprocess.run([VENV / "bin/pip", "install", "--quiet", "--disable-pip-version-check", CRYPTOGRAPHY],
                       check=True)
    return python


_CACHE = {}


def material(count):
    """{"jwks": {...}, "tokens": {"RS256": [count tokens], "ES256": [...]}}, minted once per process."""
    if count not in _CACHE:
        try:
            import cryptography  # noqa: F401

            _CACHE[count] = _mint(count)
        except ImportError:
            out = subprocess.run([_venv_python(), __file__, str(count)], check=True, capture_output=True)
            _CACHE[count] = json.loads(out.stdout)
    return _CACHE[count]


def tampered_payload(token):
    """`token` with another `sub` and the original signature."""
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["sub"] = "someone-else"
    return f"{header}.{b64url_json(claims)}.{signature}"


def tampered_signature(token):
    """`token` with one bit of its signature flipped (in the middle: the last base64url character
    may carry padding bits)."""
    header, payload, signature = token.split(".")
    raw = bytearray(base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)))
    raw[len(raw) // 2] ^= 0x01
    return f"{header}.{payload}.{b64url(bytes(raw))}"


if __name__ == "__main__":
    json.dump(_mint(int(sys.argv[1])), sys.stdout)
