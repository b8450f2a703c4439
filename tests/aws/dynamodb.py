"""DynamoDB helper for the end-to-end tests and the items example (botocore, from .venv):

    dynamodb.py ENDPOINT create-table TABLE     creates TABLE (string hash key `id`) if missing
    dynamodb.py ENDPOINT get-item TABLE ID      prints the item as DynamoDB JSON ({} if none)

Credentials are the fixed test ones moto accepts (`testing`), region us-east-1.
"""

import json
import sys

import botocore.session


def client(endpoint):
    session = botocore.session.get_session()
    return session.create_client(
        "dynamodb", region_name="us-east-1", endpoint_url=endpoint,
        aws_access_key_id="testing", aws_secret_access_key="testing")


def main():
    endpoint, command, table, *rest = sys.argv[1:]
    db = client(endpoint)
    if command == "create-table":
        if table not in db.list_tables()["TableNames"]:
            db.create_table(
                TableName=table,
                KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                BillingMode="PAY_PER_REQUEST")
        print("ok")
    elif command == "get-item":
        print(json.dumps(db.get_item(TableName=table, Key={"id": {"S": rest[0]}}).get("Item", {})))
    else:
        sys.exit(f"unknown command {command}")


if __name__ == "__main__":
    main()
