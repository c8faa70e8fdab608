"""Every table and collection name, in one place."""

WORKFLOWS = "workflows"
INSTANCES = "instances"
TRANSITIONS = "transitions"
HISTORY = "stage_history"
INBOX = "inbox"
TRIGGERS = "triggers"
OCCURRENCES = "trigger_occurrences"
POSTINGS = "postings"
BALANCES = "balances"
ACCOUNTS = "accounts"
WALLETS = "wallets"
OUTBOX = "outbox"
VERSIONS = "versions"
DRAFTS = "drafts"
"""What a claimed version of a MongoDB document carries: the document and its new rows."""
SCHEMA_VERSION = 2
"""Of the SQLite store (its `schema_version` table). 2: stage histories in their own table,
inbox positions (an instance's inbox cursor instead of its consumed event ids)."""
MONGO_SCHEMA_VERSION = 5
"""Of the MongoDB store (every document's `schema_version`, and the `meta` document). 2: claimed
versions, transitions in their own collection, string `_id`s for accounts and occurrences.
3: instance leases (`lease_owner`, `lease_epoch`), `replicas` and `pokes`; a version 2 store was
upgraded in place (its stamp only). 4: stage histories in their own collection, inbox events
keyed by instance and position, the instance's inbox cursor instead of its consumed event ids:
version 2 and 3 stores are refused (their instances embed what 4 stores beside them).
5: a claim in `versions` names its draft (`drafts`, the document and rows it carries) and is
never updated; versioned documents name the draft they were written from: version 4 stores
are refused (their claims carry their documents, which 5 would take for superseded)."""
UPGRADABLE_MONGO_SCHEMA: frozenset[int] = frozenset()
"""Versions `open()` restamps as `MONGO_SCHEMA_VERSION` without touching any other document."""
META = "meta"
REPLICAS = "replicas"
"""One record per running replica of a shared store: owner token, node id, lease TTL, expiry."""
POKES = "pokes"
"""Work accepted by one replica for an instance another replica holds: `{owner, instance_id}`."""
