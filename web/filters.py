"""What the watchlist is narrowed to (`Filters`): the page's query parameters, read
leniently, as conditions on the customers table."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import or_
from sqlalchemy.sql import ColumnElement

from web.params import decimal
from web.tables import customers


class Filters:
    """What the watchlist is narrowed to; every field is optional."""

    FIELDS = ("desk", "grade", "country", "industry", "kind", "acknowledged", "min_exposure",
              "max_exposure", "q", "include_defaulted")

    def __init__(self, values: Mapping[str, str]) -> None:
        self.desk = _word(values.get("desk"))
        """A desk of the routing: narrows the portfolio (`Workspace.view_tags`), not a
        condition on the customers table."""
        self.grade = _word(values.get("grade"))
        self.country = _word(values.get("country"))
        self.industry = _word(values.get("industry"))
        self.kind = _word(values.get("kind"))
        acknowledged = values.get("acknowledged") or ""
        self.acknowledged = {"yes": True, "no": False}.get(acknowledged)
        self.min_exposure = decimal(values.get("min_exposure"))
        self.max_exposure = decimal(values.get("max_exposure"))
        self.q = (values.get("q") or "").strip()[:100] or None
        self.include_defaulted = values.get("include_defaulted") == "yes"

    def as_dict(self) -> dict[str, str]:
        """The filters as query parameters (for links that keep them)."""
        out: dict[str, str] = {}
        for name in ("desk", "grade", "country", "industry", "kind", "q"):
            value = getattr(self, name)
            if value:
                out[name] = value
        if self.acknowledged is not None:
            out["acknowledged"] = "yes" if self.acknowledged else "no"
        for name in ("min_exposure", "max_exposure"):
            value = getattr(self, name)
            if value is not None:
                out[name] = f"{value:g}"
        if self.include_defaulted:
            out["include_defaulted"] = "yes"
        return out

    def conditions(self) -> list[ColumnElement[bool]]:
        c = customers.c
        found: list[ColumnElement[bool]] = [c.pd.is_not(None)]
        if not self.include_defaulted:
            found.append(c.defaulted.is_(False))
        for column, value in ((c.grade, self.grade), (c.country, self.country),
                              (c.industry, self.industry), (c.warning_kind, self.kind)):
            if value:
                found.append(column == value)
        if self.acknowledged is not None:
            found.append(c.acknowledged.is_(self.acknowledged))
            found.append(c.warning_id.is_not(None))
        if self.min_exposure is not None:
            found.append(c.exposure >= self.min_exposure)
        if self.max_exposure is not None:
            found.append(c.exposure <= self.max_exposure)
        if self.q:
            pattern = "%" + self.q.replace("\\", "\\\\").replace("%", "\\%").replace(
                "_", "\\_") + "%"
            found.append(or_(c.customer_id.like(pattern, escape="\\"),
                             c.name.like(pattern, escape="\\")))
        return found


def _word(value: str | None) -> str | None:
    value = (value or "").strip()
    return value[:120] or None
