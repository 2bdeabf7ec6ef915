"""A body the audit accepts must be RFC 8785 exactly: an integer beyond JSON's safe range is not.

An intruder who rewrites a body and its leaf hash is caught by the checkpoints; this checks
the body rule on its own, by the failure named at the rewritten seq.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text

from taxgate.formats.keys import load_keyring
from taxgate.ledger import merkle
from taxgate.ledger.audit import verify_log
from taxgate.ledger.database import open_ledger
from taxgate.ledger.events import append_events
from tests.ledger.test_events import AT, sample_events
from tests.ledger.test_log import unlock_log

SEQ = 3
UNSAFE = 2**60  # past 2**53 - 1: RFC 8785 (I-JSON) cannot carry it exactly


@pytest.fixture
def ledger(database_url: str) -> Iterator[Engine]:
    engine = open_ledger(database_url)
    with engine.begin() as conn:
        append_events(conn, sample_events(6, "B-1"), AT)
    yield engine
    engine.dispose()


def _rewrite(engine: Engine, body: str) -> None:
    leaf = merkle.leaf_hash(body.encode("utf-8")).hex()
    with engine.begin() as conn:
        unlock_log(conn)
        conn.execute(
            text("UPDATE log_events SET body = :body, leaf_hash = :leaf WHERE seq = :seq"),
            {"body": body, "leaf": leaf, "seq": SEQ},
        )


def _body(engine: Engine) -> str:
    with engine.connect() as conn:
        query = text("SELECT body FROM log_events WHERE seq = :seq")
        return conn.execute(query, {"seq": SEQ}).scalar_one()


@pytest.mark.parametrize("value", [UNSAFE, -UNSAFE, 2**53])
def test_a_body_with_an_unsafe_integer_is_named(ledger: Engine, disclosing_key, value) -> None:
    body = _body(ledger)
    assert body.endswith("}")
    _rewrite(ledger, body[:-1] + f',"zz":{value}}}')
    report = verify_log(ledger, load_keyring(disclosing_key[1]), rows=False)  # log alone
    assert SEQ in {f.seq for f in report.failures}


def test_a_body_with_the_largest_safe_integer_is_canonical(ledger: Engine, disclosing_key) -> None:
    body = _body(ledger)
    _rewrite(ledger, body[:-1] + f',"zz":{2**53 - 1}}}')
    report = verify_log(ledger, load_keyring(disclosing_key[1]), rows=False)  # log alone
    assert SEQ not in {f.seq for f in report.failures}
