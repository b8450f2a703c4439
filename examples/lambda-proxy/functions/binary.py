# A binary answer: the body is base64 with isBase64Encoded, as API Gateway expects it; the
# client gets the bytes. A binary request body arrives base64-encoded the same way, and is
# returned reversed.

import base64

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def handler(event, context):
    if event.get("body") is not None:
        data = base64.b64decode(event["body"]) if event.get("isBase64Encoded") else event["body"].encode()
        payload = data[::-1]
    else:
        payload = PNG_SIGNATURE + bytes(range(256))
    return {
        "statusCode": 200,
        "headers": {"Content-Type": "application/octet-stream"},
        "body": base64.b64encode(payload).decode(),
        "isBase64Encoded": True,
    }
