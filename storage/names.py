"""Every table and collection name, in one place."""

WORKFLOWS = "workflows"
INSTANCES = "instances"
TRANSITIONS = "transitions"
INBOX = "inbox"
TRIGGERS = "triggers"
OCCURRENCES = "trigger_occurrences"
POSTINGS = "postings"
BALANCES = "balances"
ACCOUNTS = "accounts"
WALLETS = "wallets"
OUTBOX = "outbox"
VERSIONS = "versions"
SCHEMA_VERSION = 1
"""Of the SQLite store (its `schema_version` table)."""
MONGO_SCHEMA_VERSION = 2
"""Of the MongoDB store (every document's `schema_version`, and the `meta` document). 2: claimed
versions, transitions in their own collection, string `_id`s for accounts and occurrences."""
META = "meta"
