"""Everything behind the HTTP routes: settings, schemas, rules and DynamoDB access."""
