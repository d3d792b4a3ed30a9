"""The long documentation of each diagnostic code: why it matters, an example, a fix.

In the style of ruff's rule docs. CODES (diagnostics.py) has the one-line name
and summary; this module adds the text that SARIF puts in each rule's help and
that ``stile-static rule CODE`` prints. Every example is a whole kernel file, and
tests/test_rule_docs.py checks that it gets its code and that the fix gets none.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

from ..core.diagnostics import CODES


@dataclass(frozen=True)
class RuleDoc:
    why: str
    example: str
    instead: str | None = None  # the example, corrected


def _code(text: str) -> str:
    """An example as it is written below: indented, after a newline."""
    return textwrap.dedent(text).lstrip("\n")


RULE_DOCS: dict[str, RuleDoc] = {
    "STL001": RuleDoc(
        why=(
            "The analyzer only proves what it can read. A path that does not exist, a file that "
            "is not UTF-8 text or a file that is not valid Python gets no verdict at all, so it "
            "is an error and never a silent pass."
        ),
        example=_code(
            """
            from stile import dim

            M = dim("M", 8  # the call is never closed
            """
        ),
        instead=_code(
            """
            from stile import dim

            M = dim("M", 8)
            """
        ),
    ),
    "STL002": RuleDoc(
        why=(
            "A construct the abstract interpreter cannot follow (a `while` loop, I/O, a call to "
            "an unknown function) could change any tile. Skipping it would make every later proof "
            "meaningless, so it is reported where it is. Write loops as `range` loops and keep "
            "side effects out of kernel files."
        ),
        example=_code(
            """
            from stile import dim
            import stile.numpy as tnp

            M = dim("M", 8)
            x = tnp.randn(M)
            out = tnp.TypedResult("2 * M")

            scale, i = 1, 0
            while i < 1:
                scale, i = scale * 2, i + 1
            out.assign(x * scale)
            """
        ),
        instead=_code(
            """
            from stile import dim
            import stile.numpy as tnp

            M = dim("M", 8)
            x = tnp.randn(M)
            out = tnp.TypedResult("2 * M")

            scale = 1
            for i in range(0, 1):
                scale = scale * 2
            out.assign(x * scale)
            """
        ),
    ),
    "STL003": RuleDoc(
        why=(
            "A name used before it is defined would raise `NameError` when the kernel runs; "
            "statically it has no tile type and no value, so nothing computed from it can be "
            "checked."
        ),
        example=_code(
            """
            from stile import dim
            import stile.numpy as tnp

            M = dim("M", 8)
            x = tnp.randn(M)
            out = tnp.TypedResult("2 * M")

            out.assign(x * scale)
            """
        ),
        instead=_code(
            """
            from stile import dim
            import stile.numpy as tnp

            M = dim("M", 8)
            x = tnp.randn(M)
            out = tnp.TypedResult("2 * M")
            scale = 2

            out.assign(x * scale)
            """
        ),
    ),
    "STL004": RuleDoc(
        why=(
            "Where Python would raise (a float where `range` wants an int, a division by zero, "
            "a float overflow, an unbound local variable, a call with the wrong arguments), the "
            "kernel stops there when it runs: nothing after it happens, so nothing after it can "
            "be verified. The diagnostic points at the expression that raises."
        ),
        example=_code(
            """
            from stile import dim
            import stile.numpy as tnp

            M = dim("M", 8)
            x = tnp.randn(M)
            out = tnp.TypedResult("M")
            T = 8 / 2  # the float 4.0

            for i in range(0, 8, T):
                out.assign(x.slice(M, i, i + T))
            """
        ),
        instead=_code(
            """
            from stile import dim
            import stile.numpy as tnp

            M = dim("M", 8)
            x = tnp.randn(M)
            out = tnp.TypedResult("M")
            T = 8 // 2

            for i in range(0, 8, T):
                out.assign(x.slice(M, i, i + T))
            """
        ),
    ),
    "STL005": RuleDoc(
        why=(
            "Triton and JAX check a kernel when they compile it: a `program_id` axis outside 0..2, "
            "an `arange` whose size is not a power of two, a `dot` below the hardware's minimum "
            "shape. Such a kernel never runs, whatever the analyzer could prove about the values "
            "it would compute, so it is an error at the expression the compiler rejects."
        ),
        example=_code(
            """
            import triton
            import triton.language as tl


            @triton.jit
            def double_kernel(x_ptr, y_ptr, n, BLOCK: tl.constexpr):
                offs = tl.program_id(3) * BLOCK + tl.arange(0, BLOCK)
                tl.store(y_ptr + offs, 2 * tl.load(x_ptr + offs, mask=offs < n), mask=offs < n)


            # stile: y = 2 * x[N]
            # stile: case N=100
            def double(x, y):
                n = x.shape[0]
                double_kernel[(triton.cdiv(n, 64),)](x, y, n, BLOCK=64)
                return y
            """
        ),
        instead=_code(
            """
            import triton
            import triton.language as tl


            @triton.jit
            def double_kernel(x_ptr, y_ptr, n, BLOCK: tl.constexpr):
                offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
                tl.store(y_ptr + offs, 2 * tl.load(x_ptr + offs, mask=offs < n), mask=offs < n)


            # stile: y = 2 * x[N]
            # stile: case N=100
            def double(x, y):
                n = x.shape[0]
                double_kernel[(triton.cdiv(n, 64),)](x, y, n, BLOCK=64)
                return y
            """
        ),
    ),
    "STL010": RuleDoc(
        why=(
            "NumPy broadcasts or silently transposes operands whose shapes happen to fit: an `M "
            "N` tile plus an `N M` tile is accepted when M and N have the same size, and adds the "
            "wrong elements. Stile only combines tiles with the same dims in the same order; "
            "`rearrange` says which order you mean."
        ),
        example=_code(
            """
            from stile import dim
            import stile.numpy as tnp

            M, N = dim("M", 8), dim("N", 8)
            x = tnp.randn(M, N)
            y = tnp.randn(N, M)
            out = tnp.TypedResult("x[M N] + y[M N]")

            out.assign(x + y)
            """
        ),
        instead=_code(
            """
            from stile import dim
            import stile.numpy as tnp

            M, N = dim("M", 8), dim("N", 8)
            x = tnp.randn(M, N)
            y = tnp.randn(N, M)
            out = tnp.TypedResult("x[M N] + y[M N]")

            out.assign(x + y.rearrange(M, N))
            """
        ),
    ),
    "STL011": RuleDoc(
        why=(
            "Two tiles with the same dims but different slices hold different rows or columns: "
            "adding them combines elements that do not belong together, the classic "
            "off-by-one-tile indexing bug. Both operands must cover the same slice of every dim."
        ),
        example=_code(
            """
            from stile import dim
            import stile.numpy as tnp

            M, N = dim("M", 8), dim("N", 8)
            x = tnp.randn(M, N)
            y = tnp.randn(M, N)
            out = tnp.TypedResult("x[M N] + y[M N]")

            for im in range(0, 8, 4):
                out.assign(x.slice(M, im, im + 4) + y.slice(M, 4 - im, 8 - im))
            """
        ),
        instead=_code(
            """
            from stile import dim
            import stile.numpy as tnp

            M, N = dim("M", 8), dim("N", 8)
            x = tnp.randn(M, N)
            y = tnp.randn(M, N)
            out = tnp.TypedResult("x[M N] + y[M N]")

            for im in range(0, 8, 4):
                out.assign(x.slice(M, im, im + 4) + y.slice(M, im, im + 4))
            """
        ),
    ),
    "STL012": RuleDoc(
        why=(
            "`slice` is relative to the tile's current slice. A slice that leaves it reads memory "
            "the tile does not own (out of bounds on a GPU, a silently shorter array in NumPy), "
            "and an empty slice computes nothing."
        ),
        example=_code(
            """
            from stile import dim
            import stile.numpy as tnp

            M, N = dim("M", 8), dim("N", 8)
            x = tnp.randn(M, N)

            rows = x.slice(M, 0, 4)
            last = rows.slice(M, 2, 6)
            """
        ),
        instead=_code(
            """
            from stile import dim
            import stile.numpy as tnp

            M, N = dim("M", 8), dim("N", 8)
            x = tnp.randn(M, N)

            rows = x.slice(M, 0, 4)
            last = rows.slice(M, 2, 4)
            """
        ),
    ),
    "STL013": RuleDoc(
        why=(
            "A dim is a name with one size. Defining it again with another size would make two "
            "tiles that both say `M` disagree on how many rows they have."
        ),
        example=_code(
            """
            from stile import dim
            import stile.numpy as tnp

            M, N = dim("M", 8), dim("N", 8)
            M_big = dim("M", 16)
            """
        ),
        instead=_code(
            """
            from stile import dim
            import stile.numpy as tnp

            M, N = dim("M", 8), dim("N", 8)
            M_big = dim("M_big", 16)
            """
        ),
    ),
    "STL014": RuleDoc(
        why=(
            "`repeat` adds a new leading dim (a broadcast). Repeating a dim the tile already has "
            "would give it the same dim twice, which no spec can describe; usually the broadcast "
            "was meant along another dim."
        ),
        example=_code(
            """
            from stile import dim
            import stile.numpy as tnp

            M, N = dim("M", 8), dim("N", 8)
            K = dim("K", 8)
            x = tnp.randn(M, N)

            wide = x.repeat(M)
            """
        ),
        instead=_code(
            """
            from stile import dim
            import stile.numpy as tnp

            M, N = dim("M", 8), dim("N", 8)
            K = dim("K", 8)
            x = tnp.randn(M, N)

            wide = x.repeat(K)
            """
        ),
    ),
    "STL015": RuleDoc(
        why=(
            "An einsum string that lists an operand's dims in another order, or operands that "
            "cover different slices of the contracted dim, multiplies the wrong elements; with "
            "square tiles NumPy runs it without complaint."
        ),
        example=_code(
            """
            from stile import dim
            import stile.numpy as tnp

            M, N = dim("M", 8), dim("N", 8)
            K = dim("K", 8)
            a = tnp.randn(M, N)
            b = tnp.randn(N, K)

            c = tnp.einsum(a, b, "N M, N K -> M K")
            """
        ),
        instead=_code(
            """
            from stile import dim
            import stile.numpy as tnp

            M, N = dim("M", 8), dim("N", 8)
            K = dim("K", 8)
            a = tnp.randn(M, N)
            b = tnp.randn(N, K)

            c = tnp.einsum(a, b, "M N, N K -> M K")
            """
        ),
    ),
    "STL016": RuleDoc(
        why=(
            "Reducing or rearranging by a dim the tile does not have means the code has lost "
            "track of which dims the tile carries; the result would not be what the name says."
        ),
        example=_code(
            """
            from stile import dim
            import stile.numpy as tnp

            M, N = dim("M", 8), dim("N", 8)
            K = dim("K", 8)
            x = tnp.randn(M, N)

            totals = x.sum(K)
            """
        ),
        instead=_code(
            """
            from stile import dim
            import stile.numpy as tnp

            M, N = dim("M", 8), dim("N", 8)
            K = dim("K", 8)
            x = tnp.randn(M, N)

            totals = x.sum(N)
            """
        ),
    ),
    "STL020": RuleDoc(
        why=(
            "A result whose specification does not parse has nothing to be proven against. The "
            "diagnostic points at the column inside the string."
        ),
        example=_code(
            """
            from stile import dim
            import stile.numpy as tnp

            M, N = dim("M", 8), dim("N", 8)
            x = tnp.randn(M, N)
            out = tnp.TypedResult("sum[N](M N")

            out.assign(x.sum(N))
            """
        ),
        instead=_code(
            """
            from stile import dim
            import stile.numpy as tnp

            M, N = dim("M", 8), dim("N", 8)
            x = tnp.randn(M, N)
            out = tnp.TypedResult("sum[N](M N)")

            out.assign(x.sum(N))
            """
        ),
    ),
    "STL021": RuleDoc(
        why=(
            "A bare dim list such as `M N` names *the* input with those dims. When two inputs "
            "have the same dims (K and V in attention) it could mean either, and proving the "
            "kernel against the wrong one is worse than no proof. Name the input: `a[M N]`."
        ),
        example=_code(
            """
            from stile import dim
            import stile.numpy as tnp

            M, N = dim("M", 8), dim("N", 8)
            a = tnp.randn(M, N)
            b = tnp.randn(M, N)
            out = tnp.TypedResult("2 * M N")

            out.assign(a * 2)
            """
        ),
        instead=_code(
            """
            from stile import dim
            import stile.numpy as tnp

            M, N = dim("M", 8), dim("N", 8)
            a = tnp.randn(M, N)
            b = tnp.randn(M, N)
            out = tnp.TypedResult("2 * a[M N]")

            out.assign(a * 2)
            """
        ),
    ),
    "STL022": RuleDoc(
        why=(
            "A spec that names a dim or input the file does not define, or uses a dim where it "
            "cannot appear, does not describe any computation on this kernel's inputs."
        ),
        example=_code(
            """
            from stile import dim
            import stile.numpy as tnp

            M, N = dim("M", 8), dim("N", 8)
            x = tnp.randn(M, N)
            out = tnp.TypedResult("sum[Q](M N)")

            out.assign(x.sum(N))
            """
        ),
        instead=_code(
            """
            from stile import dim
            import stile.numpy as tnp

            M, N = dim("M", 8), dim("N", 8)
            x = tnp.randn(M, N)
            out = tnp.TypedResult("sum[N](M N)")

            out.assign(x.sum(N))
            """
        ),
    ),
    "STL023": RuleDoc(
        why=(
            "The `# stile:` lines above a Triton or Pallas wrapper are its specification: which "
            "output equals what, for which sizes, under which assumptions. A line that cannot be "
            "read (a target that is not a parameter, an unknown keyword, a case value that is not "
            "a literal, an annotation not directly above a function) would leave the wrapper "
            "checked against less than its author wrote, so it is an error at its own column."
        ),
        example=_code(
            """
            import triton
            import triton.language as tl


            @triton.jit
            def copy_kernel(x_ptr, y_ptr, n, BLOCK: tl.constexpr):
                offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
                tl.store(y_ptr + offs, tl.load(x_ptr + offs, mask=offs < n), mask=offs < n)


            # stile: y = x[N]
            # stile: case N=hundred
            def copy(x, y):
                n = x.numel()
                copy_kernel[(triton.cdiv(n, 32),)](x, y, n, BLOCK=32)
                return y
            """
        ),
        instead=_code(
            """
            import triton
            import triton.language as tl


            @triton.jit
            def copy_kernel(x_ptr, y_ptr, n, BLOCK: tl.constexpr):
                offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
                tl.store(y_ptr + offs, tl.load(x_ptr + offs, mask=offs < n), mask=offs < n)


            # stile: y = x[N]
            # stile: case N=100
            def copy(x, y):
                n = x.numel()
                copy_kernel[(triton.cdiv(n, 32),)](x, y, n, BLOCK=32)
                return y
            """
        ),
    ),
    "STL024": RuleDoc(
        why=(
            "A check that checks nothing must not pass. When the wrapper's own preconditions "
            "(an `assert` or an `if ... raise` on the sizes) or its `assume` lines on dims reject "
            "every case tried, the case lines or every size searched for dims no case line "
            "gives, no configuration runs and no obligation exists: the file would otherwise "
            "pass with 0 obligations verified. The error, at the first `# stile:` line, lists "
            "each case and the precondition that rejected it (each case line also has its "
            "STL045 warning). When some cases run, the rejected case lines are only STL045 "
            "warnings, and rejected searched sizes are skipped."
        ),
        example=_code(
            """
            import triton
            import triton.language as tl


            @triton.jit
            def double_kernel(x_ptr, y_ptr, n, BLOCK: tl.constexpr):
                offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
                tl.store(y_ptr + offs, 2 * tl.load(x_ptr + offs, mask=offs < n), mask=offs < n)


            # stile: y = 2 * x[N]
            # stile: case N=100
            # stile: case N=1000
            def double(x, y):
                n = x.shape[0]
                assert n % 256 == 0, "n must be a multiple of 256"
                double_kernel[(n // 256,)](x, y, n, BLOCK=256)
                return y
            """
        ),
        instead=_code(
            """
            import triton
            import triton.language as tl


            @triton.jit
            def double_kernel(x_ptr, y_ptr, n, BLOCK: tl.constexpr):
                offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
                tl.store(y_ptr + offs, 2 * tl.load(x_ptr + offs, mask=offs < n), mask=offs < n)


            # stile: y = 2 * x[N]
            # stile: case N=512
            def double(x, y):
                n = x.shape[0]
                assert n % 256 == 0, "n must be a multiple of 256"
                double_kernel[(n // 256,)](x, y, n, BLOCK=256)
                return y
            """
        ),
    ),
    "STL030": RuleDoc(
        why=(
            "The tile written to a result must have exactly the result's dims in the spec's "
            "order. A tile that still carries a reduction dim, or is transposed, would be written "
            "to the wrong elements."
        ),
        example=_code(
            """
            from stile import dim
            import stile.numpy as tnp

            M, N = dim("M", 8), dim("N", 8)
            x = tnp.randn(M, N)
            out = tnp.TypedResult("sum[N](M N)")

            out.assign(x)
            """
        ),
        instead=_code(
            """
            from stile import dim
            import stile.numpy as tnp

            M, N = dim("M", 8), dim("N", 8)
            x = tnp.randn(M, N)
            out = tnp.TypedResult("sum[N](M N)")

            out.assign(x.sum(N))
            """
        ),
    ),
    "STL031": RuleDoc(
        why=(
            "The kernel computes something other than its spec, and NumPy found inputs where the "
            "two differ: this is a wrong kernel, not a missing proof. The notes show the "
            "simplified kernel expression beside the spec and a counterexample."
        ),
        example=_code(
            """
            from stile import dim
            import stile.numpy as tnp

            M, N = dim("M", 8), dim("N", 8)
            x = tnp.randn(M, N)
            out = tnp.TypedResult("6 * M N")

            out.assign(x * 2 * 2)
            """
        ),
        instead=_code(
            """
            from stile import dim
            import stile.numpy as tnp

            M, N = dim("M", 8), dim("N", 8)
            x = tnp.randn(M, N)
            out = tnp.TypedResult("6 * M N")

            out.assign(x * 2 * 3)
            """
        ),
    ),
    "STL032": RuleDoc(
        why=(
            "A reduction loop that stops one tile early (or runs one tile too far) gives "
            "plausible numbers on a smoke test. The message names the range the kernel covered "
            "and the range the spec asks for."
        ),
        example=_code(
            """
            from stile import dim
            import stile.numpy as tnp

            M, N = dim("M", 8), dim("N", 12)
            x = tnp.randn(M, N)
            out = tnp.TypedResult("sum[N](M N)")

            total = 0
            for jn in range(0, 8, 4):
                total = total + x.slice(N, jn, jn + 4).sum(N)
            out.assign(total)
            """
        ),
        instead=_code(
            """
            from stile import dim
            import stile.numpy as tnp

            M, N = dim("M", 8), dim("N", 12)
            x = tnp.randn(M, N)
            out = tnp.TypedResult("sum[N](M N)")

            total = 0
            for jn in range(0, 12, 4):
                total = total + x.slice(N, jn, jn + 4).sum(N)
            out.assign(total)
            """
        ),
    ),
    "STL033": RuleDoc(
        why=(
            "No proof was found, and NumPy finds no difference on random inputs. The kernel may "
            'well be right, but "verified" must mean proven, so this stays an error. A constant '
            "is the number it spells: the decimal `1.4142135623730951` is not `sqrt(2)`, while "
            "`math.sqrt(2)` is kept exact and is. Simplify the kernel expression, or state an "
            "intermediate `assert_equivalent` the prover can use. In a Triton or Pallas "
            "kernel, write the spec the way the kernel computes it (`exp2(x * log2(e))` for a "
            "kernel that calls `exp2`), and pass a constant the kernel would spell as a decimal "
            "as a wrapper parameter that the spec names (`x[N] * scale`)."
        ),
        example=_code(
            """
            from stile import dim
            import stile.numpy as tnp

            M = dim("M", 8)
            x = tnp.randn(M)
            out = tnp.TypedResult("sqrt(2) * M")

            out.assign(x * 1.4142135623730951)
            """
        ),
    ),
    "STL040": RuleDoc(
        why=(
            "Part of a result is never written: a loop over output tiles stops early or skips a "
            "tile. The memory keeps whatever it held before, which a test with a zero-initialised "
            "output may not notice."
        ),
        example=_code(
            """
            from stile import dim
            import stile.numpy as tnp

            M, N = dim("M", 8), dim("N", 8)
            x = tnp.randn(M, N)
            out = tnp.TypedResult("2 * M N")

            for im in range(0, 4, 4):
                out.assign(x.slice(M, im, im + 4) * 2)
            """
        ),
        instead=_code(
            """
            from stile import dim
            import stile.numpy as tnp

            M, N = dim("M", 8), dim("N", 8)
            x = tnp.randn(M, N)
            out = tnp.TypedResult("2 * M N")

            for im in range(0, 8, 4):
                out.assign(x.slice(M, im, im + 4) * 2)
            """
        ),
    ),
    "STL041": RuleDoc(
        why=(
            "Overlapping output tiles write the same elements more than once; on a GPU the writes "
            "race, and which value survives depends on scheduling."
        ),
        example=_code(
            """
            from stile import dim
            import stile.numpy as tnp

            M, N = dim("M", 8), dim("N", 8)
            x = tnp.randn(M, N)
            out = tnp.TypedResult("2 * M N")

            for im in range(0, 6, 2):
                out.assign(x.slice(M, im, im + 4) * 2)
            """
        ),
        instead=_code(
            """
            from stile import dim
            import stile.numpy as tnp

            M, N = dim("M", 8), dim("N", 8)
            x = tnp.randn(M, N)
            out = tnp.TypedResult("2 * M N")

            for im in range(0, 8, 4):
                out.assign(x.slice(M, im, im + 4) * 2)
            """
        ),
    ),
    "STL042": RuleDoc(
        why=(
            "A load or store whose mask lets through an element past the end of its tensor "
            "reads garbage or corrupts memory, and only for the sizes where the last block is "
            "partial, which tests with round sizes never hit. Pallas clamps a block index that "
            "runs past the array instead of failing, silently reading the wrong block."
        ),
        example=_code(
            """
            import triton
            import triton.language as tl


            @triton.jit
            def scale_kernel(x_ptr, y_ptr, n, BLOCK: tl.constexpr):
                offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
                x = tl.load(x_ptr + offs)  # no mask: the last block reads past n
                tl.store(y_ptr + offs, 2 * x, mask=offs < n)


            # stile: y = 2 * x[N]
            def scale(x, y):
                n = x.shape[0]
                scale_kernel[(triton.cdiv(n, 64),)](x, y, n, BLOCK=64)
                return y
            """
        ),
        instead=_code(
            """
            import triton
            import triton.language as tl


            @triton.jit
            def scale_kernel(x_ptr, y_ptr, n, BLOCK: tl.constexpr):
                offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
                x = tl.load(x_ptr + offs, mask=offs < n)
                tl.store(y_ptr + offs, 2 * x, mask=offs < n)


            # stile: y = 2 * x[N]
            # stile: case N=100
            def scale(x, y):
                n = x.shape[0]
                scale_kernel[(triton.cdiv(n, 64),)](x, y, n, BLOCK=64)
                return y
            """
        ),
    ),
    "STL043": RuleDoc(
        why=(
            "Tensors have their own strides. A pointer into `y` built with `x`'s row stride is "
            "right while both are contiguous and of the same shape, and wrong for a transposed "
            "or sliced view. The analyzer gives every tensor symbolic strides, so the mix-up is "
            "found unless an `# stile: assume` says the strides are equal."
        ),
        example=_code(
            """
            import triton
            import triton.language as tl


            @triton.jit
            def copy_kernel(x_ptr, y_ptr, stride_x, n, BLOCK: tl.constexpr):
                row = tl.program_id(0)
                cols = tl.arange(0, BLOCK)
                x = tl.load(x_ptr + row * stride_x + cols, mask=cols < n)
                tl.store(y_ptr + row * stride_x + cols, x, mask=cols < n)  # x's stride


            # stile: y = x[M N]
            def copy(x, y):
                m, n = x.shape
                copy_kernel[(m,)](x, y, x.stride(0), n, BLOCK=triton.next_power_of_2(n))
                return y
            """
        ),
        instead=_code(
            """
            import triton
            import triton.language as tl


            @triton.jit
            def copy_kernel(x_ptr, y_ptr, stride_x, stride_y, n, BLOCK: tl.constexpr):
                row = tl.program_id(0)
                cols = tl.arange(0, BLOCK)
                x = tl.load(x_ptr + row * stride_x + cols, mask=cols < n)
                tl.store(y_ptr + row * stride_y + cols, x, mask=cols < n)


            # stile: y = x[M N]
            # stile: case M=7 N=100
            # stile: assume x.stride(1) == 1 and y.stride(1) == 1
            def copy(x, y):
                m, n = x.shape
                block = triton.next_power_of_2(n)
                copy_kernel[(m,)](x, y, x.stride(0), y.stride(0), n, BLOCK=block)
                return y
            """
        ),
    ),
    "STL044": RuleDoc(
        why=(
            "A masked load without `other` leaves the masked-off lanes undefined. That is fine "
            "as long as they are never used; summed or maxed into a reduction, or stored, they "
            "make the result depend on whatever was in the registers."
        ),
        example=_code(
            """
            import triton
            import triton.language as tl


            @triton.jit
            def row_max_kernel(x_ptr, y_ptr, stride, n, BLOCK: tl.constexpr):
                row = tl.program_id(0)
                cols = tl.arange(0, BLOCK)
                x = tl.load(x_ptr + row * stride + cols, mask=cols < n)  # lanes >= n undefined
                tl.store(y_ptr + row, tl.max(x, axis=0))


            # stile: y = max[N](x[M N])
            # stile: assume x.stride(1) == 1
            def row_max(x, y):
                m, n = x.shape
                row_max_kernel[(m,)](x, y, x.stride(0), n, BLOCK=triton.next_power_of_2(n))
                return y
            """
        ),
        instead=_code(
            """
            import triton
            import triton.language as tl


            @triton.jit
            def row_max_kernel(x_ptr, y_ptr, stride, n, BLOCK: tl.constexpr):
                row = tl.program_id(0)
                cols = tl.arange(0, BLOCK)
                x = tl.load(x_ptr + row * stride + cols, mask=cols < n, other=-float("inf"))
                tl.store(y_ptr + row, tl.max(x, axis=0))


            # stile: y = max[N](x[M N])
            # stile: case M=7 N=100
            # stile: assume x.stride(1) == 1
            def row_max(x, y):
                m, n = x.shape
                row_max_kernel[(m,)](x, y, x.stride(0), n, BLOCK=triton.next_power_of_2(n))
                return y
            """
        ),
    ),
    "STL045": RuleDoc(
        why=(
            "A case that the wrapper itself rejects (an `assert` or an `if ... raise` on the "
            "sizes) cannot run, so there is nothing to check for it. It is a warning, not a "
            "silent skip: the case line probably meant other sizes, and the configurations the "
            "author wanted checked are not."
        ),
        example=_code(
            """
            import triton
            import triton.language as tl


            @triton.jit
            def double_kernel(x_ptr, y_ptr, n, BLOCK: tl.constexpr):
                offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
                tl.store(y_ptr + offs, 2 * tl.load(x_ptr + offs, mask=offs < n), mask=offs < n)


            # stile: y = 2 * x[N]
            # stile: case N=100
            def double(x, y):
                n = x.shape[0]
                assert n % 64 == 0, "n must be a multiple of 64"
                double_kernel[(n // 64,)](x, y, n, BLOCK=64)
                return y
            """
        ),
        instead=_code(
            """
            import triton
            import triton.language as tl


            @triton.jit
            def double_kernel(x_ptr, y_ptr, n, BLOCK: tl.constexpr):
                offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
                tl.store(y_ptr + offs, 2 * tl.load(x_ptr + offs, mask=offs < n), mask=offs < n)


            # stile: y = 2 * x[N]
            # stile: case N=128
            def double(x, y):
                n = x.shape[0]
                assert n % 64 == 0, "n must be a multiple of 64"
                double_kernel[(n // 64,)](x, y, n, BLOCK=64)
                return y
            """
        ),
    ),
    "STL046": RuleDoc(
        why=(
            "Triton computes with the types of its operands: program ids, `tl.arange` and "
            "integer arguments that fit are int32, and int32 arithmetic wraps around past "
            "2**31 - 1. An offset that wraps goes to another address, silently: a negative "
            "slot, a row of another tensor. It is the usual failure of kernels on tensors of "
            "more than 2**31 elements, or with counters that grow without bound. The message "
            "gives the values that wrap; widen an operand with `.to(tl.int64)` before the "
            "operation so that the offset is computed in 64 bits. When no case line sizes a "
            "dim, the analyzer grows each dim from its searched sizes and runs the case at the "
            "first size whose run wraps (a launch of 2**31 elements is a few classes of "
            'programs): "wrong for N = 2147483649: ...", with the size below it clean; the '
            "proofs at the searched sizes name that bound. State the sizes the kernel is used "
            "at with `# stile: assume N * D < 2**31` (or `N <= 65536`) if that is its contract."
        ),
        example=_code(
            """
            import torch
            import triton
            import triton.language as tl


            @triton.jit
            def ring_row_sum_kernel(x_ptr, y_ptr, stride, n_rows, n, head, BLOCK: tl.constexpr):
                slot = (head + tl.program_id(0)) % n_rows  # int32: wraps near 2**31
                cols = tl.arange(0, BLOCK)
                x = tl.load(x_ptr + slot * stride + cols, mask=cols < n, other=0.0)
                tl.store(y_ptr + slot, tl.sum(x, axis=0))


            # stile: return = sum[N](x[M N])
            # stile: case M=4 N=10 head=2147483646
            def ring_row_sum(x, head):
                m, n = x.shape
                y = torch.empty(m, device=x.device, dtype=x.dtype)
                ring_row_sum_kernel[(m,)](x, y, x.stride(0), m, n, head, BLOCK=16)
                return y
            """
        ),
        instead=_code(
            """
            import torch
            import triton
            import triton.language as tl


            @triton.jit
            def ring_row_sum_kernel(x_ptr, y_ptr, stride, n_rows, n, head, BLOCK: tl.constexpr):
                slot = (head.to(tl.int64) + tl.program_id(0)) % n_rows
                cols = tl.arange(0, BLOCK)
                x = tl.load(x_ptr + slot * stride + cols, mask=cols < n, other=0.0)
                tl.store(y_ptr + slot, tl.sum(x, axis=0))


            # stile: return = sum[N](x[M N])
            # stile: case M=4 N=10 head=2147483646
            def ring_row_sum(x, head):
                m, n = x.shape
                y = torch.empty(m, device=x.device, dtype=x.dtype)
                ring_row_sum_kernel[(m,)](x, y, x.stride(0), m, n, head, BLOCK=16)
                return y
            """
        ),
    ),
    "STL047": RuleDoc(
        why=(
            "Programs of one launch run in no fixed order, on a GPU at the same time. A load "
            "of an element that another program of the same launch stores may see it before "
            "or after that store: the result depends on scheduling. What a launch stores is "
            "seen by the launches after it, and a program sees its own stores in program "
            "order; the diagnostic sits at the load and names the other program's store."
        ),
        example=_code(
            """
            import triton
            import triton.language as tl


            @triton.jit
            def normalize_kernel(x_ptr, y_ptr, n, BLOCK: tl.constexpr, ALL: tl.constexpr):
                offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
                e = tl.exp(tl.load(x_ptr + offs, mask=offs < n))
                tl.store(y_ptr + offs, e, mask=offs < n)
                every = tl.arange(0, ALL)  # other programs store most of these
                total = tl.sum(tl.load(y_ptr + every, mask=every < n, other=0.0), axis=0)
                tl.store(y_ptr + offs, e / total, mask=offs < n)


            # stile: y = exp(x[N]) / sum[N](exp(x[N]))
            # stile: case N=100
            def normalize(x, y):
                n = x.shape[0]
                normalize_kernel[(triton.cdiv(n, 32),)](x, y, n, BLOCK=32, ALL=128)
                return y
            """
        ),
        instead=_code(
            """
            import triton
            import triton.language as tl


            @triton.jit
            def exp_kernel(x_ptr, y_ptr, n, BLOCK: tl.constexpr):
                offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
                tl.store(y_ptr + offs, tl.exp(tl.load(x_ptr + offs, mask=offs < n)), mask=offs < n)


            @triton.jit
            def divide_kernel(y_ptr, n, ALL: tl.constexpr):
                every = tl.arange(0, ALL)  # stored by the launch before: complete
                e = tl.load(y_ptr + every, mask=every < n, other=0.0)
                tl.store(y_ptr + every, e / tl.sum(e, axis=0), mask=every < n)


            # stile: y = exp(x[N]) / sum[N](exp(x[N]))
            # stile: case N=100
            def normalize(x, y):
                n = x.shape[0]
                exp_kernel[(triton.cdiv(n, 32),)](x, y, n, BLOCK=32)
                divide_kernel[(1,)](y, n, ALL=128)
                return y
            """
        ),
    ),
    "STL048": RuleDoc(
        why=(
            "A TPU runs a Pallas grid in order, one step after another, and keeps an output "
            "block in fast memory only while consecutive steps map to it: when the block index "
            "changes the block is written back, and a later step that maps to it again starts "
            'from a buffer that does not hold it. Grid axes marked "parallel" may be split '
            "between the cores of a chip and run in any order, so nothing may be carried from "
            "one step to the next across them. A kernel that relies on either gives the right "
            "numbers under `interpret=True` and wrong ones on the chip (JAX's TPU interpret "
            "mode raises `Revisited block` for the first)."
        ),
        example=_code(
            """
            import jax
            import jax.numpy as jnp
            from jax.experimental import pallas as pl


            def column_sum_kernel(x_ref, o_ref):
                @pl.when(pl.program_id(0) == 0)
                def _init():
                    o_ref[...] = jnp.zeros_like(o_ref)

                o_ref[...] += jnp.sum(x_ref[...], axis=0)


            # stile: return = sum[M](x[M N])
            # stile: case M=32 N=256
            def column_sum(x):
                m, n = x.shape
                return pl.pallas_call(
                    column_sum_kernel,
                    out_shape=jax.ShapeDtypeStruct((n,), x.dtype),
                    grid=(m // 8, n // 128),  # the row blocks outermost: blocks are revisited
                    in_specs=[pl.BlockSpec((8, 128), lambda i, j: (i, j))],
                    out_specs=pl.BlockSpec((128,), lambda i, j: (j,)),
                )(x)
            """
        ),
        instead=_code(
            """
            import jax
            import jax.numpy as jnp
            from jax.experimental import pallas as pl


            def column_sum_kernel(x_ref, o_ref):
                @pl.when(pl.program_id(1) == 0)
                def _init():
                    o_ref[...] = jnp.zeros_like(o_ref)

                o_ref[...] += jnp.sum(x_ref[...], axis=0)


            # stile: return = sum[M](x[M N])
            # stile: case M=32 N=256
            def column_sum(x):
                m, n = x.shape
                return pl.pallas_call(
                    column_sum_kernel,
                    out_shape=jax.ShapeDtypeStruct((n,), x.dtype),
                    grid=(n // 128, m // 8),  # the reduction axis innermost
                    in_specs=[pl.BlockSpec((8, 128), lambda j, i: (i, j))],
                    out_specs=pl.BlockSpec((128,), lambda j, i: (j,)),
                )(x)
            """
        ),
    ),
    "STL049": RuleDoc(
        why=(
            "A verdict is only as good as the sizes it covers. When no case line gives a dim "
            "its size, the analyzer searches sizes where bugs live (1, sizes smaller than a "
            "block, and one below, at and above one and two of every block size the file "
            "writes), skips those that the wrapper's guards or the `assume` lines exclude, and "
            "checks each of the others on its own. No proof over symbolic sizes exists yet, so "
            "a kernel right at every searched size may still be wrong at another one; the "
            "warning, at the annotation, lists the sizes checked. A size that fails is an "
            "error of its own instead, reported at the smallest failing sizes "
            '("wrong for N = 129: ..."). The search also grows each dim past its searched '
            "sizes to the first size at which an int32 value of the kernel wraps (STL046 "
            "there, the bound named in the scope of the proofs); an `assume` that bounds the "
            "sizes (`N <= 2**31`, as in the example) excludes it. CI can make this warning an "
            "error with "
            '`warnings-as-errors = ["STL049"]` in `[tool.stile-static]` (or '
            "`--warnings-as-errors STL049`)."
        ),
        example=_code(
            """
            import triton
            import triton.language as tl


            @triton.jit
            def double_kernel(x_ptr, y_ptr, n, BLOCK: tl.constexpr):
                offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
                tl.store(y_ptr + offs, 2 * tl.load(x_ptr + offs, mask=offs < n), mask=offs < n)


            # stile: y = 2 * x[N]
            # stile: assume N <= 2**31
            def double(x, y):
                n = x.shape[0]
                double_kernel[(triton.cdiv(n, 64),)](x, y, n, BLOCK=64)
                return y
            """
        ),
        instead=_code(
            """
            import triton
            import triton.language as tl


            @triton.jit
            def double_kernel(x_ptr, y_ptr, n, BLOCK: tl.constexpr):
                offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
                tl.store(y_ptr + offs, 2 * tl.load(x_ptr + offs, mask=offs < n), mask=offs < n)


            # stile: y = 2 * x[N]
            # stile: case N=100
            # stile: case N=4096
            def double(x, y):
                n = x.shape[0]
                double_kernel[(triton.cdiv(n, 64),)](x, y, n, BLOCK=64)
                return y
            """
        ),
    ),
    "STL050": RuleDoc(
        why=(
            "With `--cross-check`, the kernel is run with NumPy on seeded random inputs and "
            "compared with the spec evaluated by NumPy, independently of the prover. A "
            "disagreement names the index and both values. When the prover already reports the "
            "same write wrong (STL031, STL032), the finding is a note on that diagnostic "
            "(`the NumPy cross-check agrees`), one diagnostic per bug; an STL050 error of its "
            "own, on a kernel the prover verified, would point at an analyzer bug (please report "
            "it). As a warning, it says the kernel was too large to run completely."
        ),
        example=_code(
            """
            from stile import dim
            import stile.numpy as tnp

            M, N = dim("M", 8), dim("N", 8)
            x = tnp.randn(M, N)
            out = tnp.TypedResult("6 * M N")

            out.assign(x * 2 * 2)  # checked with --cross-check
            """
        ),
        instead=_code(
            """
            from stile import dim
            import stile.numpy as tnp

            M, N = dim("M", 8), dim("N", 8)
            x = tnp.randn(M, N)
            out = tnp.TypedResult("6 * M N")

            out.assign(x * 2 * 3)
            """
        ),
    ),
    "STL060": RuleDoc(
        why=(
            "A `# stile: ignore` comment on a line with no diagnostic to silence is stale: the "
            "bug it hid was fixed, or it sits on the wrong line. Left in place it would silently "
            "hide the next real problem there. Reported with `--report-unused-ignores`."
        ),
        example=_code(
            """
            from stile import dim
            import stile.numpy as tnp

            M, N = dim("M", 8), dim("N", 8)
            x = tnp.randn(M, N)
            out = tnp.TypedResult("2 * M N")

            out.assign(x * 2)  # stile: ignore[STL031]
            """
        ),
        instead=_code(
            """
            from stile import dim
            import stile.numpy as tnp

            M, N = dim("M", 8), dim("N", 8)
            x = tnp.randn(M, N)
            out = tnp.TypedResult("2 * M N")

            out.assign(x * 2)
            """
        ),
    ),
}


def rule_markdown(code: str) -> str:
    """The rule's documentation as Markdown (SARIF ``help.markdown``, ``stile-static rule``)."""
    info, doc = CODES[code], RULE_DOCS[code]
    parts = [
        f"# {info.name} ({code})",
        f"## What it does\n{info.summary[0].upper()}{info.summary[1:]}.",
        f"## Why is this bad?\n{doc.why}",
        f"## Example\n```python\n{doc.example}```",
    ]
    if doc.instead is not None:
        parts.append(f"## Use instead\n```python\n{doc.instead}```")
    return "\n\n".join(parts) + "\n"


def rule_text(code: str) -> str:
    """The same documentation as plain text (SARIF ``help.text``)."""
    info, doc = CODES[code], RULE_DOCS[code]
    parts = [f"{code} {info.name}: {info.summary}.", doc.why, "Example:\n" + _indent(doc.example)]
    if doc.instead is not None:
        parts.append("Use instead:\n" + _indent(doc.instead))
    return "\n\n".join(parts) + "\n"


def _indent(code: str) -> str:
    return "\n".join(f"    {line}" if line else "" for line in code.splitlines())
