"""Mutation score of the safety-critical modules: the gate, decide, the ledger log and signing
(with the manifest models whose fields the signature covers).

One small deliberate bug (a mutant) at a time is planted in a COPY of the source tree, the
tests mapped to that module run against it, and a mutant the tests do not fail on "survives":
a bug of that shape would reach production unnoticed. The score is the share of mutants
caught (killed, or stopped by the per-mutant timeout), equivalent mutants set aside.

A small driver of our own rather than mutmut: mutmut 3 rewrites every function into a
trampoline inside a `mutants/` folder of the working tree, needs its own test-runner
configuration and does not map modules to test subsets, and its operators include string
mutations that are noise here. This one is about 300 lines of `ast`, plants exactly the bug
shapes that matter for a gate (comparison boundaries and negations, and/or and &/| swaps on
masks, removed `not`/`~`, constants off by one, an element left out of a literal list or set, a
replaced return value, a removed statement that records a finding, appends a failure or
raises), never touches the worktree, and its sampling is deterministic (`--seed` and
`--max-per-module`), so a run is repeatable and fits in minutes. Slow property tests
(hypothesis over thousands of rows) are left out of the mapped sets; the bounded fuzz tests in
tests/adversarial stand in for them. Each mutant runs in a child forked from the driver after
it imported the heavy third-party libraries once, so a mutant costs its tests, not the
interpreter's start; `--hypothesis-seed` makes the property tests repeatable.

    python bench/mutation_bench.py --max-per-module 25 --seed 1 --out /tmp/mutation.json
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import json
import os
import random
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = Path("src/taxgate")
PYTEST = ["-x", "-q", "-p", "no:cacheprovider", "--hypothesis-seed=0"]
# Slow property tests left out of every mapped set (see the docstring).
DESELECT = [
    "tests/gate/test_subject_rules.py::test_a_row_verdict_does_not_depend_on_its_neighbours",
    "tests/gate/test_subject_rules.py::test_arbitrary_strings_always_get_a_verdict",
]

GATE_TESTS = [
    "tests/gate/test_subject_rules.py",
    "tests/gate/test_gate_mutants.py",
    "tests/gate/test_address.py",
    "tests/gate/test_placeholder_lists.py",
    "tests/gate/test_placeholders.py",
    "tests/gate/test_batch_authority.py",
    "tests/gate/test_run.py",
    "tests/gate/test_reasons.py",
    "tests/gate/test_blind.py",
    "tests/adversarial/test_fuzz_gate.py",
]
DECIDE_TESTS = [
    "tests/decide/test_rules.py",
    "tests/decide/test_households_mutants.py",
    "tests/decide/test_batch.py",
]
LEDGER_TESTS = [
    "tests/ledger/test_merkle.py",
    "tests/ledger/test_checkpoint.py",
    "tests/ledger/test_checkpoint_bounds.py",
    "tests/ledger/test_log.py",
    "tests/ledger/test_audit.py",
    "tests/ledger/test_checkpoint_rows.py",
    "tests/ledger/test_audit_report.py",
    "tests/ledger/test_audit_bodies.py",
    "tests/ledger/test_audit_edges.py",
]
SIGNING_TESTS = [
    "tests/formats/test_signing.py",
    "tests/formats/test_signing_every_field.py",
    "tests/formats/test_manifest_errors.py",
    "tests/gate/test_run.py",
    "tests/gate/test_batch_authority.py",
]

# Module (relative to src/taxgate) -> the tests that must catch a bug planted in it.
TEST_MAP: dict[str, list[str]] = {
    "gate/address.py": GATE_TESTS,
    "gate/batch_rules.py": GATE_TESTS,
    "gate/history.py": GATE_TESTS,
    "gate/reasons.py": GATE_TESTS,
    "gate/run.py": GATE_TESTS,
    "gate/subject_rules.py": GATE_TESTS,
    "gate/tin.py": GATE_TESTS,
    "gate/verdicts.py": GATE_TESTS,
    "gate/placeholders.py": [*GATE_TESTS, "tests/adversarial/test_values.py"],
    "gate/receipt.py": [
        *GATE_TESTS,
        "tests/gate/test_receipt.py",
        "tests/adversarial/test_time.py",
    ],
    "decide/rules.py": DECIDE_TESTS,
    "decide/evidence.py": DECIDE_TESTS,
    "decide/households.py": DECIDE_TESTS,
    "ledger/log.py": LEDGER_TESTS,
    "ledger/merkle.py": LEDGER_TESTS,
    "ledger/audit.py": LEDGER_TESTS,
    "ledger/checkpoint.py": LEDGER_TESTS,
    "formats/signing.py": SIGNING_TESTS,
    "formats/manifest.py": SIGNING_TESTS,
}

# Mutants that cannot change behaviour, keyed by (module, the original line stripped, the
# original node, the mutated node) so a line moving does not lose the entry; each says why.
# They are left out of the score.
_CHUNK = "HASH_CHUNK_BYTES = 1 << 20  # 1 MiB: steady memory for multi-gigabyte tables"
_INDENT = 'text = json.dumps(self.model_dump(mode="json"), indent=2, ensure_ascii=False)'
_CHUNK_WHY = "the read size of file_sha256 changes its memory use, not the digest"
_RUNNER = (
    "a runner-up is never taxpayer 0: it is the one after a subject's best (taxpayers.py, "
    "runner = top + 1), and where there is none the value is masked"
)
_FAST_PATH = (
    "_flat only picks the fast writer of the same RFC 8785 text; the reference writer gives the "
    "same bytes"
)
_SAFE = "-MAX_SAFE_INTEGER <= v <= MAX_SAFE_INTEGER for v in value.values() if type(v) is int"
_SAFE_RANGE = "-MAX_SAFE_INTEGER <= v <= MAX_SAFE_INTEGER"
_DIRS = (
    "_DIRECTIONS = sorted(set(DIRECTIONAL_REPLACEMENTS) | set(DIRECTIONAL_REPLACEMENTS.values()))"
)
_DIRS_SET = "set(DIRECTIONAL_REPLACEMENTS) | set(DIRECTIONAL_REPLACEMENTS.values())"
_SUFS = (
    "_SUFFIXES = sorted(set(STREET_TYPE_ABBREVIATIONS) | set(STREET_TYPE_ABBREVIATIONS.values()))"
)
_SUFS_SET = "set(STREET_TYPE_ABBREVIATIONS) | set(STREET_TYPE_ABBREVIATIONS.values())"
_SHORTCUT = (
    "a narrower PLAIN_STREET shortcut only sends more streets to usaddress, which decides the "
    "rest the same way (address.py's docstring)"
)
_PROGRESS = "if progress is not None and tree.size % PROGRESS_EVERY == 0:"
_PROGRESS_ALIAS = "Progress = Callable[[int, int], None]  # (events read, events in the log)"
_ALIAS = "a type alias: nothing at run time reads it"
_RANGE = "for start in range(0, max(n, 1), CHUNK_ROWS):"
_CHUNK_ROWS = "rows examined per step pace memory and progress; the verdicts are the same"
_DAYS = "days = pc.fill_null(pc.cast(pc.cast(parsed, pa.date32()), pa.int32()), 0)"
_UNPARSED = "the day number of a date that did not parse is never read: the row is invalid already"
_NONE = "if self.subjects is None or self.verdicts is None:"
_EXCLUDE = 'return self.model_dump(mode="json", exclude={"signature"})'
_NESTED = "a field of the nested signer: a top-level exclude set cannot leave it out"
_NO_INDEX = "any negative index marks a subject without candidates (index < 0)"
EQUIVALENT: dict[tuple[str, str, str, str], str] = {
    ("formats/manifest.py", _EXCLUDE, "{'signature'}", "{'signature', 'key_id'}"): _NESTED,
    ("formats/manifest.py", _EXCLUDE, "{'signature'}", "{'signature', 'name'}"): _NESTED,
    ("formats/manifest.py", _EXCLUDE, "{'signature'}", "{'signature', 'title'}"): _NESTED,
    (
        "gate/tin.py",
        "serial = np.asarray(pc.utf8_slice_codeunits(safe, 5, 9), dtype=object)",
        "9",
        "10",
    ): "the text is nine digits long, so slicing to 9 or to 10 gives the same serial",
    (
        "ledger/audit.py",
        _SAFE,
        _SAFE_RANGE,
        "-MAX_SAFE_INTEGER < v <= MAX_SAFE_INTEGER",
    ): _FAST_PATH,
    (
        "ledger/audit.py",
        _SAFE,
        _SAFE_RANGE,
        "-MAX_SAFE_INTEGER <= v < MAX_SAFE_INTEGER",
    ): _FAST_PATH,
    ("decide/rules.py", "has_runner = runner >= 0", "runner >= 0", "runner > 0"): _RUNNER,
    ("decide/rules.py", "has_runner = runner >= 0", "0", "1"): _RUNNER,
    (
        "decide/rules.py",
        "has_runner = taxpayers.runner >= 0",
        "taxpayers.runner >= 0",
        "taxpayers.runner > 0",
    ): _RUNNER,
    ("decide/rules.py", "has_runner = taxpayers.runner >= 0", "0", "1"): _RUNNER,
    (
        "decide/rules.py",
        "runner_pair = pa.array(taxpayers.best[np.maximum(runner, 0)], mask=~has_runner)",
        "0",
        "1",
    ): _RUNNER,
    (
        "decide/rules.py",
        '"runner_up_weight": pa.array(taxpayers.weight[np.maximum(runner, 0)], mask=~has_runner),',
        "0",
        "1",
    ): _RUNNER,
    (
        "decide/rules.py",
        "runner_weight = np.where(has_runner, taxpayers.weight[np.maximum(taxpayers.runner, 0)], "
        "0.0)",
        "0",
        "1",
    ): _RUNNER,
    ("decide/rules.py", "index = np.full(n, -1, dtype=np.int64)", "1", "2"): _NO_INDEX,
    ("gate/address.py", _DIRS, _DIRS_SET, _DIRS_SET.replace(" | ", " & ")): _SHORTCUT,
    ("gate/address.py", _SUFS, _SUFS_SET, _SUFS_SET.replace(" | ", " & ")): _SHORTCUT,
    (
        "ledger/checkpoint.py",
        "raise InvalidSignature",
        "raise InvalidSignature",
        "pass",
    ): "Ed25519 verify itself rejects a signature of the wrong length with InvalidSignature",
    ("gate/address.py", "@lru_cache(maxsize=1 << 18)", "1", "2"): "a cache size, not a result",
    ("gate/address.py", "@lru_cache(maxsize=1 << 18)", "1", "0"): "a cache size, not a result",
    ("gate/address.py", "@lru_cache(maxsize=1 << 18)", "18", "19"): "a cache size, not a result",
    ("gate/address.py", "@lru_cache(maxsize=1 << 18)", "18", "17"): "a cache size, not a result",
    ("gate/run.py", "Progress = Callable[[int, int], None]", "[int, int]", "[int]"): _ALIAS,
    ("gate/subject_rules.py", _DAYS, "0", "-1"): _UNPARSED,
    ("gate/subject_rules.py", _DAYS, "0", "1"): _UNPARSED,
    ("gate/tin.py", "return bool(valid_tins(pa.array([tin], pa.string()), rules)[0])", "0", "-1"): (
        "the first and the last of a one-element array are the same"
    ),
    (
        "gate/verdicts.py",
        _NONE,
        "self.subjects is None or self.verdicts is None",
        "self.subjects is None and self.verdicts is None",
    ): ("a result has both subjects and verdicts or neither (run_gate)"),
    ("gate/run.py", "CHUNK_ROWS = 100_000", "100000", "100001"): _CHUNK_ROWS,
    ("gate/run.py", "CHUNK_ROWS = 100_000", "100000", "99999"): _CHUNK_ROWS,
    ("gate/run.py", _RANGE, "1", "2"): "a batch of 0 or 1 rows is examined in one step either way",
    (
        "gate/run.py",
        _RANGE,
        "1",
        "0",
    ): "an empty batch has no verdicts either way (only its one progress call is lost)",
    (
        "gate/run.py",
        "if sid and counts[sid] > 1:",
        "sid and counts[sid] > 1",
        "sid or counts[sid] > 1",
    ): "counts holds no empty id, so an empty sid counts 0 either way",
    ("ledger/audit.py", _PROGRESS_ALIAS, "[int, int]", "[int]"): _ALIAS,
    ("ledger/audit.py", _PROGRESS, "0", "1"): (
        "progress at 1, 11, 21, ... events instead of 10, 20, ...: the same cadence"
    ),
    ("ledger/audit.py", "tree_size: int = 0", "0", "1"): (
        "a default verify_log always overwrites before it returns the report"
    ),
    ("ledger/audit.py", "if heads and cp.origin != heads[0].checkpoint.origin:", "0", "-1"): (
        "stored heads of another origin are already a failure; heads[0] and heads[-1] differ "
        "only then"
    ),
    (
        "ledger/audit.py",
        "if not types <= _FLAT_TYPES:",
        "types <= _FLAT_TYPES",
        "types < _FLAT_TYPES",
    ): _FAST_PATH,
    ("formats/signing.py", _CHUNK, "1", "2"): _CHUNK_WHY,
    ("formats/signing.py", _CHUNK, "20", "21"): _CHUNK_WHY,
    ("formats/signing.py", _CHUNK, "20", "19"): _CHUNK_WHY,
    ("formats/manifest.py", "BATCH_ID_MAX_LENGTH = 100", "100", "101"): (
        "the limit is this constant; its tests read it, so no test can tell 100 from 101"
    ),
    ("formats/manifest.py", "BATCH_ID_MAX_LENGTH = 100", "100", "99"): (
        "the limit is this constant; its tests read it, so no test can tell 100 from 99"
    ),
    ("formats/manifest.py", _INDENT, "2", "3"): "the layout of a saved manifest, not its content",
    ("formats/manifest.py", _INDENT, "2", "1"): "the layout of a saved manifest, not its content",
    ("formats/manifest.py", "subject_count: int = 0", "0", "1"): (
        "the default of an unsigned manifest; signing always fills the count"
    ),
    ("formats/manifest.py", "subject_count: int = 0", "0", "-1"): (
        "the default of an unsigned manifest; signing always fills the count"
    ),
    ("formats/manifest.py", "response_count: int = 0", "0", "1"): (
        "the default of an unsigned manifest; signing always fills the count"
    ),
    ("formats/manifest.py", "response_count: int = 0", "0", "-1"): (
        "the default of an unsigned manifest; signing always fills the count"
    ),
}

COMPARE_SWAP = {
    ast.Lt: ast.LtE,
    ast.LtE: ast.Lt,
    ast.Gt: ast.GtE,
    ast.GtE: ast.Gt,
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
}
BINOP_SWAP = {ast.BitAnd: ast.BitOr, ast.BitOr: ast.BitAnd}
# Calls whose removal drops a finding, a failure or a problem from what is reported.
RECORDING_CALLS = frozenset({"append", "add", "fail", "extend", "setdefault", "update"})


@dataclass(frozen=True)
class Point:
    """One place a mutant can be planted: the n-th node the visitor meets, and how."""

    index: int
    line: int
    operator: str
    original: str
    mutated: str
    source_line: str = ""  # the original line, stripped: how EQUIVALENT recognises a mutant


@dataclass
class Tally:
    module: str
    mutants: int = 0
    killed: int = 0
    survived: int = 0
    timeouts: int = 0
    equivalent: int = 0
    seconds: float = 0.0
    survivors: list[dict] = field(default_factory=list)
    equivalents: list[dict] = field(default_factory=list)

    @property
    def score(self) -> float:
        counted = self.mutants - self.equivalent
        return (self.killed + self.timeouts) / counted if counted else 1.0


def _docstring_nodes(tree: ast.AST) -> set[int]:
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                out.add(id(body[0]))
    return out


def _skipped(tree: ast.AST) -> set[int]:
    """Nodes never mutated: annotations, docstrings, f-string parts and their children."""
    roots: list[ast.AST] = []
    docstrings = _docstring_nodes(tree)
    for node in ast.walk(tree):
        if id(node) in docstrings or isinstance(node, ast.JoinedStr | ast.ImportFrom):
            roots.append(node)
        if isinstance(node, ast.AnnAssign):
            roots.append(node.annotation)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            if node.returns is not None:
                roots.append(node.returns)
            roots += [a.annotation for a in ast.walk(node.args) if getattr(a, "annotation", None)]
    return {id(n) for root in roots for n in ast.walk(root)}


class _Mutator(ast.NodeTransformer):
    """Walks a module; lists mutation points, or applies the one numbered `target`."""

    def __init__(
        self, skipped: set[int], target: int | None = None, field_names: frozenset = frozenset()
    ) -> None:
        self.skipped = skipped
        self.field_names = field_names  # the model fields the module declares
        self.target = target
        self.count = 0
        self.points: list[Point] = []

    def _point(self, node: ast.AST, operator: str, replacement: ast.AST) -> ast.AST:
        index = self.count
        self.count += 1
        if self.target is None:
            original = ast.unparse(node)
            mutated = ast.unparse(replacement) if replacement is not None else "pass"
            self.points.append(Point(index, node.lineno, operator, original, mutated))
            return node
        if index == self.target:
            return replacement if replacement is not None else ast.Pass()
        return node

    def _variants(self, node: ast.AST) -> list[tuple[str, ast.AST]]:
        if id(node) in self.skipped:
            return []
        out: list[tuple[str, ast.AST]] = []
        if isinstance(node, ast.Compare):
            for i, op in enumerate(node.ops):
                swap = COMPARE_SWAP.get(type(op))
                if swap:
                    ops = list(node.ops)
                    ops[i] = swap()
                    out.append(("compare", ast.Compare(node.left, ops, node.comparators)))
        elif isinstance(node, ast.BoolOp):
            other = ast.Or() if isinstance(node.op, ast.And) else ast.And()
            out.append(("and/or", ast.BoolOp(other, node.values)))
        elif isinstance(node, ast.BinOp) and type(node.op) in BINOP_SWAP:
            out.append(("&/|", ast.BinOp(node.left, BINOP_SWAP[type(node.op)](), node.right)))
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not | ast.Invert):
            out.append(("not-removed", node.operand))
        elif (
            isinstance(node, ast.Constant)
            and type(node.value) is int
            and not isinstance(node.value, bool)
        ):
            out.append(("constant+1", ast.Constant(node.value + 1)))
            out.append(("constant-1", ast.Constant(node.value - 1)))
        elif isinstance(node, ast.Return) and node.value is not None:
            value = node.value
            if isinstance(value, ast.Constant) and isinstance(value.value, bool):
                out.append(("return", ast.Return(ast.Constant(not value.value))))
            elif not (isinstance(value, ast.Constant) and value.value is None):
                out.append(("return", ast.Return(ast.Constant(None))))
        elif (
            isinstance(node, ast.List | ast.Set)
            or (isinstance(node, ast.Tuple) and all(isinstance(e, ast.Constant) for e in node.elts))
        ) and isinstance(getattr(node, "ctx", ast.Load()), ast.Load):
            strings = [e.value for e in node.elts if isinstance(e, ast.Constant)]
            if isinstance(node, ast.Set) and "signature" in strings:
                # The planted bug of the issue: one more field left out of the signed payload.
                for name in sorted(self.field_names - set(strings)):
                    wider = ast.Set([*node.elts, ast.Constant(name)])
                    out.append(("signed-field-dropped", wider))
            for i in range(len(node.elts)):
                rest = node.elts[:i] + node.elts[i + 1 :]
                kind = type(node)
                smaller = kind(rest) if kind is ast.Set else kind(rest, ast.Load())
                if kind is ast.Set and not rest:
                    smaller = ast.Call(ast.Name("set", ast.Load()), [], [])
                out.append(("element-removed", smaller))
        elif isinstance(node, ast.Raise):
            out.append(("raise-removed", None))
        elif (
            isinstance(node, ast.Expr)
            and isinstance(node.value, ast.Call)
            and isinstance(node.value.func, ast.Attribute | ast.Name)
            and (getattr(node.value.func, "attr", None) or getattr(node.value.func, "id", ""))
            in RECORDING_CALLS | {"add"}
        ):
            out.append(("call-removed", None))
        return out

    def generic_visit(self, node: ast.AST) -> ast.AST:
        node = super().generic_visit(node)
        for operator, replacement in self._variants(node):
            result = self._point(node, operator, replacement)
            if result is not node:
                return ast.copy_location(result, node) if result is not None else result
        return node


def _field_names(tree: ast.AST) -> frozenset:
    """Names declared with an annotation in a class body: the fields of its models."""
    return frozenset(
        stmt.target.id
        for node in ast.walk(tree)
        if isinstance(node, ast.ClassDef)
        for stmt in node.body
        if isinstance(stmt, ast.AnnAssign)
        and isinstance(stmt.target, ast.Name)
        and "ClassVar" not in ast.unparse(stmt.annotation)
    )


def mutation_points(source: str) -> list[Point]:
    tree = ast.parse(source)
    mutator = _Mutator(_skipped(tree), field_names=_field_names(tree))
    mutator.visit(tree)
    lines = source.splitlines()
    return [replace(p, source_line=lines[p.line - 1].strip()) for p in mutator.points]


def mutant_source(source: str, index: int) -> str:
    tree = ast.parse(source)
    mutator = _Mutator(_skipped(tree), target=index, field_names=_field_names(tree))
    tree = ast.fix_missing_locations(mutator.visit(tree))
    return ast.unparse(tree)


def _copy_tree(dest: Path) -> None:
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".hypothesis", ".pytest_cache")
    shutil.copytree(ROOT / "src", dest / "src", ignore=ignore)
    shutil.copytree(ROOT / "tests", dest / "tests", ignore=ignore)
    shutil.copytree(ROOT / "docs", dest / "docs", ignore=ignore)  # some tests read the docs
    shutil.copy2(ROOT / "pyproject.toml", dest / "pyproject.toml")


# Third-party modules imported once by the driver, before it forks one child per mutant: a
# child then imports only taxgate (fresh, from the copy, mutant included) and the tests.
WARM_MODULES = (
    "numpy",
    "pyarrow",
    "pyarrow.compute",
    "pyarrow.csv",
    "pyarrow.parquet",
    "pydantic",
    "sqlalchemy",
    "alembic",
    "cryptography.hazmat.primitives.asymmetric.ed25519",
    "rfc8785",
    "hypothesis",
    "hypothesis.strategies",
    "pytest",
    "duckdb",
    "usaddress",
    "scourgify",
    "typer",
    "splink",
)


def _warm() -> None:
    import importlib

    sys.dont_write_bytecode = True  # a stale .pyc must never stand in for a mutant
    for name in WARM_MODULES:
        with contextlib.suppress(ImportError):
            importlib.import_module(name)
    assert not any(m == "taxgate" or m.startswith("taxgate.") for m in sys.modules)


def _child(copy: Path, args: list[str]) -> None:
    """In the forked child: run pytest on the copy and leave with its exit code."""
    import pytest

    code = 1
    try:
        os.chdir(copy)
        sys.path[:0] = [str(copy / "src"), str(copy)]
        os.environ.pop("TAXGATE_TEST_DATABASE_URL", None)  # PostgreSQL twins are skipped
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        code = int(pytest.main(args))
    finally:
        os._exit(code)


def _run_tests(copy: Path, tests: list[str], timeout: float) -> str:
    """'passed', 'failed' or 'timeout' for the mapped tests in the copy, in a forked child."""
    deselect = [arg for d in DESELECT for arg in ("--deselect", d)]
    args = [*PYTEST, *deselect, *tests]
    pid = os.fork()
    if pid == 0:
        _child(copy, args)
    deadline = time.monotonic() + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return "passed" if os.waitstatus_to_exitcode(status) == 0 else "failed"
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return "timeout"
        time.sleep(0.05)


def run(
    modules: list[str],
    max_per_module: int,
    seed: int,
    timeout_factor: float,
    lines: frozenset[int] = frozenset(),
) -> list[Tally]:
    tallies = []
    with tempfile.TemporaryDirectory(prefix="taxgate-mutants-") as folder:
        copy = Path(folder)
        _copy_tree(copy)
        for module in modules:
            tests = TEST_MAP[module]
            target = copy / PACKAGE / module
            source = target.read_text(encoding="utf-8")
            points = [p for p in mutation_points(source) if not lines or p.line in lines]
            chosen = sorted(
                random.Random(f"{seed}:{module}").sample(points, min(max_per_module, len(points))),
                key=lambda p: p.index,
            )
            tally = Tally(module)
            started = time.monotonic()
            baseline = _run_tests(copy, tests, timeout=1800)
            took = time.monotonic() - started
            if baseline != "passed":
                raise SystemExit(f"{module}: the mapped tests fail without any mutant ({baseline})")
            limit = took * timeout_factor + 30
            for point in chosen:
                tally.mutants += 1
                why = EQUIVALENT.get((module, point.source_line, point.original, point.mutated))
                if why:
                    tally.equivalent += 1
                    tally.equivalents.append({**asdict(point), "why": why})
                    continue
                target.write_text(mutant_source(source, point.index), encoding="utf-8")
                try:
                    outcome = _run_tests(copy, tests, limit)
                finally:
                    target.write_text(source, encoding="utf-8")
                if outcome == "failed":
                    tally.killed += 1
                elif outcome == "timeout":
                    tally.timeouts += 1
                else:
                    tally.survived += 1
                    tally.survivors.append(
                        {"location": f"src/taxgate/{module}:{point.line}", **asdict(point)}
                    )
                print(f"  {module}:{point.line} {point.operator}: {outcome}", file=sys.stderr)
            tally.seconds = round(time.monotonic() - started, 1)
            tallies.append(tally)
            print(_row(tally), file=sys.stderr)
    return tallies


def _row(t: Tally) -> str:
    return (
        f"| {t.module} | {t.mutants} | {t.killed} | {t.survived} | {t.timeouts} | "
        f"{t.equivalent} | {t.score:.1%} |"
    )


def table(tallies: list[Tally]) -> str:
    total = Tally("**all**")
    for t in tallies:
        for name in ("mutants", "killed", "survived", "timeouts", "equivalent"):
            setattr(total, name, getattr(total, name) + getattr(t, name))
    lines = [
        "| module | mutants | killed | survived | timeouts | equivalent | score |",
        "|---|---:|---:|---:|---:|---:|---:|",
        *map(_row, tallies),
        _row(total),
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--module",
        action="append",
        choices=sorted(TEST_MAP),
        help="only this module (repeatable); default: all",
    )
    parser.add_argument("--max-per-module", type=int, default=25)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--timeout-factor",
        type=float,
        default=3.0,
        help="a mutant's time limit: this many times the clean run, plus 30 s",
    )
    parser.add_argument("--out", type=Path, default=Path("mutation-survivors.json"))
    parser.add_argument(
        "--line", type=int, action="append", default=[], help="only mutants on this line"
    )
    parser.add_argument("--list", action="store_true", help="count mutation points and stop")
    args = parser.parse_args(argv)
    modules = args.module or sorted(TEST_MAP)
    if args.list:
        for module in modules:
            source = (ROOT / PACKAGE / module).read_text(encoding="utf-8")
            print(f"{module}: {len(mutation_points(source))} mutation points")
        return 0
    # A terminated run still removes its copy of the tree (TemporaryDirectory's cleanup).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    _warm()
    tallies = run(
        modules, args.max_per_module, args.seed, args.timeout_factor, frozenset(args.line)
    )
    print(table(tallies))
    report = {
        "command": " ".join(["python", "bench/mutation_bench.py", *(argv or sys.argv[1:])]),
        "seed": args.seed,
        "max_per_module": args.max_per_module,
        "modules": [{**asdict(t), "score": round(t.score, 4)} for t in tallies],
    }
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
