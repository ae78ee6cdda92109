"""One slot's record in the slot ledger: its state, its attempts and lease, the notice it may owe.

One record per (pipeline, slot). A record carries at most one :class:`Notice` (an outbox entry:
"tell someone"), set in the same conditional write as the transition that calls for it;
:mod:`transient_analytics.ledger.notices` delivers it. Only the transitions in
:mod:`transient_analytics.ledger.transitions` make a new record; :mod:`transient_analytics.ledger.store`
keeps them in DynamoDB. Pure: the clock is an argument.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from transient_analytics.slots import Fingerprint, Pipeline

SlotState = Literal["pending", "running", "done", "failed", "quarantined", "vanished"]
#: States in which a slot still has work, or needs a person (kept in the ledger's open-slots index).
OPEN_STATES: frozenset[str] = frozenset({"pending", "running", "failed", "quarantined"})
#: Open states without a holder: a slot in one of them whose landing objects are gone is closed.
VANISHABLE_STATES: frozenset[str] = frozenset({"pending", "failed", "quarantined"})
NoticeKind = Literal["quarantined", "unlisted_values"]
NoticeState = Literal["pending", "sending", "sent"]


class SlotCounts(BaseModel):
    model_config = ConfigDict(frozen=True)

    rows_read: int = Field(default=0, ge=0)
    rows_written: int = Field(default=0, ge=0)
    bad_rows: int = Field(default=0, ge=0)


class Notice(BaseModel):
    """A message the slot's last transition owes someone: ``pending`` until a sender takes it."""

    model_config = ConfigDict(frozen=True)

    kind: NoticeKind
    state: NoticeState = "pending"
    #: When a sender took it (``sending``); another may take it again once it is this old.
    since: AwareDatetime | None = None

    @property
    def owed(self) -> bool:
        return self.state != "sent"


class SlotRecord(BaseModel):
    """One slot's entry in the ledger."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    pipeline: Pipeline
    slot: str
    state: SlotState
    version: int = Field(ge=1)
    attempts: int = Field(default=0, ge=0)
    holder: str | None = None
    run_id: str | None = None
    lease_expires_at: AwareDatetime | None = None
    fingerprint: str | None = None
    objects: int = Field(default=0, ge=0)
    bytes: int = Field(default=0, ge=0)
    rows_read: int | None = None
    rows_written: int | None = None
    bad_rows: int | None = None
    error: str | None = None
    updated_at: AwareDatetime
    done_at: AwareDatetime | None = None
    #: Epoch seconds after which DynamoDB's TTL may delete a ``done`` or ``vanished`` record.
    expires_at: int | None = None
    #: Times the slot was the one running when its step died without a verdict.
    crashes: int = Field(default=0, ge=0)
    #: Rows of the last conversion per partition value the catalog does not show.
    unlisted_values: dict[str, int] | None = None
    notice: Notice | None = None

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    def owes(self, kind: NoticeKind | None = None) -> bool:
        """Whether a notice (of ``kind``) is still to be delivered."""
        return self.notice is not None and self.notice.owed and (kind is None or self.notice.kind == kind)


def lease_expired(record: SlotRecord, now: datetime) -> bool:
    return record.state == "running" and (record.lease_expires_at is None or record.lease_expires_at <= now)


def is_due(record: SlotRecord | None, observed: Fingerprint, now: datetime) -> bool:
    """Whether a slot holding ``observed`` has work a run may claim now."""
    if record is None:
        return True
    match record.state:
        case "pending" | "failed" | "vanished":
            return True
        case "done":
            return record.fingerprint != observed.digest
        case "running":
            return lease_expired(record, now)
        case _:
            return False
