"""The `make run` stack on this machine: DynamoDB Local, its tables and `chalice local`."""
