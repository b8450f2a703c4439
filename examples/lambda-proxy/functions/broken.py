# Answers that are not proxy responses, each of which API Gateway turns into 502
# {"message": "Internal server error"}: ?kind=string|nostatus|objectbody|raise|badbase64.

import time


def handler(event, context):
    kind = (event.get("queryStringParameters") or {}).get("kind", "string")
    if kind == "string":
        return "just a string"
    if kind == "nostatus":
        return {"body": "no statusCode"}
    if kind == "objectbody":
        return {"statusCode": 200, "body": {"not": "a string"}}
    if kind == "badbase64":
        return {"statusCode": 200, "body": "%%%", "isBase64Encoded": True}
    if kind == "slow":
        time.sleep(3)
        return {"statusCode": 200, "body": "too late"}
    raise RuntimeError("the function failed")
