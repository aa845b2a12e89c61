"""All of DynamoDB: the only package that imports boto3 or botocore."""
