"""One AWS API call through botocore, against an emulator (moto) in the end-to-end tests:

    call.py ENDPOINT SERVICE OPERATION PARAMS_JSON     prints the answer as JSON

OPERATION is the API's name (`CreateBucket`, `PutRecord`); PARAMS_JSON botocore's parameters.
Credentials are the fixed test ones moto accepts (`testing`), region us-east-1.
"""

import json
import re
import sys

import botocore.session


def main():
    endpoint, service, operation, params = sys.argv[1:]
    session = botocore.session.get_session()
    client = session.create_client(
        service, region_name="us-east-1", endpoint_url=endpoint,
        aws_access_key_id="testing", aws_secret_access_key="testing")
    method = re.sub(r"(?<!^)(?=[A-Z])", "_", operation).lower()
    answer = getattr(client, method)(**json.loads(params))
    answer.pop("ResponseMetadata", None)
    print(json.dumps(answer, default=str))


if __name__ == "__main__":
    main()
