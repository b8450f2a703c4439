# A REQUEST Lambda authorizer, written like AWS's blueprint (the "Example REQUEST authorizer
# Lambda function" of the API Gateway developer guide): it allows the call when the request
# carries the header `x-auth: let-me-in`, the query string `token=open-sesame` and the stage
# variable `v=1`; `x-auth: deny` gets a Deny policy; anything else raises
# Exception('Unauthorized') (401).
#
# The identity sources (envoy.yaml: `method.request.header.x-auth,
# method.request.querystring.token`) must both be present, else the gateway answers 401 without
# calling this function. The policy covers only the method that was called (event['methodArn']);
# this authorizer's results are not cached (result_ttl_seconds 0), so that is safe.

def handler(event, context):
    print(event)

    # Retrieve request parameters from the Lambda function input. Header names arrive as the
    # client (or the proxy in front) sent them; HTTP/2 and Envoy make them lowercase.
    headers = {k.lower(): v for k, v in (event.get('headers') or {}).items()}
    queryStringParameters = event.get('queryStringParameters') or {}
    pathParameters = event.get('pathParameters') or {}
    stageVariables = event.get('stageVariables') or {}
    requestContext = event.get('requestContext') or {}

    # Parse the input for the parameter values
    tmp = event['methodArn'].split(':')
    apiGatewayArnTmp = tmp[5].split('/')
    awsAccountId = tmp[4]
    region = tmp[3]
    restApiId = apiGatewayArnTmp[0]
    stage = apiGatewayArnTmp[1]
    method = apiGatewayArnTmp[2]
    resource = '/'
    if (len(apiGatewayArnTmp) > 3 and apiGatewayArnTmp[3]):
        resource += '/'.join(apiGatewayArnTmp[3:])

    # Perform authorization to return the Allow policy for correct parameters and the
    # 'Unauthorized' error, otherwise.
    context_out = {
        'petId': pathParameters.get('petId', ''),
        'stageV': stageVariables.get('v', ''),
        'method': method,
        'resourcePath': requestContext.get('resourcePath', ''),
        'apiId': restApiId,
    }
    if (headers.get('x-auth') == 'let-me-in' and queryStringParameters.get('token') == 'open-sesame'
            and stageVariables.get('v') == '1'):
        print('authorized')
        return generateAllow('request-user', event['methodArn'], context_out)
    elif headers.get('x-auth') == 'deny':
        print('denied')
        return generateDeny('request-user', event['methodArn'], context_out)
    else:
        print('unauthorized')
        raise Exception('Unauthorized')  # Return a 401 Unauthorized response


# Help function to generate IAM policy

def generatePolicy(principalId, effect, resource, context):
    authResponse = {}
    authResponse['principalId'] = principalId
    if (effect and resource):
        policyDocument = {}
        policyDocument['Version'] = '2012-10-17'
        policyDocument['Statement'] = []
        statementOne = {}
        statementOne['Action'] = 'execute-api:Invoke'
        statementOne['Effect'] = effect
        statementOne['Resource'] = resource
        policyDocument['Statement'] = [statementOne]
        authResponse['policyDocument'] = policyDocument
    authResponse['context'] = context
    return authResponse


def generateAllow(principalId, resource, context):
    return generatePolicy(principalId, 'Allow', resource, context)


def generateDeny(principalId, resource, context):
    return generatePolicy(principalId, 'Deny', resource, context)
