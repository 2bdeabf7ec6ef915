"""The taxpayer addresses each chunk of a batch can meet: the right-hand side Splink is handed.

Splink prepares its whole right-hand side for every prediction (a union with the subjects and
its term-frequency joins run over every row): against 20M people that re-read 23M addresses
for each chunk, over a minute whatever the chunk's size (bench/README.md, "Blocking that
scales"). An address no blocking rule pairs with any subject of the chunk cannot be in a pair,
so Splink is handed only the addresses some rule reaches: the same rules, the same pairs and
the same weights (the term frequencies are the master's own tables, registered apart, never
counted from what Splink is handed).

Each rule is one join of the subjects with the addresses, a hash join on the rule's equalities
with the rest of the rule as a filter: a pass over the addresses' key columns per rule. The
joins run once for the whole batch, every subject tagged with its chunk, not once per chunk:
21 passes over 24M addresses cost 43 s for one chunk of 128,000 subjects at 20M people, and a
batch of ten chunks paid them ten times (bench/README.md). An inner join, not a semi-join:
DuckDB 1.x plans a semi-join whose condition holds a function (Jaro-Winkler, a substring) as a
nested loop, 55 s for one rule against 24M addresses where the inner join took 2.8 s.

Written here because Splink has no such step: it blocks the two tables it is given.
"""

from __future__ import annotations

from typing import Any


def rules_sql(settings: dict[str, Any]) -> list[str] | None:
    """The frozen blocking rules' SQL (`l`, `r` aliases), or None when a rule explodes arrays
    (a pair there is not a row of the right-hand side alone, so nothing may be left out)."""
    rules = settings["blocking_rules_to_generate_predictions"]
    if any(rule.get("arrays_to_explode") for rule in rules):
        return None
    return [rule["blocking_rule"] for rule in rules]


def reach_sql(left: str, right: str, rules: list[str]) -> str:
    """(part, rid): for each `part` of `left`, the rowids of the table `right` that one of
    `rules` pairs with a row of that part, each pair of them once."""
    return "\n UNION \n".join(
        f"SELECT l.part, r.rowid AS rid FROM {right} AS r JOIN {left} AS l ON {rule}"
        for rule in rules
    )
