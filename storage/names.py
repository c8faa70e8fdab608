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
MONGO_SCHEMA_VERSION = 3
"""Of the MongoDB store (every document's `schema_version`, and the `meta` document). 2: claimed
versions, transitions in their own collection, string `_id`s for accounts and occurrences.
3: instance leases (`lease_owner`, `lease_epoch`), `replicas` and `pokes`; a version 2 store is
upgraded in place (its stamp only: an instance without a lease is an orphan, claimed by the
first replica), since a version 2 flowql would drive instances other replicas hold."""
UPGRADABLE_MONGO_SCHEMA = frozenset({2})
"""Versions `open()` restamps as `MONGO_SCHEMA_VERSION` without touching any other document."""
META = "meta"
REPLICAS = "replicas"
"""One record per running replica of a shared store: owner token, node id, lease TTL, expiry."""
POKES = "pokes"
"""Work accepted by one replica for an instance another replica holds: `{owner, instance_id}`."""
