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
SCHEMA_VERSION = 1
