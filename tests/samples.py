"""Every webhook body in ../shared/webhook-samples, as (id, raw bytes, malformed?) cases.

Single-payload files are sent byte for byte (their escapes must survive signature checking);
named collections (pywa) and the examples in Meta's OpenAPI spec are serialised like Meta does.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import yaml

from tests.conftest import SHARED, as_body

SAMPLES = SHARED / "webhook-samples"

# Upstream files that are broken on purpose or by accident (named in the samples' READMEs).
MALFORMED = {
    "whatsapp-business-java-api/textMessageStatusRead.json",
    "other-projects/go-whatsapp-cloud/02-malformed-truncated-entry.json",
}


@dataclass(frozen=True)
class Sample:
    id: str
    body: bytes
    malformed: bool


def load_samples() -> list[Sample]:
    if not SAMPLES.is_dir():
        return []
    samples: list[Sample] = []
    for path in sorted((SAMPLES / "pywa").glob("*.json")):
        for name, payload in json.loads(path.read_text()).items():
            samples.append(Sample(f"pywa/{path.stem}/{name}", as_body(payload), False))
    single = [
        *sorted((SAMPLES / "whatsapp-business-java-api").glob("*.json")),
        *sorted((SAMPLES / "whatsapp-api-js").rglob("*.json")),
        *sorted((SAMPLES / "other-projects").rglob("*.json")),
    ]
    for path in single:
        rel = path.relative_to(SAMPLES).as_posix()
        samples.append(Sample(rel, path.read_bytes(), rel in MALFORMED))
    spec = yaml.safe_load(
        (SAMPLES / "meta-openapi" / "business-messaging-api_v23.0.yaml").read_text()
    )
    examples = spec["paths"]["/whatsapp/webhooks"]["post"]["requestBody"]["content"][
        "application/json"
    ]["examples"]
    for name, example in examples.items():
        samples.append(Sample(f"meta-openapi/{name}", as_body(example["value"]), False))
    return samples


def expected_rows(body: bytes) -> tuple[set[str], set[tuple[str, str]], list[str]]:
    """Message ids, (status id, state) pairs and non-message fields a body carries."""
    doc = json.loads(body)
    wamids: set[str] = set()
    statuses: set[tuple[str, str]] = set()
    fields: list[str] = []
    for entry in doc.get("entry") or [] if isinstance(doc, dict) else []:
        for change in entry.get("changes") or []:
            value = change.get("value")
            if change.get("field") != "messages" or not isinstance(value, dict):
                fields.append(str(change.get("field") or "unknown"))
                continue
            for message in value.get("messages") or []:
                if isinstance(message.get("id"), str):
                    wamids.add(message["id"])
            for status in value.get("statuses") or []:
                if isinstance(status.get("id"), str) and isinstance(status.get("status"), str):
                    statuses.add((status["id"], status["status"]))
            if value.get("errors"):
                fields.append("messages.errors")
    return wamids, statuses, fields
