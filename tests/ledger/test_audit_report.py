"""The audit report counts every failure exactly, even past the cap on the ones it lists."""

from __future__ import annotations

import pytest

from taxgate.ledger import audit
from taxgate.ledger.audit import AuditReport


@pytest.mark.parametrize(("cap", "failures"), [(2, 5), (3, 3), (1, 2), (4, 0)])
def test_failures_past_the_cap_are_counted_exactly(monkeypatch, cap: int, failures: int) -> None:
    monkeypatch.setattr(audit, "MAX_LISTED_FAILURES", cap)
    report = AuditReport()
    assert report.ok
    for i in range(failures):
        report.fail(f"failure {i}", seq=i)
    assert [f.seq for f in report.failures] == list(range(min(cap, failures)))
    assert report.unlisted_failures == max(0, failures - cap)
    assert report.ok is (failures == 0)
