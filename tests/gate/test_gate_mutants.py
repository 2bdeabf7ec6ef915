"""Gate paths the mutation run (bench/mutation_bench.py) found untested."""

from __future__ import annotations

import pytest

from taxgate.formats.codes import ReasonCode
from taxgate.gate.address import address_problems
from taxgate.policy import load_policy

RULES = load_policy().address


@pytest.mark.parametrize("street", ["1 Main St Apt 2 Apt 3", "12 Elm St Unit 4 Unit 5"])
def test_a_street_usaddress_cannot_label_is_unparseable_not_accepted(street: str) -> None:
    """usaddress raises RepeatedLabelError on these; the gate must refuse, not fall through."""
    codes = address_problems(street, "Austin", "TX", "78701", RULES)
    assert codes, street
    assert ReasonCode.ADDRESS_UNPARSEABLE in codes
