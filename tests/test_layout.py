"""The package's layout is its pipeline: every import goes from a stage to an earlier one."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "stile_static"

# Earliest first. A module may import its own stage and earlier ones, never a later one.
STAGES = ("core", "ir", "spec", "interpreter", "frontends", "prover", "check", "report")


def stage_of(module: Path) -> str | None:
    parts = module.relative_to(PACKAGE).parts
    return parts[0] if len(parts) > 1 else None


def imported_stages(module: Path, package: Path = PACKAGE) -> list[tuple[int, str]]:
    """(line, stage) of every import of a package module, type-only imports included."""
    tree = ast.parse(module.read_text())
    here = module.relative_to(package).parts[:-1]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = list(here[: len(here) - (node.level - 1)])
                names = (node.module or "").split(".") if node.module else []
                target = base + [n for n in names if n]
                if not target:  # `from . import x` at the top: x is a stage
                    target = [node.names[0].name]
            elif node.module and node.module.startswith("stile_static."):
                target = node.module.split(".")[1:]
            else:
                continue
            found.append((node.lineno, target[0]))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("stile_static."):
                    found.append((node.lineno, alias.name.split(".")[1]))
    return found


def test_every_module_lives_in_a_stage() -> None:
    loose = [p.name for p in PACKAGE.glob("*.py") if p.name not in ("__init__.py", "__main__.py")]
    assert loose == [], f"modules outside a stage folder: {loose}"
    folders = sorted(p.name for p in PACKAGE.iterdir() if p.is_dir() and p.name != "__pycache__")
    assert sorted(STAGES) == folders


def test_imports_flow_one_way() -> None:
    wrong = []
    for module in sorted(PACKAGE.rglob("*.py")):
        stage = stage_of(module)
        if stage is None:
            continue  # __main__ is the entry point
        for line, target in imported_stages(module):
            if target in STAGES and STAGES.index(target) > STAGES.index(stage):
                wrong.append(f"{module.relative_to(PACKAGE)}:{line} imports {target}")
    assert wrong == []


def test_the_check_finds_a_backward_import(tmp_path: Path) -> None:
    """The test above could fail: a backward import is found."""
    module = PACKAGE / "ir" / "terms.py"
    source = module.read_text() + "\nfrom ..prover import canon\n"
    copy = tmp_path / "stile_static" / "ir" / "terms.py"
    copy.parent.mkdir(parents=True)
    copy.write_text(source)
    targets = [t for _, t in imported_stages(copy, tmp_path / "stile_static")]
    assert "prover" in targets
