"""Where the shipped search spaces (``search_spaces/*.yaml``) are found."""

from __future__ import annotations

from pathlib import Path

SHIPPED_SPACES = Path(__file__).resolve().parents[3] / "search_spaces"


def shipped_space_names() -> list[str]:
    """The file names of the shipped spaces, sorted (what a "not found" error lists)."""
    return sorted(p.name for p in SHIPPED_SPACES.glob("*.yaml"))


def resolve_space_path(path: str | Path) -> Path:
    """``path`` as given if it exists, else the shipped space of that file name (so
    ``search.space: search_spaces/segmentation-cpu.yaml`` works from any directory)."""
    path = Path(path)
    if path.is_absolute() or path.exists():
        return path
    shipped = SHIPPED_SPACES / path.name
    return shipped if shipped.is_file() else path
