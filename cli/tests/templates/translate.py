"""Translates a SAM template into the CloudFormation template aws-sam-translator makes of it.

The tests (cli/src/aws/template.rs, `sam_templates_read_as_their_translation`) read both and
check that they describe the same account. To regenerate the translations (aws-sam-translator
1.103.0 made the ones here):

    /work/main/.venv/bin/pip install aws-sam-translator
    cd cli/tests/templates
    for t in sam-pets sam-auth sam-auth-all-maximum; do
        /work/main/.venv/bin/python translate.py $t.yaml > $t.cfn.json
    done

No AWS credentials are used: the region is fixed and the managed policy map is a stand-in.
"""

import json
import os
import sys

os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

from samtranslator.translator.transform import transform  # noqa: E402
from samtranslator.yaml_helper import yaml_parse  # noqa: E402


class ManagedPolicies:
    """The managed policies SAM may attach to the functions' roles (names only matter)."""

    def load(self):
        return {
            "AWSLambdaBasicExecutionRole": "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
        }


def main(path):
    with open(path) as f:
        template = yaml_parse(f.read())
    translated = transform(template, {}, ManagedPolicies())
    json.dump(translated, sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main(sys.argv[1])
