"""What clients send and receive about fees: tariffs, fees, payments, tickets, revenue.

Money is an int in the currency's minor units (cents) with its ISO 4217 code; never a float.
"""

from __future__ import annotations

import uuid
from datetime import datetime, time
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.api.fees import NightWindow, Rate, Tariff
from services.api.times import QueryTime

#: Minor units; a billion cents is far beyond any parking fee and within every integer column.
Money = Annotated[int, Field(ge=0, le=10**9, description="minor units of the currency (e.g. cents)")]
PaymentStatus = Literal["unpaid", "paid", "waived"]


class NightRate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start: time = Field(description="lot-local time the night window starts, e.g. 20:00")
    end: time = Field(description="lot-local time it ends, e.g. 07:00 (the next morning)")
    price: Money = Field(description="flat price of the periods that start in one night window")

    @model_validator(mode="after")
    def _not_empty(self) -> NightRate:
        if self.start == self.end:
            raise ValueError("a night window needs different start and end times")
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise ValueError("night times are the lot's wall clock: give them without an offset")
        return self


class RateRules(BaseModel):
    model_config = ConfigDict(extra="forbid")

    grace_minutes: int = Field(default=0, ge=0, le=1440, description="stays this long or shorter are free")
    period_minutes: int = Field(default=60, ge=1, le=1440, description="length of a charged period")
    period_price: Money = Field(description="price of each started period")
    first_period_price: Money | None = Field(default=None, description="price of the first period, if other")
    daily_cap: Money | None = Field(default=None, description="most charged per lot-local calendar day")
    night: NightRate | None = Field(default=None, description="flat night rate")
    day_price: Money | None = Field(
        default=None, description="flat price of the daytime periods of one lot-local day"
    )

    def rate(self) -> Rate:
        night = NightWindow(self.night.start, self.night.end, self.night.price) if self.night else None
        return Rate(
            grace_minutes=self.grace_minutes,
            period_minutes=self.period_minutes,
            period_price=self.period_price,
            first_period_price=self.first_period_price,
            daily_cap=self.daily_cap,
            night=night,
            day_price=self.day_price,
        )


class TariffRules(BaseModel):
    model_config = ConfigDict(extra="forbid")

    currency: str = Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code, e.g. USD")
    standard: RateRules
    member: RateRules | None = Field(default=None, description="for plates on the member list")
    staff_free: bool = Field(default=True, description="plates on the staff list park free")

    def tariff(self) -> Tariff:
        member = self.member.rate() if self.member else None
        return Tariff(self.currency, self.standard.rate(), member, self.staff_free)


class TariffCreate(TariffRules):
    effective_from: QueryTime | None = Field(
        default=None,
        description="when it takes effect (default now; never in the past, so no charged visit changes); "
        "no offset = lot's local time",
    )


class TariffVersionPublic(TariffRules):
    version: int
    effective_from: datetime
    created_by: str = Field(description="the client that set it")
    created_at: datetime


class FeePublic(BaseModel):
    amount: int = Field(description="minor units")
    currency: str
    tariff_version: int
    final: bool = Field(description="false for a car inside: the fee so far")


class PaymentPublic(BaseModel):
    status: PaymentStatus
    amount: int | None = Field(default=None, description="minor units taken, when paid")
    currency: str | None = None
    set_by: str | None = Field(default=None, description="the client that set the status")
    set_at: datetime | None = None


class PaymentUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: PaymentStatus


class RevenueBucket(BaseModel):
    start: datetime
    charged: int = Field(description="fees of visits that ended in this bucket")
    paid: int
    waived: int
    unpaid: int


class Revenue(BaseModel):
    interval: Literal["hour", "day"]
    timezone: str
    currency: str | None = Field(description="of every amount; None when no tariff was ever set")
    charged: int
    paid: int
    waived: int
    unpaid: int = Field(
        description="owed: fees neither paid nor waived, and what a stay added after it was paid"
    )
    buckets: list[RevenueBucket]


class VisitBilling(BaseModel):
    """What the visits list, its export and a ticket add to a visit."""

    visit_key: uuid.UUID = Field(description="event id of the visit's entry (of its exit without entry)")
    ticket_id: str = Field(description="short id printed on the ticket, derived from the visit key")
    fee: FeePublic | None = Field(description="None: no tariff at its entry, or no entry or exit seen")
    payment: PaymentPublic
