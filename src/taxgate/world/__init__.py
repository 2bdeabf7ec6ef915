"""The synthetic world: people, their filings, a signed request batch about some of them, and the
ground truth."""

from taxgate.world.build import WorldConfig, WorldPaths, WorldSummary, build_world
from taxgate.world.cases import CASES, Case

__all__ = ["CASES", "Case", "WorldConfig", "WorldPaths", "WorldSummary", "build_world"]
