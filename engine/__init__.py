"""flowql.engine: domain models, the Store protocol, the executor and its services."""
