# A TOKEN Lambda authorizer, written like AWS's blueprint (the "Example TOKEN authorizer Lambda
# function" of the API Gateway developer guide): the caller named 'user' is allowed to invoke the
# API if the client-supplied token is 'allow', and denied if it is 'deny'. If the token is
# 'unauthorized' the function raises Exception('Unauthorized'), which API Gateway (and Tollgate)
# answers with 401 Unauthorized. For any other token it returns something that is no policy,
# which API Gateway answers with 500.
#
# As in AWS's authorizer blueprint (api-gateway-authorizer-python), the Allow policy covers the
# whole stage (arn:aws:execute-api:{region}:{account}:{api}/{stage}/*), not only the method that
# was called: the result is cached per token (result_ttl_seconds), and the cached policy is
# evaluated against every method the token is used for.
#
# Two demo tokens go beyond the blueprint: 'slow' sleeps longer than the authorizer's timeout
# (2 s in envoy.yaml), and 'garbage' returns a policy document that is not one. Both give 500.
#
# Note that token values are case-sensitive.

import json
import time


def handler(event, context):
    token = event['authorizationToken']
    if token == 'allow':
        print('authorized')
        response = generatePolicy('user', 'Allow', stageArn(event['methodArn']))
        # With api_key_source AUTHORIZER, this is the caller's API key: its usage plan applies.
        response['usageIdentifierKey'] = 'key-from-authorizer'
        return response
    elif token == 'deny':
        print('denied')
        return generatePolicy('user', 'Deny', stageArn(event['methodArn']))
    elif token == 'unauthorized':
        print('unauthorized')
        raise Exception('Unauthorized')  # Return a 401 Unauthorized response
    elif token == 'slow':
        time.sleep(3)
        return generatePolicy('user', 'Allow', stageArn(event['methodArn']))
    elif token == 'garbage':
        return {'principalId': 'user', 'policyDocument': 'not a policy document'}
    print('unauthorized')
    return 'unauthorized'  # Return a 500 error


def stageArn(methodArn):
    # arn:aws:execute-api:us-east-1:123456789012:lambdaauth/prod/GET/pets
    #   -> arn:aws:execute-api:us-east-1:123456789012:lambdaauth/prod/*
    tmp = methodArn.split(':')
    apiGatewayArnTmp = tmp[5].split('/')
    return ':'.join(tmp[:5]) + ':' + apiGatewayArnTmp[0] + '/' + apiGatewayArnTmp[1] + '/*'


def generatePolicy(principalId, effect, resource):
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
    # Optional output, passed to the backend (Tollgate: x-tollgate-authorizer-<key> headers).
    authResponse['context'] = {
        "stringKey": "value",
        "numberKey": 123,
        "booleanKey": True
    }
    return authResponse
