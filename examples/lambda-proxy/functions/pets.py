# A REST API backed by one Lambda function through a Lambda proxy integration (AWS_PROXY),
# written exactly as for AWS Lambda's Python runtime: API Gateway's proxy event in, a
# {statusCode, headers, multiValueHeaders, body} response out.
#
#   GET  /pets            the pets (?type=dog filters)
#   GET  /pets/{petId}    one pet, 404 when there is none
#   POST /pets            echoes the new pet back with an id (201)

import json

PETS = [
    {"id": 1, "type": "dog", "price": 249.99},
    {"id": 2, "type": "cat", "price": 124.99},
    {"id": 3, "type": "fish", "price": 0.99},
]


def respond(status, body, headers=None):
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json", **(headers or {})},
        "body": json.dumps(body),
    }


def handler(event, context):
    method = event["httpMethod"]
    params = event.get("pathParameters") or {}
    query = event.get("queryStringParameters") or {}
    if event["resource"] == "/pets" and method == "GET":
        pets = [p for p in PETS if "type" not in query or p["type"] == query["type"]]
        return respond(200, pets)
    if event["resource"] == "/pets" and method == "POST":
        try:
            pet = json.loads(event.get("body") or "{}")
        except ValueError:
            return respond(400, {"message": "the body is not JSON"})
        pet["id"] = len(PETS) + 1
        return respond(201, pet, {"Location": f"/pets/{pet['id']}"})
    if event["resource"] == "/pets/{petId}":
        pet = next((p for p in PETS if str(p["id"]) == params.get("petId")), None)
        if pet is None:
            return respond(404, {"message": f"no pet {params.get('petId')}"})
        return respond(200, pet)
    return respond(404, {"message": "no such resource"})
