"""``# stile:`` annotations: what they declare, and every error at its own column."""

from __future__ import annotations

import textwrap

import libcst as cst
import numpy as np
import pytest

from stile_static.check.checker import check_source
from stile_static.ir.terms import Load
from stile_static.prover.evaluator import evaluate
from stile_static.spec.annotations import (
    Case,
    annotation_diagnostics,
    configurations,
    configure,
    find_annotations,
    is_annotated,
    searched_cases,
)
from stile_static.spec.parser import InputInfo

SOFTMAX = """\
import triton

# stile: y = softmax[N](x[M N])
# stile: case M=7 N=100
# stile: case M=16 N=64
def softmax(x, y):
    return y
"""


def source(text: str) -> str:
    return textwrap.dedent(text)


def only(text: str):  # noqa: ANN201 - the one annotation of a file
    found = find_annotations(source(text), "k.py")
    assert found.diagnostics == ()
    (annotation,) = found.annotations
    return annotation


def errors(text: str) -> list[tuple[int, int, str, str]]:
    """(line, column, code, message) of every annotation error of ``text``."""
    found = annotation_diagnostics(source(text), "k.py")
    return [(d.span.line, d.span.column, d.code, d.message) for d in found]


def column_of(text: str, line: int, piece: str) -> int:
    return source(text).splitlines()[line - 1].index(piece) + 1


# ---------------------------------------------------------------- what an annotation says


def test_softmax_annotation() -> None:
    a = only(SOFTMAX)
    assert a.name == "softmax"
    assert a.params == ("x", "y")
    assert [str(o.target) for o in a.outputs] == ["y"]
    assert a.tensors == (InputInfo("x", ("M", "N")),)
    assert a.scalars == ()
    assert a.dims == ("M", "N")
    assert [c.dims for c in a.cases] == [(("M", 7), ("N", 100)), (("M", 16), ("N", 64))]
    assert isinstance(a.function, cst.FunctionDef)
    (output,) = a.outputs
    assert output.text == "softmax[N](x[M N])"
    assert (output.span.line, output.span.column) == (3, column_of(SOFTMAX, 3, "softmax["))


def test_configurations_parse_each_case() -> None:
    resolved = configurations(only(SOFTMAX))
    assert resolved.diagnostics == ()
    assert [c.sizes for c in resolved.configurations] == [{"M": 7, "N": 100}, {"M": 16, "N": 64}]
    config = resolved.configurations[0]
    (spec,) = config.specs
    assert spec.spec.out_dims == ("M", "N")
    x = np.random.default_rng(0).standard_normal((7, 100))
    got = evaluate(spec.spec.term, {"x": x}, ("M", "N"), config.sizes)
    want = np.exp(x) / np.exp(x).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(got, want, rtol=1e-12)


LAYER_NORM = """\
# a comment before the annotation is fine
# stile: return = (x[M N] - mean[N](x)) * rsqrt(var[N](x) + eps) * w[N]
# stile: assume x.stride(1) == 1
@triton.jit
# also between the decorators and the def
def layer_norm(x, w, eps=1e-5, *, BLOCK=None):
    pass
"""


def test_bare_uses_scalars_decorators_and_assumptions() -> None:
    a = only(LAYER_NORM)
    assert a.tensors == (InputInfo("x", ("M", "N")), InputInfo("w", ("N",)))
    assert a.scalars == ("eps",)
    assert a.inputs[-1] == InputInfo("eps", ())
    assert a.params == ("x", "w", "eps", "BLOCK")
    (assumption,) = a.assumptions
    assert assumption.text == "x.stride(1) == 1"
    assert isinstance(assumption.expression, cst.Comparison)
    assert assumption.span.column == column_of(LAYER_NORM, 3, "x.stride")
    (output,) = a.outputs
    assert output.target.is_return and output.target.index is None


def test_scalar_is_symbolic_unless_a_case_gives_it() -> None:
    text = LAYER_NORM.replace("# stile: assume", "# stile: case M=3 N=5 eps=0.5\n# stile: assume")
    a = only(text)
    (config,) = configurations(a).configurations
    assert "eps" not in [i.name for i in config.inputs]
    assert config.parameter_values == {"eps": 0.5}
    rng = np.random.default_rng(1)
    x, w = rng.standard_normal((3, 5)), rng.standard_normal(5)
    got = evaluate(config.specs[0].spec.term, {"x": x, "w": w}, ("M", "N"), config.sizes)
    want = (x - x.mean(1, keepdims=True)) / np.sqrt(x.var(1, keepdims=True) + 0.5) * w
    np.testing.assert_allclose(got, want, rtol=1e-12)
    symbolic = configurations(only(LAYER_NORM)).configurations[0]
    assert InputInfo("eps", ()) in symbolic.inputs
    assert Load("eps", ()) in _loads(symbolic.specs[0].spec.term)


def _loads(term) -> list:  # noqa: ANN001
    from stile_static.ir.terms import Binary, Reduce, Unary, Where

    if isinstance(term, Load):
        return [term]
    if isinstance(term, Unary):
        return _loads(term.arg)
    if isinstance(term, Binary):
        return _loads(term.left) + _loads(term.right)
    if isinstance(term, Reduce):
        return _loads(term.body)
    if isinstance(term, Where):
        return _loads(term.then) + _loads(term.other)
    return []


ATTENTION = """\
# stile: return[0] = softmax[Nk](where(Nk <= Nq, (q[Nq D], k[Nk D] -> Nq Nk), -inf))
# stile: return[1] = max[Nk](where(Nk <= Nq, (q, k -> Nq Nk), -inf))
# stile: case Nq=4 Nk=4 D=8 block_shape=(32, 32) causal=True mode='a b'
def attention(q, k, block_shape, causal, mode):
    pass
"""


def test_tuple_targets_and_parameter_values() -> None:
    a = only(ATTENTION)
    assert [(o.target.name, o.target.index) for o in a.outputs] == [("return", 0), ("return", 1)]
    (case,) = a.cases
    assert case.dims == (("Nq", 4), ("Nk", 4), ("D", 8))
    assert case.values == (("block_shape", (32, 32)), ("causal", True), ("mode", "a b"))
    (config,) = configurations(a).configurations
    assert [s.spec.out_dims for s in config.specs] == [("Nq", "Nk"), ("Nq",)]


def test_a_partial_case_searches_sizes_for_the_rest() -> None:
    text = ATTENTION.replace("Nq=4 Nk=4 D=8 ", "D=8 ")
    resolved = configurations(only(text), blocks=(32,))
    assert resolved.diagnostics == ()
    configs = resolved.configurations
    assert all(c.sizes["D"] == 8 for c in configs)
    assert all(c.case.chosen == ("Nq", "Nk") for c in configs)
    assert {c.sizes["Nq"] for c in configs} >= {1, 31, 32, 33, 63, 64, 65}
    (searched,) = {c.case.searched for c in configs}
    assert dict(searched)["Nq"] == tuple(sorted({c.sizes["Nq"] for c in configs}))
    assert all(c.sizes["Nq"] != c.sizes["Nk"] for c in configs)  # dims that differ differ


def test_searched_cases() -> None:
    cases = searched_cases(("M", "N", "K"), (128,))
    assert cases == searched_cases(["M", "N", "K"], (128,))  # deterministic
    for dim in ("M", "N", "K"):
        sizes = {dict(c.dims)[dim] for c in cases}
        # a single element, one below, at and above one and two blocks
        assert {1, 127, 128, 129, 255, 256, 257} <= sizes
    assert all(len({n for _, n in c.dims}) == 3 for c in cases)  # dims differ in a case
    biggest = [max(n for _, n in c.dims) for c in cases]
    assert biggest == sorted(biggest)  # smallest first: the first failure is the smallest
    assert searched_cases(()) == (Case(()),)
    # no block written anywhere: small sizes, a power of two and a ragged size
    assert {dict(c.dims)["N"] for c in searched_cases(("N",))} == {1, 3, 7, 64, 100}
    resolved = configurations(only(LAYER_NORM))
    expected = [c.dims for c in searched_cases(("M", "N"))]
    assert [c.dims for c in resolved.configurations] == expected


DIM_ASSUMPTIONS = """\
# stile: return = (q[Nq D], k[Nk D] -> Nq Nk)
# stile: assume Nk == Nq and D % 32 == 0
# stile: assume D <= 64
# stile: assume q.is_contiguous()
def attention(q, k):
    pass
"""


def test_assumptions_on_dims_filter_the_searched_sizes() -> None:
    a = only(DIM_ASSUMPTIONS)
    assert [x.condition is not None for x in a.assumptions] == [True, True, False]
    configs = configurations(a, blocks=(16,)).configurations
    assert configs
    for c in configs:
        assert c.sizes["Nk"] == c.sizes["Nq"]
        assert c.sizes["D"] % 32 == 0 and c.sizes["D"] <= 64
    assert {c.sizes["D"] for c in configs} == {32, 64}
    assert {c.sizes["Nq"] for c in configs} >= {1, 15, 16, 17}


def test_a_case_an_assumption_excludes_is_not_checked() -> None:
    text = DIM_ASSUMPTIONS.replace("def attention", "# stile: case Nq=8 Nk=8 D=48\ndef attention")
    resolved = configurations(only(text))
    assert resolved.configurations == ()
    assert sorted(d.code for d in resolved.diagnostics) == ["STL024", "STL045"]
    (warning,) = [d for d in resolved.diagnostics if d.code == "STL045"]
    assert "violates the assumption `D % 32 == 0`" not in warning.message  # the whole line
    assert "violates the assumption `Nk == Nq and D % 32 == 0`" in warning.message
    assert warning.span.line == 5 and warning.related[0][0].line == 2


def test_is_annotated() -> None:
    assert is_annotated(SOFTMAX)
    assert is_annotated(cst.parse_module(SOFTMAX))
    assert not is_annotated("x = 1  # stile: ignore[STL031]\n# stile: ignore\n")
    assert not is_annotated('s = "# stile: y = x"\n')
    assert not is_annotated("import stile\n")


# ---------------------------------------------------------------- errors, each at its column

BAD_TARGET = """\
# stile: yy = 2 * x[M N]
def f(x, y):
    pass
"""


@pytest.mark.parametrize(
    ("text", "line", "piece", "code", "message"),
    [
        (BAD_TARGET, 1, "yy", "STL023", "`yy` is not a parameter of the function"),
        (
            "# stile: y = 2 * x[M N]\n# stile: frob M=1\ndef f(x, y):\n    pass\n",
            2,
            "frob",
            "STL023",
            "cannot read this `# stile:` line",
        ),
        (
            "# stile: y = 2 * x[M N]\n# stile: case M=(1,\ndef f(x, y):\n    pass\n",
            2,
            "(1,",
            "STL023",
            "`(1,` is not a Python literal",
        ),
        (
            "# stile: y = 2 * x[M N]\n# stile: case M=7 N=-1\ndef f(x, y):\n    pass\n",
            2,
            "-1",
            "STL023",
            "the size of dim `N` must be a positive integer",
        ),
        (
            "# stile: y = 2 * x[M N]\n# stile: case M=7 Q=3\ndef f(x, y):\n    pass\n",
            2,
            "Q",
            "STL023",
            "`Q` is neither a dim nor a parameter",
        ),
        (
            "# stile: y = 2 * x[M N]\n# stile: case M=7 N 3\ndef f(x, y):\n    pass\n",
            2,
            "N 3",
            "STL023",
            "expected `NAME=VALUE`",
        ),
        (
            "# stile: y = 2 * x[M N]\n# stile: case x=3\ndef f(x, y):\n    pass\n",
            2,
            "x=3",
            "STL023",
            "`x` is a tensor in the spec",
        ),
        (
            "# stile: y = eps * x[M N]\n# stile: case eps='a'\ndef f(x, y, eps):\n    pass\n",
            2,
            "'a'",
            "STL023",
            "`eps` is a scalar in the spec",
        ),
        (
            "# stile: y = 2 * x[M N]\n# stile: assume x.(\ndef f(x, y):\n    pass\n",
            2,
            "(",
            "STL023",
            "cannot parse the assumption",
        ),
        (
            "# stile: y = 2 * x[M N]\n# stile: y = 3 * x\ndef f(x, y):\n    pass\n",
            2,
            "y",
            "STL023",
            "`y` already has a spec on line 1",
        ),
        (
            "# stile: return[a] = 2 * x[M N]\ndef f(x, y):\n    pass\n",
            1,
            "a]",
            "STL023",
            "`return[a]`",
        ),
        (
            "# stile: case M=7\ndef f(x, y):\n    pass\n",
            1,
            "case",
            "STL023",
            "has no output line",
        ),
        (
            "# stile: y = 2 * x[M N]\n\ndef f(x, y):\n    pass\n",
            1,
            "y =",
            "STL023",
            "must be directly above a top-level function",
        ),
        (
            "def f(x, y):\n    # stile: y = 2 * x[M N]\n    def g(x, y):\n        pass\n",
            2,
            "y =",
            "STL023",
            "must be directly above a top-level function",
        ),
        ("x = 1\n# stile: y = 2 * x[M N]\n", 2, "y =", "STL023", "directly above"),
        (
            "# stile: y = sum[N](xx[M N])\ndef f(x, y):\n    pass\n",
            1,
            "xx",
            "STL022",
            "`xx` is neither a parameter nor a dim",
        ),
        (
            "# stile: y = 2 * x[M N] + where(Q < 3, x, 0)\ndef f(x, y):\n    pass\n",
            1,
            "Q <",
            "STL022",
            "`Q` is neither a parameter nor a dim",
        ),
        (
            "# stile: y = x[M N] + x[M K]\ndef f(x, y):\n    pass\n",
            1,
            "x[M K]",
            "STL022",
            "`x` has dims (M N) in this annotation, not (M K)",
        ),
        (
            "# stile: y = 2 * x[M N] +\ndef f(x, y):\n    pass\n",
            1,
            "\n",
            "STL020",
            "expected an expression, found end of spec",
        ),
        (
            "# stile: y = (a[M N] + b[M N] -> M) + M N\ndef f(a, b, y):\n    pass\n",
            1,
            "M N\n",
            "STL021",
            "fits more than one input",
        ),
        (
            "# stile: y = sum[N](x[M N[0:64]])\n# stile: case M=3 N=7\ndef f(x, y):\n    pass\n",
            1,
            "N[0:64]",
            "STL022",
            "outside N's extent",
        ),
    ],
)
def test_errors_point_at_their_column(
    text: str, line: int, piece: str, code: str, message: str
) -> None:
    found = errors(text)
    assert len(found) == 1, found
    (got_line, got_column, got_code, got_message) = found[0]
    lines = (text + "\n").splitlines(keepends=True)
    assert (got_line, got_code) == (line, code)
    assert got_column == lines[line - 1].index(piece) + 1
    assert message in got_message


def test_did_you_mean_help() -> None:
    (d,) = annotation_diagnostics(source(BAD_TARGET), "k.py")
    assert d.help == "did you mean `y`?"
    text = "# stile: y = sum[N](xx[M N])\ndef f(x, y):\n    pass\n"
    (d,) = annotation_diagnostics(text, "k.py")
    assert d.help == "did you mean `x`?"


def test_a_bad_line_drops_the_annotation_but_reports_once() -> None:
    text = "# stile: y = sum[N](xx[M N])\n# stile: case M=3 N=4\ndef f(x, y):\n    pass\n"
    found = find_annotations(text, "k.py")
    assert found.annotations == ()
    assert [d.code for d in found.diagnostics] == ["STL022"]


def test_several_functions_and_a_suppression() -> None:
    text = SOFTMAX + "\n\n" + LAYER_NORM + "\nz = 1  # stile: ignore[STL031]\n"
    found = find_annotations(text, "k.py")
    assert found.diagnostics == ()
    assert [a.name for a in found.annotations] == ["softmax", "layer_norm"]


def test_configure_needs_every_dim() -> None:
    a = only(SOFTMAX)
    with pytest.raises(ValueError, match="N"):
        configure(a, Case((("M", 3),)))


# ---------------------------------------------------------------- the checker


def test_checker_reports_annotation_errors_without_a_front_end() -> None:
    report = check_source(BAD_TARGET, "k.py")
    assert report.is_kernel
    assert [d.code for d in report.diagnostics] == ["STL023"]


def test_checker_treats_an_annotated_file_as_a_kernel_file() -> None:
    assert check_source(SOFTMAX, "k.py").is_kernel
    assert not check_source("x = 1  # stile: ignore[STL031]\n", "k.py").is_kernel


def test_a_comment_after_an_annotation_is_not_part_of_it() -> None:
    text = (
        "# stile: y = 2 * x[M N]  # doubled\n"
        "# stile: case M=3 N=4 mode='a # b'  # a note\n"
        "def f(x, y, mode):\n    pass\n"
    )
    a = only(text)
    assert a.outputs[0].text == "2 * x[M N]"
    assert a.cases[0].values == (("mode", "a # b"),)


# ---------------------------------------------------------------- `# stile: input NAME[DIMS]`

SHAPED_LIKE = """\
import triton

# stile: return = 2 * x[N]
# stile: input like[N]
def f(x, like):
    return like
"""


def test_an_input_line_declares_an_array_no_spec_names() -> None:
    a = only(SHAPED_LIKE)
    assert a.tensors == (InputInfo("like", ("N",)), InputInfo("x", ("N",)))
    assert a.scalars == ()
    assert [str(o.target) for o in a.outputs] == ["return"]


def test_an_input_line_must_name_a_parameter_with_dims() -> None:
    wrong_name = SHAPED_LIKE.replace("input like[N]", "input lik[N]")
    ((line, column, code, message),) = errors(wrong_name)
    assert (line, code) == (4, "STL023")
    assert column == column_of(wrong_name, 4, "lik[")
    assert "`lik` is not a parameter" in message
    ((_, _, code, message),) = errors(SHAPED_LIKE.replace("input like[N]", "input like"))
    assert code == "STL023" and "cannot read this `input` line" in message
    ((_, _, code, message),) = errors(SHAPED_LIKE.replace("input like[N]", "input like[N:4]"))
    assert code == "STL023" and "must be dim names" in message


def test_an_input_line_and_a_spec_must_agree_on_the_dims() -> None:
    clash = SHAPED_LIKE.replace("2 * x[N]", "2 * x[N] + like[M]")
    ((_, _, _, message),) = errors(clash)
    assert "has dims (N)" in message


# ---------------------------------------------------------------- `# stile: dtype NAME=TYPE`


def test_a_dtype_line_gives_tensors_their_element_types() -> None:
    a = only(SHAPED_LIKE.replace("# stile: input like[N]", "# stile: dtype x=float16 like=int64"))
    assert a.dtypes == (("x", "float16"), ("like", "int64"))
    assert only(SHAPED_LIKE).dtypes == ()


@pytest.mark.parametrize(
    ("line", "found", "where"),
    [
        ("dtype y=float16", "`y` is not a parameter", "y="),
        ("dtype x=float17", "unknown dtype `float17`", "float17"),
        ("dtype x=float16 x=float32", "`x` has a dtype already", "x=float32"),
        ("dtype x", "cannot read this `dtype` line", " x"),
    ],
)
def test_a_bad_dtype_line_is_an_error_at_its_column(line: str, found: str, where: str) -> None:
    text = SHAPED_LIKE.replace("input like[N]", line)
    ((number, column, code, message),) = errors(text)
    assert (number, code) == (4, "STL023")
    assert found in message
    assert column == column_of(text, 4, where)
