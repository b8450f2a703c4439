# Answers with the proxy event it received, so a caller sees exactly what API Gateway (here
# Tollgate) sends a Lambda proxy integration. A `set-cookie` query parameter comes back as
# repeated Set-Cookie headers (multiValueHeaders); `status` sets the status code.

import json


def handler(event, context):
    query = event.get("multiValueQueryStringParameters") or {}
    status = int((event.get("queryStringParameters") or {}).get("status", "200"))
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json", "X-Handler": "echo_event"},
        "multiValueHeaders": {"Set-Cookie": query.get("set-cookie", [])},
        "body": json.dumps(event),
    }
