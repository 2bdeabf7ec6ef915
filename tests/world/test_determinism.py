"""Same seed and arguments give byte-identical files; another seed gives other files."""

from __future__ import annotations

from pathlib import Path

from tests.world.conftest import make_world

FILES = (
    "filings.parquet", "batch/subjects.csv", "batch/manifest.json", "truth.csv", "world.json",
)  # fmt: skip


def _bytes(root: Path) -> dict[str, bytes]:
    out = {name: (root / name).read_bytes() for name in FILES}
    out |= {f"keys/{p.name}": p.read_bytes() for p in sorted((root / "keys").iterdir())}
    return out


def test_same_seed_same_bytes(world, tmp_path: Path) -> None:
    again = make_world(tmp_path)
    assert _bytes(again.out) == _bytes(world.out)


def test_other_seed_other_bytes(world, tmp_path: Path) -> None:
    other = _bytes(make_world(tmp_path, seed=world.config.seed + 1).out)
    mine = _bytes(world.out)
    for name in FILES:
        assert other[name] != mine[name], name
    assert set(k for k in other if k.startswith("keys/")) != set(
        k for k in mine if k.startswith("keys/")
    )
