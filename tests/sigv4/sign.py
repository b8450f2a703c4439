#!/usr/bin/env python3
"""Signs HTTP requests with botocore's own SigV4 signer, for the end-to-end tests.

Reads JSON on stdin: one job (an object) or several (a list of objects); prints the signed
request(s) as JSON, one object per job, in the same shape (object or list).

A job:
    {"method": "GET", "url": "http://127.0.0.1:8080/pets?name=a b",
     "headers": {"Content-Type": "application/json"},   # optional
     "body": "...",                                      # optional, a string (sent as UTF-8)
     "access_key": "AKID...", "secret_key": "...", "token": "...",   # token optional
     "region": "eu-west-1", "service": "execute-api",
     "presign_expires": 300,                             # optional: presigned URL (SigV4QueryAuth)
     "amz_date": "20261125T123600Z"}                     # optional: sign at this time, not now

The request goes through botocore's own path: the query of `url` is parsed into parameters and
re-encoded by `prepare_request_dict` (as botocore's serializers do: `quote`, not `quote_plus`),
the path is kept as given (already percent-encoded), then `SigV4Auth` (header form) or
`SigV4QueryAuth` (presigned URL) signs it and `AWSRequest.prepare()` gives what goes on the wire.

Output:
    {"url": "http://127.0.0.1:8080/pets?name=a%20b", "headers": [["host", "127.0.0.1:8080"], ...]}
The headers are exactly the ones to send, with the Host that was signed first. Content-Length is
left out: the test client writes it from the body.
"""

import datetime
import json
import sys
from unittest import mock
from urllib.parse import parse_qsl, urlsplit, urlunsplit

import botocore.auth
from botocore.awsrequest import create_request_object, prepare_request_dict
from botocore.credentials import Credentials


def sign(job):
    parts = urlsplit(job["url"])
    endpoint = urlunsplit((parts.scheme, parts.netloc, "", "", ""))
    request_dict = {
        "method": job["method"],
        "url_path": parts.path or "/",
        "query_string": parse_qsl(parts.query, keep_blank_values=True),
        "headers": dict(job.get("headers") or {}),
        "body": job.get("body", "").encode("utf-8"),
    }
    prepare_request_dict(request_dict, endpoint)
    request = create_request_object(request_dict)

    credentials = Credentials(job["access_key"], job["secret_key"], job.get("token"))
    service = job.get("service", "execute-api")
    if job.get("presign_expires") is not None:
        signer = botocore.auth.SigV4QueryAuth(
            credentials, service, job["region"], expires=job["presign_expires"]
        )
    else:
        signer = botocore.auth.SigV4Auth(credentials, service, job["region"])

    if job.get("amz_date"):
        # Sign at a fixed time: botocore reads the clock through this one function.
        at = datetime.datetime.strptime(job["amz_date"], botocore.auth.SIGV4_TIMESTAMP)
        with mock.patch.object(botocore.auth, "get_current_datetime", return_value=at):
            signer.add_auth(request)
    else:
        signer.add_auth(request)

    prepared = request.prepare()
    # botocore signs the Host derived from the URL unless one is given; send that same Host.
    headers = [["host", botocore.auth._host_from_url(prepared.url)]]
    for name, value in prepared.headers.items():
        if name.lower() in ("host", "content-length"):
            continue
        if isinstance(value, bytes):
            value = value.decode("utf-8")
        headers.append([name, value])
    return {"url": prepared.url, "headers": headers}


def main():
    jobs = json.load(sys.stdin)
    if isinstance(jobs, list):
        result = [sign(job) for job in jobs]
    else:
        result = sign(jobs)
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
