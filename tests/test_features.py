"""The feature catalogue: every feature files its evidence under a family the warnings know,
and a code outside the catalogue is an error, not evidence filed under a guessed family."""

from __future__ import annotations

import pytest

from detectors.features import FEATURES, JUDGMENT, OTHER, family
from detectors.records import Reason
from detectors.snapshots import EVIDENCE_FAMILIES
from detectors.warnings import evidence_for

FAMILIES_WITHOUT_EVIDENCE = {"presence", "country", "industry"}
"""Families whose features come from no single input event the warnings could cite."""


def test_every_feature_belongs_to_a_family_the_warnings_know() -> None:
    unknown = {f.code: f.family for f in FEATURES
               if f.family not in {*EVIDENCE_FAMILIES, *FAMILIES_WITHOUT_EVIDENCE}}
    assert unknown == {}


@pytest.mark.parametrize("code", [OTHER, JUDGMENT, "tl_no_such_feature"])
def test_a_code_outside_the_catalogue_has_no_family(code: str) -> None:
    with pytest.raises(KeyError):
        family(code)


def test_a_reason_cites_the_events_of_its_own_family_only() -> None:
    evidence = tuple((f"{name}-1",) for name in EVIDENCE_FAMILIES)
    reasons = [Reason(code="tl_dpd", label="", value=60.0, contribution=1.0),
               Reason(code=OTHER, label="", value=None, contribution=0.5)]
    assert evidence_for(reasons, evidence) == ["tradeline-1"]
