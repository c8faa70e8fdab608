"""JSON Schemas of the bodies the REST layer reads and writes (OpenAPI 3.1 components).

Names follow Formance's documents (v2 names carry a `V2` prefix). Each schema describes
what `serialize` writes, or what the engine accepts, and the OpenAPI test checks both.
"""

from __future__ import annotations

from typing import Any, Final

from .errors import WIRE_CODES

Schema = dict[str, Any]

STRING: Final[Schema] = {"type": "string"}
TIME: Final[Schema] = {"type": "string", "format": "date-time"}
STRINGS: Final[Schema] = {"type": "object", "additionalProperties": STRING}
INTEGER: Final[Schema] = {"type": "integer"}
NULLABLE_STRING: Final[Schema] = {"type": ["string", "null"]}


def obj(required: dict[str, Schema], optional: dict[str, Schema] | None = None, **extra: Any) -> Schema:
    schema: Schema = {"type": "object", "properties": required | (optional or {})}
    if required:
        schema["required"] = sorted(required)
    return schema | extra


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def one_key(key: str, value: Schema) -> Schema:
    """An object with exactly this one key: how stage specs and endpoints are written."""
    return obj({key: value}, additionalProperties=False)


# --- stage specs (what `createWorkflow` accepts) ---------------------------------------

_TEMPLATE: Final[Schema] = {"type": "string", "pattern": r"\$\{[^}]*\}"}


def templated(schema: Schema) -> Schema:
    """`schema`, or a string holding `${variable}` (checked again once interpolated)."""
    return {"anyOf": [schema, _TEMPLATE]}


_ASSET: Final = templated({"type": "string", "pattern": r"^[A-Z][A-Z0-9]{0,16}(/[0-9]{1,6})?$"})
_DURATION: Final = templated(
    {"type": "string", "pattern": r"^([0-9]{1,9}(\.[0-9]{0,9})?(ns|us|ms|s|m|h)){1,4}$"}
)
_UNTIL: Final = templated(
    {
        "type": "string",
        "format": "date-time",
        "pattern": r"^(?!0000)[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-5][0-9]"
        r"(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})$",
    }
)
_AMOUNT: Final = templated(
    {
        "oneOf": [{"type": "integer"}, {"type": "string", "pattern": r"^[+-]?[0-9]+$"}],
        "description": "Minor units, as Formance reads them; a negative amount fails when the stage runs.",
    }
)
_FLAG: Final[Schema] = {
    "anyOf": [{"type": "boolean"}, {"type": "string", "pattern": "^([Tt][Rr][Uu][Ee]|[Ff][Aa][Ll][Ss][Ee])$"}]
}
_ADDRESS: Final[Schema] = {
    "type": "string",
    "maxLength": 1024,
    "description": "A ledger address (`users:1`): segments of `[a-zA-Z0-9_-]` joined by `:` (Formance's "
    "rule), at most 1,024 characters; a `${variable}` in it is checked once interpolated.",
}
_LEDGER: Final = templated({"type": "string", "pattern": "^[0-9a-zA-Z_-]{1,63}$"})
_NAME: Final[Schema] = {"type": "string", "minLength": 1, "maxLength": 256}
METADATA: Final[Schema] = {
    "type": "object",
    "maxProperties": 256,
    "propertyNames": {"minLength": 1, "maxLength": 256},
    "additionalProperties": {"type": "string", "maxLength": 4096},
}
_ACCOUNT: Final = obj(
    {"id": _ADDRESS},
    {"ledger": _LEDGER, "throughAccount": _ADDRESS, "allowOverdraft": templated(_FLAG)},
    additionalProperties=False,
)
_WALLET: Final[Schema] = {
    "oneOf": [
        obj({"id": _NAME}, {"balance": _NAME}, additionalProperties=False),
        obj({"name": _NAME}, {"balance": _NAME}, additionalProperties=False),
    ]
}
_ENDPOINT: Final[Schema] = {
    "oneOf": [
        one_key("account", _ACCOUNT),
        one_key("wallet", _WALLET),
    ],
    "description": "An account or a wallet. Formance's `payment` endpoints need a payments service, "
    "which flowql has not: VALIDATION when the workflow is created.",
}
STAGE_SPECS: Final[dict[str, Schema]] = {
    "send": obj(
        {
            "source": _ENDPOINT,
            "destination": _ENDPOINT,
            "amount": obj({"amount": _AMOUNT, "asset": _ASSET}, additionalProperties=False),
        },
        {
            "metadata": METADATA,
            "timestamp": {"type": "string", "description": "RFC 3339 time, checked when the stage runs."},
            "allowOverdraft": templated(_FLAG),
        },
        additionalProperties=False,
    ),
    "delay": {
        "oneOf": [
            obj({"duration": _DURATION}, additionalProperties=False),
            obj({"until": _UNTIL}, additionalProperties=False),
        ]
    },
    "wait_event": obj({"event": _NAME}, additionalProperties=False),
    "noop": obj({}, additionalProperties=False),
    "update": one_key(
        "account",
        obj({"id": _ADDRESS, "metadata": METADATA}, {"ledger": _LEDGER}, additionalProperties=False),
    ),
}
STAGE: Final[Schema] = {
    "description": "Exactly one of send, delay, wait_event, update, noop. Any string may hold "
    "`${variable}`; a variable not given reads as an empty string, and an empty field takes its "
    "default (Formance's rule).",
    "oneOf": [one_key(kind, spec) for kind, spec in STAGE_SPECS.items()],
}


RETRY: Final[Schema] = obj(
    {"maxAttempts": {"type": "integer", "minimum": 1, "maximum": 1_000_000}},
    additionalProperties=False,
    description="flowql: this workflow's bound on activity attempts (default: the server's, "
    "unbounded as in Formance).",
)

_SHORT: Final[Schema] = {"type": ["string", "null"], "maxLength": 256}
_EXPRESSION: Final[Schema] = {
    "type": "string",
    "maxLength": 4096,
    "description": "A CEL expression over `event`.",
}
TRIGGER_DATA: Final[Schema] = obj(
    {
        "event": {"type": "string", "pattern": r"\S", "maxLength": 256},
        "workflowID": {"type": "string", "minLength": 1},
    },
    {
        "name": _SHORT,
        "version": _SHORT,
        "filter": _EXPRESSION | {"type": ["string", "null"], "description": "Blank: every event matches."},
        "vars": {
            "type": ["object", "null"],
            "maxProperties": 100,
            "propertyNames": {"minLength": 1},
            "additionalProperties": _EXPRESSION | {"pattern": r"\S"},
        },
    },
)
"""What `createTrigger` accepts; expressions must also compile (VALIDATION with the position)."""


def components(v2: bool) -> dict[str, Schema]:
    """Every component schema of one version's document, named as Formance names them."""
    p = "V2" if v2 else ""
    instance = obj(
        {
            "id": STRING,
            "workflowID": STRING,
            "createdAt": TIME,
            "updatedAt": TIME,
            "terminated": {"type": "boolean"},
        },
        {
            "status": {"type": "array", "items": ref(f"{p}StageStatus")},
            "terminatedAt": TIME,
            "error": STRING,
            "workflow": ref(f"{p}Workflow"),
        },
    )
    trigger_fields: dict[str, Schema] = {"name": STRING, "version": STRING, "filter": STRING, "vars": STRINGS}
    schemas: dict[str, Schema] = {
        "ServerInfo": obj({"version": STRING}),
        "Error": obj({"errorCode": {"type": "string", "enum": list(WIRE_CODES)}, "errorMessage": STRING}),
        "Stage": STAGE,
        "WorkflowConfig": obj(
            {"stages": {"type": "array", "items": {"type": "object"}}}, {"name": STRING, "retry": RETRY}
        ),
        "CreateWorkflowRequest": obj(
            {"stages": {"type": "array", "minItems": 1, "items": STAGE}},
            {"name": NULLABLE_STRING | {"maxLength": 256}, "retry": RETRY},
        ),
        "Workflow": obj(
            {"id": STRING, "config": ref(f"{p}WorkflowConfig"), "createdAt": TIME, "updatedAt": TIME},
            {"deletedAt": {"type": ["string", "null"], "format": "date-time"}},
        ),
        "StageStatus": obj(
            {"stage": INTEGER, "instanceID": STRING, "startedAt": TIME},
            {"terminatedAt": TIME, "error": STRING},
        ),
        "WorkflowInstance": instance,
        "WorkflowInstanceHistory": obj(
            {
                "name": STRING,
                "input": {"type": "object"},
                "terminated": {"type": "boolean"},
                "startedAt": TIME,
            },
            {"terminatedAt": TIME, "error": STRING},
        ),
        "Posting": obj({"source": STRING, "destination": STRING, "amount": INTEGER, "asset": STRING}),
        "ActivityCreateTransaction": obj(
            {},
            {
                "ledger": STRING,
                "data": obj(
                    {"metadata": STRINGS},
                    {
                        "postings": {"type": "array", "items": ref(f"{p}Posting")},
                        "reference": STRING,
                        "timestamp": TIME,
                    },
                ),
            },
        ),
        "ActivityAddAccountMetadata": obj({"id": STRING, "ledger": STRING, "metadata": STRINGS}),
        "WorkflowInstanceHistoryStageInput": obj(
            {},
            {
                "CreateTransaction": ref(f"{p}ActivityCreateTransaction"),
                "AddAccountMetadata": ref(f"{p}ActivityAddAccountMetadata"),
            },
            additionalProperties={"type": "object"},
        ),
        "WorkflowInstanceHistoryStage": obj(
            {
                "name": STRING,
                "input": ref(f"{p}WorkflowInstanceHistoryStageInput"),
                "terminated": {"type": "boolean"},
                "startedAt": TIME,
                "attempt": {"type": "integer", "minimum": 1},
            },
            {
                "output": {"type": "object", "additionalProperties": {"type": "object"}},
                "error": STRING,
                "terminatedAt": TIME,
                "lastFailure": STRING,
                "nextExecution": TIME,
            },
        ),
        "TriggerData": TRIGGER_DATA,
        "Trigger": obj(
            {"id": STRING, "event": STRING, "workflowID": STRING, "createdAt": TIME}, trigger_fields
        ),
        "TriggerOccurrence": obj(
            {"triggerID": STRING, "date": TIME, "event": {"type": "object"}},
            {
                "id": STRING,
                "workflowInstanceID": STRING,
                "workflowInstance": ref(f"{p}WorkflowInstance"),
                "error": STRING,
            },
        ),
        "RunWorkflowRequest": {
            "type": "object",
            "propertyNames": {"minLength": 1},
            "additionalProperties": STRING,
        },
        "SendEventRequest": obj({"name": _NAME}),
    }
    listed = {
        "ListWorkflowsResponse": "Workflow",
        "ListRunsResponse": "WorkflowInstance",
        "ListTriggersResponse": "Trigger",
        "ListTriggersOccurrencesResponse": "TriggerOccurrence",
    }
    for name, item in listed.items():
        schemas[name] = _cursor(ref(p + item)) if v2 else _data({"type": "array", "items": ref(p + item)})
    wrapped = {
        "CreateWorkflowResponse": ref(f"{p}Workflow"),
        "GetWorkflowResponse": ref(f"{p}Workflow"),
        "RunWorkflowResponse": ref(f"{p}WorkflowInstance"),
        "GetWorkflowInstanceResponse": ref(f"{p}WorkflowInstance"),
        "GetWorkflowInstanceHistoryResponse": {"type": "array", "items": ref(f"{p}WorkflowInstanceHistory")},
        "GetWorkflowInstanceHistoryStageResponse": {
            "type": "array",
            "items": ref(f"{p}WorkflowInstanceHistoryStage"),
        },
        "CreateTriggerResponse": ref(f"{p}Trigger"),
        "ReadTriggerResponse": ref(f"{p}Trigger"),
    }
    schemas.update({name: _data(body) for name, body in wrapped.items()})
    if v2:
        schemas["TriggerTestPayload"] = {"type": "object", "additionalProperties": True}
        schemas["TriggerTest"] = obj(
            {"filter": obj({"match": {"type": "boolean"}}, {"error": STRING})},
            {
                "variables": {
                    "type": "object",
                    "additionalProperties": obj({}, {"value": STRING, "error": STRING}),
                }
            },
        )
        schemas["TestTriggerResponse"] = _data(ref("V2TriggerTest"))
    return {p + name: schema for name, schema in schemas.items()}


def _data(body: Schema) -> Schema:
    return obj({"data": body})


def _cursor(item: Schema) -> Schema:
    page = obj(
        {
            "pageSize": {"type": "integer", "format": "int64", "minimum": 1, "maximum": 1000},
            "hasMore": {"type": "boolean"},
            "data": {"type": "array", "items": item},
        },
        {"previous": STRING, "next": STRING},
    )
    return obj({"cursor": page})


__all__ = ["STAGE", "STAGE_SPECS", "components"]
