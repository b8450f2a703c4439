"""An API Gateway account set up through the control plane, as a team's scripts or console
would, against an emulator (moto) in the end-to-end tests:

    apigateway_account.py ENDPOINT UPSTREAM_PORT     prints the ids it created as JSON

One REST API `orders` (key-required HTTP proxy methods with a request model and validator, a
MOCK method with templates), deployed to stage `prod` with variables and a stage throttle; two
API keys with known values (one disabled) in a usage plan with a quota of 4 a day; a custom
domain mapping the API at `/orders`. Credentials are the fixed test ones moto accepts.
"""

import json
import sys

import botocore.session


def main():
    endpoint, upstream = sys.argv[1], int(sys.argv[2])
    session = botocore.session.get_session()
    gw = session.create_client(
        "apigateway", region_name="us-east-1", endpoint_url=endpoint,
        aws_access_key_id="testing", aws_secret_access_key="testing")
    api = gw.create_rest_api(name="orders", description="Orders", apiKeySource="HEADER")["id"]
    root = [r for r in gw.get_resources(restApiId=api)["items"] if r["path"] == "/"][0]["id"]
    orders = gw.create_resource(restApiId=api, parentId=root, pathPart="orders")["id"]
    one = gw.create_resource(restApiId=api, parentId=orders, pathPart="{id}")["id"]
    gw.create_model(
        restApiId=api, name="Order", contentType="application/json",
        schema=json.dumps({
            "$schema": "http://json-schema.org/draft-04/schema#", "type": "object",
            "required": ["item"],
            "properties": {"item": {"type": "string"},
                           "quantity": {"type": "integer", "minimum": 1}}}))
    validator = gw.create_request_validator(
        restApiId=api, name="body-only", validateRequestBody=True,
        validateRequestParameters=False)["id"]
    backend = f"http://127.0.0.1:{upstream}/orders"

    gw.put_method(restApiId=api, resourceId=orders, httpMethod="GET",
                  authorizationType="NONE", apiKeyRequired=True,
                  requestParameters={"method.request.querystring.page": False})
    gw.put_integration(restApiId=api, resourceId=orders, httpMethod="GET", type="HTTP_PROXY",
                       integrationHttpMethod="GET", uri=backend)
    gw.put_method(restApiId=api, resourceId=orders, httpMethod="POST",
                  authorizationType="NONE", apiKeyRequired=True,
                  requestValidatorId=validator,
                  requestModels={"application/json": "Order"})
    gw.put_integration(restApiId=api, resourceId=orders, httpMethod="POST", type="HTTP_PROXY",
                       integrationHttpMethod="POST", uri=backend)
    gw.put_method(restApiId=api, resourceId=one, httpMethod="GET",
                  authorizationType="NONE", apiKeyRequired=True,
                  requestParameters={"method.request.path.id": True})
    gw.put_method_response(restApiId=api, resourceId=one, httpMethod="GET", statusCode="200")
    gw.put_integration(restApiId=api, resourceId=one, httpMethod="GET", type="MOCK",
                       requestTemplates={"application/json": '{"statusCode": 200}'})
    gw.put_integration_response(
        restApiId=api, resourceId=one, httpMethod="GET", statusCode="200",
        selectionPattern="",
        responseTemplates={"application/json":
                           '{"id": "$input.params(\'id\')", "stage": "$stageVariables.color"}'})

    gw.create_deployment(restApiId=api, stageName="prod", variables={"color": "blue"})
    gw.update_stage(restApiId=api, stageName="prod", patchOperations=[
        {"op": "replace", "path": "/*/*/throttling/rateLimit", "value": "100"},
        {"op": "replace", "path": "/*/*/throttling/burstLimit", "value": "200"},
    ])

    keys = {}
    for name, value, enabled in [("partner", "PartnerKeyValueForOrders0001", True),
                                 ("retired", "RetiredKeyValueForOrders0002", False)]:
        keys[name] = gw.create_api_key(name=name, value=value, enabled=enabled)["id"]
    plan = gw.create_usage_plan(
        name="partners", apiStages=[{"apiId": api, "stage": "prod"}],
        throttle={"rateLimit": 100.0, "burstLimit": 200},
        quota={"limit": 4, "period": "DAY", "offset": 0})["id"]
    for key in keys.values():
        gw.create_usage_plan_key(usagePlanId=plan, keyId=key, keyType="API_KEY")

    gw.create_domain_name(
        domainName="api.example.com",
        regionalCertificateArn="arn:aws:acm:us-east-1:123456789012:certificate/0a0a0a0a",
        endpointConfiguration={"types": ["REGIONAL"]})
    gw.create_base_path_mapping(domainName="api.example.com", restApiId=api,
                                basePath="orders", stage="prod")
    print(json.dumps({"api": api, "plan": plan, "keys": keys}))


if __name__ == "__main__":
    main()
