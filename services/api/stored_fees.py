"""Each completed visit's final fee, kept on its visit row when pairing completes it (or re-pairs it),
so revenue is a sum in SQL and a visits page bills only the cars still inside.

The fee is fixed when the visit is paired: the tariff version in effect at its entry (a new version
never applies in the past, so it never changes a stored fee) and the plate's lists as they stand at
that moment by exact blind index, an entry that expired before the exit left out. A plate added to the
staff list later does not refund a visit already paired; a correction re-pairs it, and charges it again.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, tzinfo
from zoneinfo import ZoneInfo

from sqlalchemy import Select, select

from services.api.db import as_utc
from services.api.fee_schemas import TariffRules
from services.api.fees import Tariff, fee
from services.api.models import PlateListEntry, TariffVersion

FEE_COLUMNS = ("fee_amount", "fee_currency", "fee_tariff_version")
#: (kind, expires_at naive UTC or None) of each list entry, per blind index
Listed = dict[str, list[tuple[str, datetime | None]]]


def versions_stmt() -> Select:
    """Oldest effect first (ties: the later row last, so it wins)."""
    return select(TariffVersion.id, TariffVersion.effective_from, TariffVersion.rules).order_by(
        TariffVersion.effective_from, TariffVersion.id
    )


def lists_stmt(keys: Iterable[str]) -> Select:
    e = PlateListEntry
    return select(e.plate_index, e.kind, e.expires_at).where(e.plate_index.in_(sorted(set(keys))))


def listed_of(rows: Iterable[tuple[str, str, datetime | None]]) -> Listed:
    out: Listed = defaultdict(list)
    for key, kind, expires in rows:
        out[key].append((kind, expires))
    return out


class Charger:
    """Charges paired visit rows (the dicts pairing inserts) from the versions and lists read once."""

    def __init__(self, versions: list[tuple[int, datetime, str]], listed: Listed, tz: tzinfo) -> None:
        self._ids = [v[0] for v in versions]
        self._starts = [as_utc(v[1]) for v in versions]
        self._tariffs: list[Tariff] = [TariffRules.model_validate_json(v[2]).tariff() for v in versions]
        self._listed = listed
        self._tz = ZoneInfo(str(tz))  # the store's zone may be pytz; the fee engine takes zoneinfo

    def charge(self, row: dict) -> dict:
        """`row` with its fee columns: set for a completed visit that entered under a tariff, else None."""
        row.update(dict.fromkeys(FEE_COLUMNS))
        entry, exit_ = row["entry_time"], row["exit_time"]
        if entry is None or exit_ is None:
            return row
        at = bisect.bisect_right(self._starts, as_utc(entry)) - 1  # the version in effect at entry
        if at < 0:
            return row
        kinds = frozenset(
            kind
            for kind, expires in self._listed.get(row["plate_index"], [])
            if expires is None or expires > exit_
        )
        tariff = self._tariffs[at]
        row["fee_amount"] = fee(tariff, as_utc(entry), as_utc(exit_), self._tz, kinds)
        row["fee_currency"] = tariff.currency
        row["fee_tariff_version"] = self._ids[at]
        return row
