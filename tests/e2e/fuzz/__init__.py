"""GraphQL fuzzing support: hostile values, strategies, clients and the verdict."""
