"""The kernels tools/bench_sizes.py writes: each the fixture it names with the one case
line of the size (and, for the matmul, the autotune list of Triton's tutorial 03)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
try:
    import bench_sizes
finally:
    sys.path.remove(str(ROOT / "tools"))


@pytest.mark.parametrize("row", bench_sizes.ROWS, ids=lambda row: row.name)
def test_each_size_is_the_fixture_with_one_case_line(row) -> None:
    original = (bench_sizes.FIXTURES / row.fixture).read_text()
    for case in (row.small, row.real):
        text = bench_sizes.with_case(row.edit(original), case)
        ast.parse(text)
        cases = [line for line in text.splitlines() if line.startswith("# stile: case ")]
        assert cases == [f"# stile: case {case}"]
        # every other line of the fixture is kept, in order
        rest = [line for line in original.splitlines() if not line.startswith("# stile: case ")]
        kept = [line for line in text.splitlines() if not line.startswith("# stile: case ")]
        if row.name != "matmul":
            assert kept == rest


def test_the_matmul_checks_every_config_of_the_tutorials_autotune_list() -> None:
    text = bench_sizes._tutorial_configs((bench_sizes.FIXTURES / "matmul.py").read_text())
    module = ast.parse(text)
    (function,) = [
        node
        for node in module.body
        if isinstance(node, ast.FunctionDef) and node.name == "get_autotune_config"
    ]
    configs = function.body[0].value.elts  # type: ignore[attr-defined]
    found = []
    for call in configs:
        meta = ast.literal_eval(call.args[0])
        keywords = {k.arg: ast.literal_eval(k.value) for k in call.keywords}
        found.append(
            (
                meta["BLOCK_SIZE_M"],
                meta["BLOCK_SIZE_N"],
                meta["BLOCK_SIZE_K"],
                meta["GROUP_SIZE_M"],
                keywords["num_stages"],
                keywords["num_warps"],
            )
        )
    assert found == bench_sizes.TUTORIAL_MATMUL_CONFIGS
    assert len(found) == 8
