"""The Python-subset interpreter, taught the values of Triton host wrappers and kernels.

The module body runs once (imports, ``@triton.jit`` kernels, helpers,
constants); a statement it cannot follow only makes the names it binds
unusable, with the reason given where one is used. A wrapper then runs for
one case of its annotation, recording each ``kernel[grid](...)`` launch; each
launch runs program by program over its concrete grid, for every autotune
config. Integers are concrete per program except strides (:mod:`.ints`); data
are blocks (:mod:`..blocks`); loads and stores go through :mod:`.memory`.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import libcst as cst

from ...core.diagnostics import Span
from ...core.errors import KernelError, Poisoned
from ...interpreter.core import Interpreter, _Frame
from ...interpreter.host import HOST_BUILTINS, HostInterpreter
from ...interpreter.library import NOT_MINE, Library
from ...interpreter.loops import _Break, _Continue
from ...interpreter.scopes import bind_arguments
from ...interpreter.values import (
    PYTHON_ERROR,
    Builtin,
    Function,
    Module,
    Poison,
    PythonMethod,
    SpecText,
    python_error,
)
from ...ir import constants, reals
from ...ir.numpy_ops import COMPARE_UFUNCS
from .. import blocks
from ..blocks import Block, fold_unary
from . import custom_ops, host_arrays, loop_induction
from . import int_types as IT
from . import ints as I
from .cells import Memory
from .host import (
    AutogradApply,
    AutogradClass,
    BoundMethod,
    Closure,
    Ctx,
    Decorator,
    DType,
    HostCopy,
    HostFill,
    Kernel,
    Launch,
    Launcher,
    Opaque,
    Special,
    SpecScalar,
    Tensor,
    describe,
    row_major,
    symbolic_strides,
)
from .host_calls import HostCalls
from .ints import Ints, Mask, Ptr
from .kernel_ops import KernelOps
from .memory import Scratch, Stored
from .program_classes import ClassRun, Family

KNOWN = {
    "triton": "triton",
    "triton.language": "tl",
    "triton.language.math": "tl.math",
    "triton.language.extra": "tl.extra",
    "triton.language.extra.libdevice": "tl.math",
    "triton.language.extra.cuda.libdevice": "tl.math",
    "triton.language.extra.cuda": "tl.extra",
    "torch": "torch",
    "torch.library": "torch.library",
    "flag_gems.utils": "flag_gems.utils",
    "numpy": "np",
    "math": "math",
}
TL_FUNCTIONS = (
    "program_id num_programs arange load store zeros full zeros_like dot trans "
    "permute sum max min exp exp2 log log2 sqrt sqrt_rn rsqrt sigmoid abs erf clamp where maximum "
    "minimum cdiv multiple_of max_contiguous max_constancy assume static_assert "
    "static_print device_assert debug_barrier constexpr range static_range broadcast_to "
    "expand_dims reshape view fma cast fdiv div_rn make_block_ptr advance make_tensor_descriptor "
    "atomic_add atomic_max atomic_min"
).split()
DTYPES = (
    "float32 float16 bfloat16 float64 float8e4nv float8e5 int1 int8 int16 int32 int64 "
    "uint8 uint16 uint32 uint64"
).split()
KNOWN_DTYPES = frozenset(DTYPES) | {"float", "half", "long", "int", "bfloat16"}
# torch's other names of a dtype
DTYPE_ALIASES = {
    "float": "float32",
    "half": "float16",
    "double": "float64",
    "long": "int64",
    "int": "int32",
}
POINTER = "pointer to "  # the dtype of a pointer: POINTER + its element type
MATH_FUNCTIONS = "exp exp2 log log2 sqrt rsqrt sigmoid abs erf tanh fma div_rn fdiv sqrt_rn".split()
TORCH_FUNCTIONS = [
    *"empty empty_like zeros zeros_like full".split(),
    *sorted(host_arrays.FUNCTIONS),
]
TRITON_FUNCTIONS = "jit autotune heuristics Config cdiv next_power_of_2".split()
HINT_CALLS = (
    "tl.assume",
    "tl.device_assert",
    "tl.static_print",
    "tl.debug_barrier",
)
EXTRA_BUILTINS = ("len", "tuple", "list", "bool", "print", "isinstance", "sum", "str", "dict")


class _CaseRejected(Exception):
    """An ``assert`` of the wrapper fails for this case."""

    def __init__(self, message: str, node: cst.CSTNode) -> None:
        super().__init__(message)
        self.node = node


class TritonInterpreter(HostCalls, KernelOps, HostInterpreter):
    def __init__(self, wrapper: cst.MetadataWrapper, positions: dict, path: str) -> None:
        super().__init__(wrapper, positions, path, TritonLibrary(), induction=False)
        self.lenient = False  # module level: errors only poison names
        self.failures = 0  # statements that could not be followed so far
        self._reason: str | None = None
        self.in_kernel = False
        self.program: tuple[int, ...] = (0, 0, 0)
        self.grid: tuple[int, ...] = (1, 1, 1)
        # launches and host writes, in the order the wrapper makes them
        self.launches: list[Launch | HostCopy | HostFill] = []
        self.stored: list[Stored] = []
        self.notes: dict[str, str] = {}
        self.aliases: dict[I.Stride, I.Stride] = {}
        self.contiguous: set[str] = set()
        self.store_failed = False
        self.positive: set[str] = set()  # scalar inputs assumed > 0
        self.swapped_loads: dict[int, tuple] = {}
        self.scratch: list[Scratch] = []  # this program's stores read back by pointer
        self.memory = Memory()  # what every store of the case's launches left where
        # the generic program of a class of programs being run (program_classes), the
        # families of stores its launches made, and whether a launch may run that way
        self.generic: ClassRun | None = None
        self.families: list[Family] = []
        self.allow_classes = False
        self.loop_class: I.Pid | None = None  # the loop index being proven by induction
        self.constexpr_globals = constexpr_globals(self.module)
        # where each STL002 was found, repeats included: a case that hits one stops
        self.unfollowed: list[Span] = []
        self.sites: list[cst.CSTNode] = []  # binary operations being evaluated
        # the number of SMs a device query answers in this run of a case, and whether
        # the wrapper asked (then the case runs again for each of DEVICE_SMS)
        self.device_sms: int | None = None
        self.device_queried = False
        # a run that only probes sizes for an int32 wrap (wrap_sizes): it stops, saying
        # nothing, where it would not be cheap
        self.probing = False

    # ------------------------------------------------------------ module

    def sm_count(self, node: cst.CSTNode | None = None) -> int:
        """What a query of the device's number of SMs gives in this run: every value of
        DEVICE_SMS in turn (a result must hold for any device), named in the scope."""
        if self.device_sms is None:
            raise KernelError(
                "STL002",
                "unsupported: a query of the device's number of SMs outside the wrapper "
                "(its value is one for the whole file, and a result must hold for every value)",
                help="query it inside the wrapper, where each case is checked for "
                + ", ".join(str(n) for n in DEVICE_SMS)
                + " SMs",
                node=node,
            )
        self.device_queried = True
        return self.device_sms

    def run_module(self) -> None:
        self.lenient = True
        try:
            for stmt in self.module.body:
                self.exec_stmt(stmt)
        finally:
            self.lenient = False

    def report(self, error: KernelError, fallback: cst.CSTNode) -> None:
        self.failures += 1
        if self.lenient:
            self._reason = error.message
            return
        if error.code == "STL002":
            node = error.node if isinstance(error.node, cst.CSTNode) else fallback
            self.unfollowed.append(error.node if isinstance(error.node, Span) else self.span(node))
        super().report(error, fallback)

    def flag(self, error: KernelError, node: cst.CSTNode) -> None:
        """Report without stopping the statement."""
        self.report(error, node)

    def _poison_module_targets(self, node: cst.CSTNode) -> None:
        from ...interpreter.loops import target_names

        targets: list[cst.BaseExpression] = []
        if isinstance(node, cst.Assign):
            targets = [t.target for t in node.targets]
        elif isinstance(node, (cst.AugAssign, cst.AnnAssign)):
            targets = [node.target]
        elif isinstance(node, (cst.FunctionDef, cst.ClassDef)):
            targets = [node.name]
        reason = self._reason or "its definition could not be followed"
        for target in targets:
            for name in target_names(target):
                self.store(name, Poison(f"`{name}`: {reason}"))

    def exec_stmt(self, stmt: cst.CSTNode) -> None:
        if self.lenient and isinstance(stmt, cst.ClassDef):
            if self._autograd_base(stmt):
                self._guarded(stmt, self.define_autograd)
                return
            self._reason = "class definitions are not followed"
            self._poison_module_targets(stmt)
            return
        super().exec_stmt(stmt)

    def _autograd_base(self, node: cst.ClassDef) -> bool:
        """Whether the class derives from ``torch.autograd.Function`` (and nothing else)."""
        if len(node.bases) != 1 or node.keywords or node.decorators:
            return False
        base = decorator_name(node.bases[0].value)
        imported = base == "Function" and _imports(self.module, "torch.autograd", "Function")
        return base == "torch.autograd.Function" or imported

    def define_autograd(self, node: cst.ClassDef) -> None:
        """A ``torch.autograd.Function`` subclass: its static methods; the class body
        may hold nothing else (an attribute could change what ``apply`` does)."""
        methods: dict[str, Any] = {}
        body = node.body.body if isinstance(node.body, cst.IndentedBlock) else ()
        for stmt in body:
            if isinstance(stmt, cst.SimpleStatementLine) and all(
                isinstance(small, (cst.Pass, cst.Expr)) for small in stmt.body
            ):
                continue  # a docstring or `pass`
            if not isinstance(stmt, cst.FunctionDef) or [
                decorator_name(d.decorator) for d in stmt.decorators
            ] != ["staticmethod"]:
                raise KernelError(
                    "STL002",
                    "unsupported: in a torch.autograd.Function only @staticmethod "
                    "definitions are followed",
                    node=stmt,
                )
            self.frames.append(_Frame({}))
            try:
                self.exec_FunctionDef(stmt)
                methods[stmt.name.value] = self.frames[-1].names[stmt.name.value]
            finally:
                self.frames.pop()
        self.store(node.name.value, AutogradClass(node.name.value, methods))

    def assign_attribute(self, base: Any, target: cst.Attribute, value: Any) -> None:
        if isinstance(base, Ctx):
            base.names[target.attr.value] = value  # kept for backward: no value changes
            return
        super().assign_attribute(base, target, value)

    def _module(self, dotted: str, node: cst.CSTNode) -> Any:
        known = KNOWN.get(dotted)
        if known:
            return Module(known)
        return Poison(f"module `{dotted}` is not followed by the analyzer")

    def exec_Import(self, node: cst.Import) -> None:
        from ...interpreter.core import dotted as _dotted

        for alias in node.names:
            dotted = _dotted(alias.name)
            if alias.asname is not None:
                self.store(alias.asname.name.value, self._module(dotted, alias))  # type: ignore[union-attr]
            else:
                top = dotted.split(".")[0]
                self.store(top, self._module(top, alias))

    def exec_ImportFrom(self, node: cst.ImportFrom) -> None:
        from ...interpreter.core import dotted as _dotted

        source = _dotted(node.module) if node.module is not None else ""
        if source == "__future__":
            return
        if isinstance(node.names, cst.ImportStar):
            raise KernelError("STL002", f"unsupported: `from {source} import *`")
        for alias in node.names:
            name = _dotted(alias.name)
            local = alias.asname.name.value if alias.asname else name  # type: ignore[union-attr]
            full = f"{source}.{name}"
            if node.relative:
                # a module of the file's own package: only FlagGems' `..utils` decorators
                # (its kernels sit in flag_gems/ops/ and import `from ..utils`) are known
                known = source == "utils" and name in LIBRARY_DECORATORS
                value = (
                    self.attribute(Module("flag_gems.utils"), name)
                    if known
                    else Poison(f"`{name}` from a module of this package is not followed")
                )
            elif full in KNOWN:
                value: Any = Module(KNOWN[full])
            elif source in KNOWN:
                try:
                    value = self.attribute(Module(KNOWN[source]), name)
                except KernelError as error:
                    value = Poison(error.message)
            else:
                value = Poison(f"`{name}` from `{source}` is not followed by the analyzer")
            self.store(local, value)

    def lookup(self, node: cst.Name) -> Any:
        if node.value == "__name__":
            return SpecText("__stile__", node)  # the file is read, never run as a script
        if (node.value in EXTRA_BUILTINS or node.value in HOST_BUILTINS) and not self._defined(
            node.value
        ):
            return Builtin(node.value)
        value = super().lookup(node)
        if self.in_kernel and self._scope_of(node) is self.frames[0]:
            self._check_global(node, value)
        return value

    def _check_global(self, node: cst.Name, value: Any) -> None:
        """Triton's compiler lets a kernel read only globals that are ``tl.constexpr``
        objects (and modules, jit functions, dtypes and the like)."""
        name = node.value
        if name in self.constexpr_globals or not _is_plain_global(value):
            return
        raise KernelError(
            "STL005",
            f"the kernel reads the module global `{name}`, which is not a tl.constexpr",
            notes=(
                "Triton refuses the kernel (NameError: Cannot access global variable "
                f"{name} from within @jit'ed function)",
                "annotating the global (`X: tl.constexpr = ...`) is not enough",
            ),
            help=f"define it as `{name} = tl.constexpr(...)`, or pass it to the kernel as a "
            "`tl.constexpr` parameter",
            node=node,
        )

    def _defined(self, name: str) -> bool:
        return name in self.frames[-1].names or name in self.frames[0].names

    def exec_FunctionDef(self, node: cst.FunctionDef) -> None:
        if node.asynchronous is not None:
            raise KernelError("STL002", "unsupported: async functions", node=node)
        defaults = self.parameter_defaults(node.params)
        star = node.params.star_arg
        varargs = (
            star not in (None, cst.MaybeSentinel.DEFAULT) and not isinstance(star, cst.ParamStar)
        ) or node.params.star_kwarg is not None
        # a `def` inside a wrapper (fla's `def grid(meta)`) closes over its locals
        frame = self.frames[-1]
        enclosing = (frame, *frame.enclosing) if frame.local is not None else ()
        value: Any = Function(node, defaults, enclosing)
        for decorator in reversed(node.decorators):
            if decorator_name(decorator.decorator) in VALUE_PRESERVING_DECORATORS:
                continue
            try:
                applied = self.eval(decorator.decorator)
            except KernelError as error:
                if error.code == PYTHON_ERROR:
                    # a known decorator called as Python refuses (`autotune` without
                    # `key`): importing the file raises, at the decorator
                    Interpreter.report(self, error, decorator)
                    value = Poison(f"`{node.name.value}` is not defined: its decorator raises")
                    break
                applied = None  # a decorator the analyzer does not know
            except Poisoned:
                applied = None
            try:
                value = self.decorate(applied, value, decorator)
            except KernelError as error:
                if error.code != PYTHON_ERROR:
                    raise
                # torch refuses the function when the decorator runs (no schema)
                Interpreter.report(self, error, decorator)
                value = Poison(f"`{node.name.value}` is not defined: its decorator raises")
                break
        if varargs and isinstance(value, Kernel):
            # host functions take *args and **kwargs as Python does; a kernel's
            # parameters are what its launches bind, one by one
            raise KernelError(
                "STL002", "unsupported: *args or **kwargs parameters of a kernel", node=node.params
            )
        self.store(node.name.value, value)

    def decorate(self, decorator: Any, value: Any, node: cst.CSTNode) -> Any:
        if isinstance(decorator, custom_ops.OpDecorator) and isinstance(value, Function):
            return custom_ops.decorate(decorator, value, node)
        if isinstance(decorator, custom_ops.Registration) and isinstance(value, Function):
            return value
        if isinstance(decorator, Builtin) and decorator.name == "triton.jit":
            return value if isinstance(value, Kernel) else Kernel(value)
        if isinstance(decorator, Decorator):
            kernel = value if isinstance(value, Kernel) else Kernel(value)
            if decorator.kind == "jit":
                return kernel
            return Kernel(
                kernel.function,
                kernel.configs + decorator.configs,
                kernel.heuristics + decorator.heuristics,
            )
        if isinstance(value, Kernel):
            return Poison(
                f"the decorator at line {self.span(node).line} of a kernel is not followed"
            )
        # Any other decorator may replace the function (swap its arguments, copy
        # its outputs): taking it to change nothing could verify what does not run.
        raise KernelError(
            "STL002",
            "unsupported decorator: the analyzer does not know what it does to the function",
            help="known to preserve values: "
            + ", ".join(f"@{name}" for name in sorted(VALUE_PRESERVING_DECORATORS)),
            node=node,
        )

    def call_function(self, func: Function, args: list, kwargs: dict, node: cst.Call) -> Any:
        kwonly = [p.name.value for p in func.node.params.kwonly_params]
        if not kwonly:
            return super().call_function(func, args, kwargs, node)
        return self.run_in_frame(_Frame(bind_arguments(func, args, kwargs)), func.node.body)

    # ------------------------------------------------------------ statements

    def exec_Assert(self, node: cst.Assert) -> None:
        if self.in_kernel:
            return  # device-side asserts do not change values
        test = node.test
        if _is_contiguity(test):
            for name in _contiguity_names(test):
                self.make_contiguous(self.eval(name))
            return
        try:
            holds = self.truth(self.eval(test), test)
        except (KernelError, Poisoned):
            return  # an assert that cannot be evaluated only means more cases are checked
        if not holds:
            raise _CaseRejected(f"`assert {_code(test)}` fails for this case", node)

    def exec_Raise(self, node: cst.Raise) -> None:
        raise _CaseRejected("the wrapper raises an exception for this case", node)

    def exec_For(self, node: cst.For) -> None:
        if node.orelse is not None or node.asynchronous is not None:
            raise KernelError("STL002", "unsupported: `for ... else` or `async for`")
        loop = self.eval(node.iter)
        if isinstance(loop, (tuple, list, dict)) and not self.in_kernel:
            values: Any = self.iterate(loop, node.iter)
        elif isinstance(loop, (tuple, list)):
            values = loop
        elif isinstance(loop, range):
            values = loop
        else:
            raise KernelError(
                "STL002", "unsupported: only range loops can be followed", node=node.iter
            )
        typed = self.in_kernel and isinstance(values, range)
        if typed and loop_induction.run(self, node, values):
            return
        for value in values:
            if typed:
                # the index of a loop the compiler keeps (scf.for) is an int32 tensor;
                # Triton's interpreter runs it as a Python int: followed where both agree
                value = I.typed(value, IT.argument_type(value), weak=True)
            self.assign_target(node.target, value, node.iter)
            try:
                self.exec_block(node.body)
            except _Break:
                if self.in_kernel:
                    raise KernelError("STL002", "unsupported: `break` in a kernel loop") from None
                break
            except _Continue:
                if self.in_kernel:
                    raise KernelError(
                        "STL002", "unsupported: `continue` in a kernel loop"
                    ) from None
                continue

    def exec_Expr(self, node: cst.Expr) -> None:
        if isinstance(node.value, (cst.SimpleString, cst.ConcatenatedString)):
            return
        self.eval(node.value)

    def exec_While(self, node: cst.While) -> None:
        if self.in_kernel:
            # a kernel's while loop is an scf.while whose carried values are typed
            # by the compiler: not followed
            raise self._unsupported(node)
        super().exec_While(node)

    def null_context(self, value: Any) -> bool:
        return isinstance(value, Opaque) and value.what in NULL_CONTEXTS

    # ------------------------------------------------------------ expressions

    def eval_Float(self, node: cst.Float) -> Any:
        value = float(node.evaluated_value)
        named = constants.recognise(node.value)
        if named is not None:
            name, exact, _ = named
            self.notes[node.value] = f"{node.value} is read as {name}"
            return Special(exact, name, self.span(node))
        if not math.isfinite(value):
            return value
        # the number its author wrote (``0.1`` is one tenth), as a spec's ``0.1`` is
        return reals.literal(node.value)

    def eval_Integer(self, node: cst.Integer) -> int:
        return int(node.evaluated_value)

    def eval_FormattedString(self, node: cst.FormattedString) -> SpecText:
        return SpecText("", node)

    def eval_UnaryOperation(self, node: cst.UnaryOperation) -> Any:
        value = self.eval(node.expression)
        op = node.operator
        if isinstance(value, Special):
            value = value.value if not self.in_kernel else self.as_block(value)
        if isinstance(op, cst.Minus):
            if isinstance(value, Block):
                return blocks.elementwise([value], lambda t: fold_unary("neg", t))
            if isinstance(value, Ints):
                return I.binary("*", value, -1)
        if isinstance(op, cst.BitInvert) and isinstance(value, Mask):
            return Mask(~value.array)
        if isinstance(op, cst.BitInvert) and isinstance(value, Ints):
            return I.binary("^", value, -1)  # ~x == x ^ -1 in two's complement
        if isinstance(op, cst.Not) and isinstance(value, Mask):
            return Mask(~value.array)
        return self._unary_plain(op, value, node)

    def _unary_plain(self, op: cst.BaseUnaryOp, value: Any, node: cst.CSTNode) -> Any:
        if isinstance(op, cst.Minus):
            if isinstance(value, (int, float, Fraction)) and not isinstance(value, bool):
                return -value
        if isinstance(op, cst.Plus):
            return value
        if isinstance(op, cst.Not):
            return not self.truth(value, node)
        if isinstance(op, cst.BitInvert) and isinstance(value, int):
            return ~value
        raise KernelError("STL002", "unsupported unary operator on this value")

    _BITOPS = {"BitAnd": "&", "BitOr": "|", "BitXor": "^", "LeftShift": "<<", "RightShift": ">>"}

    def eval_BinaryOperation(self, node: cst.BinaryOperation) -> Any:
        name = type(node.operator).__name__
        op = self._BITOPS.get(name)
        self.sites.append(node)  # the innermost operation being computed, for STL046
        try:
            if op is None:
                return super().eval_BinaryOperation(node)
            left, right = self.eval(node.left), self.eval(node.right)
            return self.binary(op, left, right)
        finally:
            self.sites.pop()

    def exec_AugAssign(self, node: cst.AugAssign) -> None:
        name = type(node.operator).__name__.replace("Assign", "")
        op = self._BITOPS.get(name)
        self.sites.append(node)
        try:
            if op is None:
                super().exec_AugAssign(node)
                return
            value = self.binary(op, self.eval(node.target), self.eval(node.value))
            self.assign_target(node.target, value, node.value)
        finally:
            self.sites.pop()

    def site(self) -> I.Site | None:
        """Where the integer operation being computed is written."""
        if not self.sites or not self.in_kernel:
            return None
        node = self.sites[-1]
        return I.Site(self.span(node), lambda: self._render_site(node))

    def _render_site(self, node: cst.CSTNode) -> tuple[str, tuple[str, ...]]:
        if isinstance(node, cst.AugAssign):
            left, right = node.target, node.value
            op = self.source_of(node.operator).split("=")[0]
            source = f"{self.source_of(left)} {op} {self.source_of(right)}"
        elif isinstance(node, cst.BinaryOperation):
            left, right = node.left, node.right
            source = self.source_of(node.with_changes(lpar=(), rpar=()))
        else:
            return self.source_of(node), ()
        return source, (_operand(self, left), _operand(self, right))

    def binary(self, op: str, left: Any, right: Any) -> Any:
        if isinstance(left, Tensor) or isinstance(right, Tensor):
            return host_arrays.binary(
                self, op, left, right, self.sites[-1] if self.sites else self.node
            )
        if isinstance(left, Ptr) or isinstance(right, Ptr):
            if isinstance(left, Ptr) and op in ("+", "-") and not isinstance(right, (Ptr, Block)):
                return I.ptr_add(left, right, 1 if op == "+" else -1)
            if isinstance(right, Ptr) and op == "+" and not isinstance(left, (Ptr, Block)):
                return I.ptr_add(right, left)
            raise KernelError("STL002", f"unsupported pointer arithmetic `{op}`")
        if op in ("&", "|", "^") and (isinstance(left, Mask) or isinstance(right, Mask)):
            return I.mask_binary(op, left, right)
        if op in ("&", "|", "^") and isinstance(left, bool) and isinstance(right, bool):
            return {"&": left and right, "|": left or right, "^": left != right}[op]
        if (
            isinstance(left, (Block, blocks.BlockSum, SpecScalar))
            or isinstance(right, (Block, blocks.BlockSum, SpecScalar))
            or (self.in_kernel and (isinstance(left, Special) or isinstance(right, Special)))
        ):
            return self.data_binary(op, left, right)
        if isinstance(left, Special):
            left = left.value
        if isinstance(right, Special):
            right = right.value
        if isinstance(left, Ints) or isinstance(right, Ints):
            if _real_operand(left) or _real_operand(right) or op == "/":
                # a Triton integer scalar in float arithmetic: its value, as a real
                left, right = _as_real(left, op), _as_real(right, op)
                return super().binary(op, left, right)
            return I.binary(op, left, right, self.site())
        if op in ("<<", ">>", "&", "|", "^"):
            if isinstance(left, int) and isinstance(right, int):
                return {
                    "<<": left << right,
                    ">>": left >> right,
                    "&": left & right,
                    "|": left | right,
                    "^": left ^ right,
                }[op]
            raise KernelError("STL002", f"unsupported operator `{op}`")
        if isinstance(left, (tuple, list)) or isinstance(right, (tuple, list)):
            if op == "+" and type(left) is type(right):
                return left + right
            if op == "*" and isinstance(right, int):
                return left * right
            raise KernelError("STL002", f"unsupported `{op}` on a sequence")
        if self.in_kernel and op in ("//", "%") and (_real_operand(left) or _real_operand(right)):
            # Python's float floor division and modulo are not Triton's on float32
            # tensors (rounding, and the sign of a remainder), and a constexpr's are
            # Python's: which one runs depends on where the float comes from
            raise KernelError("STL002", f"unsupported: `{op}` of floats inside a kernel")
        return super().binary(op, left, right)

    def eval_Comparison(self, node: cst.Comparison) -> Any:
        left = self.eval(node.left)
        result: Any = True
        for target in node.comparisons:
            right = self.eval(target.comparator)
            name = type(target.operator).__name__
            if name in ("Is", "IsNot"):
                holds: Any = (left is right) == (name == "Is")
            elif name in ("In", "NotIn"):
                values = right.keys() if isinstance(right, dict) else right
                items = [v.value if isinstance(v, SpecText) else v for v in values]
                key = left.value if isinstance(left, SpecText) else left
                if isinstance(key, DType):
                    holds = any(self.same_dtype(key, v) for v in items) == (name == "In")
                else:
                    holds = (key in items) == (name == "In")
            else:
                op = {
                    "LessThan": "<",
                    "LessThanEqual": "<=",
                    "GreaterThan": ">",
                    "GreaterThanEqual": ">=",
                    "Equal": "==",
                    "NotEqual": "!=",
                }[name]
                holds = self.compare(op, left, right, node)
            result = holds if result is True else I.mask_binary("&", result, holds)
            if result is False:
                return False
            left = right
        return result

    def compare(self, op: str, left: Any, right: Any, node: cst.CSTNode) -> Any:
        if isinstance(left, Special):
            left = left.value
        if isinstance(right, Special):
            right = right.value
        if isinstance(left, (Block, blocks.BlockSum)) or isinstance(
            right, (Block, blocks.BlockSum)
        ):
            # a block of data comparisons, for tl.where; integer blocks are not data
            return blocks.Compared(op, self.as_block(left), self.as_block(right))
        if isinstance(left, Ints) or isinstance(right, Ints):
            if _real_operand(left) or _real_operand(right):
                return bool(COMPARE_UFUNCS[op](_as_real(left, op), _as_real(right, op)))
            return I.compare(op, left, right)
        if op in ("==", "!="):
            a = left.value if isinstance(left, SpecText) else left
            b = right.value if isinstance(right, SpecText) else right
            if isinstance(a, DType) or isinstance(b, DType):
                return self.same_dtype(a, b) == (op == "==")
            if isinstance(a, (Tensor, Kernel)) or isinstance(b, (Tensor, Kernel)):
                # a JITFunction has no __eq__ of its own: kernels compare by identity
                # (kernl's `implementation == layer_norm_xformers`)
                return (a is b) == (op == "==")
            if isinstance(a, (tuple, list, str, type(None))) or isinstance(
                b, (tuple, list, str, type(None))
            ):
                return (_plain(a) == _plain(b)) == (op == "==")
        if isinstance(left, (int, float, Fraction)) and isinstance(right, (int, float, Fraction)):
            return bool(COMPARE_UFUNCS[op](left, right))
        raise KernelError(
            "STL002", f"unsupported comparison of {describe(left)} and {describe(right)}"
        )

    def same_dtype(self, a: Any, b: Any) -> bool:
        """Dtypes known by name (`tl.float16`, a pointer's element type, a tensor with a
        `dtype` line) compare by name; any other is not modelled."""
        if isinstance(a, DType) and isinstance(b, DType):
            a, b = (
                DType(DTYPE_ALIASES.get(a.name, a.name)),
                DType(DTYPE_ALIASES.get(b.name, b.name)),
            )
        if isinstance(a, DType) and isinstance(b, DType) and a.name == b.name:
            return True
        if (
            isinstance(a, DType)
            and isinstance(b, DType)
            and a.name in KNOWN_DTYPES
            and (b.name in KNOWN_DTYPES)
        ):
            return False  # two named dtypes (`tl.float16`, `torch.float32`)
        raise KernelError(
            "STL002",
            "unsupported: a test of a tensor's dtype (dtypes are not modelled; "
            "values are real numbers)",
        )

    def truth(self, value: Any, node: cst.CSTNode) -> bool:
        if isinstance(value, SpecScalar):
            if value.name in self.positive:
                return True
            raise KernelError(
                "STL002",
                f"unsupported: the truth of the symbolic scalar {value.name}",
                help=f"give it a value in the case line, or `# stile: assume {value.name} > 0`",
                node=node,
            )
        if isinstance(value, Mask):
            if value.array.ndim == 0:
                return bool(value.array)
            raise KernelError("STL002", "unsupported: `if` on a block of booleans", node=node)
        if isinstance(value, Ints):
            return bool(I.concrete(value, "if").all()) if not value.shape else _block_if(node)
        if isinstance(value, (tuple, list, dict, str)) or value is None:
            return bool(value)
        if isinstance(value, SpecText):
            return bool(value.value)
        if isinstance(value, (Tensor, Kernel, Function, DType, Opaque)):
            return True
        if isinstance(value, (Block, blocks.Compared)):
            raise KernelError("STL002", "unsupported: a branch on a data value", node=node)
        return super().truth(value, node)

    def eval_BooleanOperation(self, node: cst.BooleanOperation) -> Any:
        left = self.eval(node.left)
        if isinstance(left, Mask):
            if left.array.size > 1:
                # compiled, `and`/`or` of blocks is `&`/`|`; the interpreter runs Python,
                # where a block is true: the two real Tritons disagree
                word = "and" if isinstance(node.operator, cst.And) else "or"
                raise KernelError(
                    "STL002",
                    f"unsupported: `{word}` of a block of conditions means"
                    f" `{'&' if word == 'and' else '|'}` when compiled but"
                    f" {'the right operand alone' if word == 'and' else 'the left operand alone'}"
                    " under TRITON_INTERPRET=1",
                    node=node,
                    help=f"write `{'&' if word == 'and' else '|'}` (Triton deprecates"
                    f" `{word}` on blocks)",
                )
            return I.mask_binary(
                "&" if isinstance(node.operator, cst.And) else "|", left, self.eval(node.right)
            )
        first = self.truth(left, node.left)
        if isinstance(node.operator, cst.And):
            return self.eval(node.right) if first else left
        return left if first else self.eval(node.right)

    def eval_IfExp(self, node: cst.IfExp) -> Any:
        return (
            self.eval(node.body)
            if self.truth(self.eval(node.test), node.test)
            else self.eval(node.orelse)
        )

    # ------------------------------------------------------------ attributes

    def eval_Attribute(self, node: cst.Attribute) -> Any:
        return self.attribute(self.eval(node.value), node.attr.value)

    def attribute(self, base: Any, attr: str) -> Any:
        method = self.python_attribute(base, attr)
        if method is not NOT_MINE:
            return method
        if isinstance(base, Module):
            return self.module_attribute(base.name, attr)
        if isinstance(base, AutogradClass):
            if attr == "apply":
                return AutogradApply(base)
            if attr in base.methods:
                return base.methods[attr]
        if isinstance(base, Ctx):
            if attr in base.names:
                return base.names[attr]
            if attr in CTX_NO_OPS:
                return BoundMethod(base, attr)
        if isinstance(base, Tensor):
            if attr == "shape":
                return tuple(base.sizes)
            if attr in ("dtype",):
                return DType(base.dtype or "tensor")
            if attr in ("device", "is_cuda"):
                return Opaque(attr) if attr == "device" else True
            if attr == "ndim":
                return len(base.sizes)
            if attr == "T":
                raise KernelError("STL002", "unsupported: `.T` of a host tensor")
            return BoundMethod(base, attr)
        if isinstance(base, blocks.BlockSum):
            return BoundMethod(base, attr)
        if isinstance(base, Block):
            if attr == "T":
                return blocks.transpose(base)
            if attr == "dtype":
                return DType("block")
            if attr == "shape":
                return tuple(base.shape)
            return BoundMethod(base, attr)
        if isinstance(base, I.Descriptor):
            return BoundMethod(base, attr)
        if isinstance(base, Ptr) and attr in ("dtype", "type"):
            # a pointer's element type: the tensor's (a `dtype` line), float32 by default
            held = base.tensor.base or base.tensor
            return DType(POINTER + (held.dtype or "float32"))
        if isinstance(base, (Ints, Mask, Ptr)):
            if attr in ("dtype", "type"):
                return DType("int" if not isinstance(base, Ptr) else "pointer")
            if attr == "shape":
                return tuple(base.shape if not isinstance(base, Mask) else base.array.shape)
            return BoundMethod(base, attr)
        if isinstance(base, DType):
            if attr == "element_ty" and base.name.startswith(POINTER):
                return DType(base.name[len(POINTER) :])
            return DType(f"{base.name}.{attr}")
        if isinstance(base, Opaque):
            if attr == "backend":
                return "cuda"  # the target is taken to be a CUDA GPU (see docs/triton.md)
            if attr == "multi_processor_count" and base.what.endswith("get_device_properties()"):
                return self.sm_count()  # torch.cuda.get_device_properties(d).multi_processor_count
            return Opaque(f"{base.what}.{attr}")
        if isinstance(base, Kernel) and attr == "fn":
            return base
        if isinstance(base, custom_ops.CustomOp) and attr in custom_ops.REGISTRATIONS:
            return custom_ops.Registration(attr)
        if isinstance(base, int) and not isinstance(base, bool) and attr == "to":
            return BoundMethod(base, attr)
        if isinstance(base, (int, float, bool, str)) and attr == "value":
            return base  # a `tl.constexpr(...)` read back
        raise KernelError("STL002", f"unsupported attribute `.{attr}` of {describe(base)}")

    def module_attribute(self, module: str, attr: str) -> Any:
        if module == "triton":
            if attr == "language":
                return Module("tl")
            if attr in TRITON_FUNCTIONS:
                return Builtin(f"triton.{attr}")
            if attr in ("runtime", "testing", "compiler", "backends"):
                return Opaque(f"triton.{attr}")
        if module in ("tl", "tl.math", "tl.extra"):
            if attr in DTYPES:
                return DType(attr)
            if attr in ("math", "extra", "libdevice", "cuda"):
                return Module("tl.math" if attr in ("math", "libdevice") else "tl.extra")
            names = TL_FUNCTIONS if module == "tl" else MATH_FUNCTIONS
            if attr in names:
                return Builtin(f"tl.{attr}")
            if attr == "tensor":
                return DType("tensor")
        if module == "torch.library" and attr in custom_ops.FUNCTIONS:
            return Builtin(f"torch.library.{attr}")
        if module == "torch" and attr == "library":
            return Module("torch.library")
        if module == "flag_gems.utils" and attr in LIBRARY_DECORATORS:
            return Builtin(f"flag_gems.{attr}")
        if module == "torch":
            if attr in TORCH_FUNCTIONS:
                return Builtin(f"torch.{attr}")
            if attr in DTYPES or attr in ("float", "half", "long", "int", "bfloat16"):
                return DType(attr)
            if attr in (
                "cuda",
                "device",
                "Tensor",
                "float8_e4m3fn",
                "float8_e5m2",
                "no_grad",
                "inference_mode",
                "enable_grad",
            ):
                return Opaque(f"torch.{attr}")
        if module in ("np", "math"):
            table = {
                "inf": float("inf"),
                "pi": Special(math.pi, "pi", Span(0, 0, 0, 0)),
                "e": math.e,
                "sqrt": Builtin("sqrt"),
                "exp": Builtin("exp"),
                "log2": Builtin("math.log2"),
                "log": Builtin("math.log"),
                "ceil": Builtin("math.ceil"),
                "prod": Builtin("math.prod"),
            }
            if attr in table:
                return table[attr]
        raise KernelError(
            "STL002", f"unsupported: `{module}.{attr}` is not followed by the analyzer"
        )

    # ------------------------------------------------------------ subscripts

    def eval_Subscript(self, node: cst.Subscript) -> Any:
        base = self.eval(node.value)
        items = []
        for element in node.slice:
            index = element.slice
            if isinstance(index, cst.Index):
                items.append(self.eval(index.value))
            elif isinstance(index, cst.Slice):
                parts = [
                    None if p is None else self.eval(p)
                    for p in (index.lower, index.upper, index.step)
                ]
                items.append(slice(*parts))
        if isinstance(base, Kernel):
            return Launcher(base, items[0] if len(items) == 1 else tuple(items))
        if isinstance(base, Opaque) and base.what.endswith("get_device_properties()"):
            # triton.runtime.driver.active.utils.get_device_properties(d)[...]
            key = items[0].value if isinstance(items[0], SpecText) else items[0]
            if key == "multiprocessor_count":
                return self.sm_count(node)
            raise KernelError(
                "STL002", f"unsupported: the device property {key!r} (not modelled)", node=node
            )
        if isinstance(base, dict):
            key = items[0].value if isinstance(items[0], SpecText) else items[0]
            if key not in base:
                raise KernelError("STL002", f"no key {key!r}")
            return base[key]
        if isinstance(base, (tuple, list)):
            index = items[0]
            if isinstance(index, slice):
                return base[index]
            if isinstance(index, int) and -len(base) <= index < len(base):
                return base[index]
            if isinstance(index, int) and not isinstance(index, bool):
                kind = "tuple" if isinstance(base, tuple) else "list"
                raise python_error(
                    IndexError(f"{kind} index out of range ({index} of {len(base)})")
                )
            raise KernelError("STL002", f"unsupported: index {describe(index)} of a sequence")
        if isinstance(base, (Block, Ints, Mask, Ptr)):
            if not all(i is None or i == slice(None) for i in items):
                raise KernelError(
                    "STL002",
                    "unsupported: block indexing other than `[:, None]`-style broadcasting",
                )
            if isinstance(base, Block):
                return blocks.expand(base, items)
            if isinstance(base, Ptr):
                return Ptr(base.tensor, I.expand(base.offset, items))  # type: ignore[arg-type]
            return I.expand(base, items)
        raise KernelError("STL002", f"unsupported subscript of {describe(base)}")

    # ------------------------------------------------------------ calls

    def eval_Call(self, node: cst.Call) -> Any:
        func = self.eval(node.func)
        if isinstance(func, Builtin) and func.name in HINT_CALLS:
            return None  # hints to the compiler: their arguments are not even evaluated
        args, kwargs = self.call_arguments(node)
        return self.call(func, args, kwargs, node)

    def call_value(self, func: Any, args: list, kwargs: dict, node: cst.CSTNode) -> Any:
        return self.call(func, args, kwargs, node)  # type: ignore[arg-type]

    def call(self, func: Any, args: list, kwargs: dict, node: cst.Call) -> Any:
        if isinstance(func, Kernel):
            if self.in_kernel:
                return self.call_function(func.function, args, kwargs, node)
            raise KernelError(
                "STL002", f"a @triton.jit function is launched as {func.name}[grid](...)"
            )
        if isinstance(func, Launcher):
            self.launches.append(Launch(func.kernel, func.grid, args, kwargs, node))
            return None
        if isinstance(func, Closure):
            return self.call_closure(func, args, kwargs, node)
        if isinstance(func, PythonMethod):
            return self.call_python_method(func, args, kwargs, node)
        if isinstance(func, BoundMethod) and isinstance(func.base, Ctx):
            return None  # saving tensors for backward changes no value
        if isinstance(func, BoundMethod):
            return self.call_bound(func, args, kwargs, node)
        if isinstance(func, AutogradApply):
            forward = func.cls.methods.get("forward")
            if not isinstance(forward, Function):
                raise KernelError("STL002", f"{func.cls.name} has no forward to apply")
            return self.call_function(forward, [Ctx(), *args], kwargs, node)
        if isinstance(func, Decorator) and len(args) == 1 and not kwargs:
            if isinstance(args[0], (Function, Kernel)):
                # `f = triton.heuristics(...)(f)`: the decorator applied late
                return self.decorate(func, args[0], node)
        if isinstance(func, Function):
            return self.call_function(func, args, kwargs, node)
        if isinstance(func, custom_ops.CustomOp):
            result = self.call_function(func.function, args, kwargs, node)
            return custom_ops.checked_result(func, args, kwargs, result, node)
        if isinstance(func, custom_ops.Registration):
            # `@op.register_fake` takes the function and returns it; a registration
            # called with anything else registers it (no eager value changes)
            one = len(args) == 1 and not kwargs and isinstance(args[0], Function)
            return args[0] if one else func
        if isinstance(func, Builtin):
            return self.call_builtin(func.name, args, kwargs, node)
        if isinstance(func, Opaque) and not self.in_kernel:
            return Opaque(f"{func.what}()")  # a runtime query: its value is never looked into
        raise KernelError("STL002", f"unsupported call of {describe(func)}")

    def call_builtin(self, name: str, args: list, kwargs: dict, node: cst.Call) -> Any:
        if name.startswith("tl."):
            if not self.in_kernel and name not in ("tl.cdiv", "tl.constexpr"):
                raise KernelError("STL002", f"{name}() is used outside a @triton.jit function")
            return self.call_tl(name[3:], args, kwargs, node)
        if name.startswith("triton."):
            return self.call_triton(name[7:], args, kwargs, node)
        if name.startswith("torch.library."):
            return custom_ops.call(self, name[len("torch.library.") :], args, kwargs, node)
        if name.startswith("torch."):
            return self.call_torch(name[6:], args, kwargs, node)
        if name.startswith("flag_gems.") and not args and not kwargs:
            return Decorator("jit")  # `@libentry()`: registers and caches, same launch
        args = [a.value if isinstance(a, Special) else a for a in args]
        python = self.python_call(name, args, kwargs, node)
        if python is not NOT_MINE:
            return python
        if name == "len":
            if isinstance(args[0], Tensor):
                if not args[0].sizes:  # torch's own error for a 0-d tensor
                    raise python_error(TypeError("len() of a 0-d tensor"))
                return args[0].sizes[0]  # torch: the size of the first dim
            if not isinstance(args[0], (tuple, list, dict, str)):
                raise KernelError("STL002", f"unsupported: len() of {describe(args[0])}")
            return len(args[0])
        if name in ("tuple", "list"):
            return (tuple if name == "tuple" else list)(args[0]) if args else ()
        if name == "bool":
            return self.truth(args[0], node)
        if name == "print":
            return None
        if name == "isinstance":
            return self.is_instance(args[0], args[1])
        if name == "math.log2":
            return math.log2(float(args[0]))
        if name == "math.log":
            return math.log(float(args[0]))
        if name == "math.ceil":
            return math.ceil(args[0])
        if name == "math.prod" or name == "sum":
            items = list(args[0])
            total = 1 if name == "math.prod" else 0
            for v in items:
                total = total * v if name == "math.prod" else total + v
            return total
        if name in ("min", "max") and any(isinstance(a, Ints) for a in args):
            if self.in_kernel and len(args) == 2 and not kwargs:
                # min/max of Triton integers are tl.minimum/tl.maximum: typed
                return I.minimum_maximum("minimum" if name == "min" else "maximum", *args)
            args = [int(I.concrete(a, name)) if isinstance(a, Ints) else a for a in args]
        if name == "range":
            args = [int(I.concrete(a, "range")) if isinstance(a, Ints) else a for a in args]
        if name in ("int", "float") and args and isinstance(args[0], (Ints, SpecScalar, Block)):
            return args[0]
        return super().call_builtin(name, args, kwargs, node)

    # Host calls are in HostCalls; kernel values, memory and launches in KernelOps.

    def _poison_targets(self, node: cst.CSTNode) -> None:
        if self.lenient:
            self._poison_module_targets(node)
            return
        if self.in_kernel and _is_store(node):
            self.store_failed = True  # what it would have written is unknown
        super()._poison_targets(node)


class TritonLibrary(Library):
    """The hooks of the shared interpreter; the Triton values are handled by
    :class:`TritonInterpreter`'s own handlers."""

    def bind(self, interp: Interpreter, name: str, value: Any, node: cst.CSTNode) -> Any:
        # a new tensor is named by the variable it is first bound to
        if isinstance(value, Tensor) and value.role == "new" and value.name.startswith("<"):
            value.name = name
            contiguous = value.contiguous
            value.strides = (
                row_major(name, value.sizes) if contiguous else symbolic_strides(name, value.sizes)
            )
        return value


# the methods of an autograd context: they record what backward needs
CTX_NO_OPS = frozenset({"save_for_backward", "mark_non_differentiable", "set_materialize_grads"})
# FlagGems' kernel decorators that only register or cache the jit function: the
# launch runs the same kernel on the same arguments
LIBRARY_DECORATORS = frozenset({"libentry"})


def _imports(module: cst.Module, source: str, name: str) -> bool:
    """Whether the module has ``from source import name`` at top level."""
    for stmt in module.body:
        if not isinstance(stmt, cst.SimpleStatementLine):
            continue
        for small in stmt.body:
            if (
                isinstance(small, cst.ImportFrom)
                and small.module is not None
                and decorator_name(small.module) == source
                and not isinstance(small.names, cst.ImportStar)
                and any(decorator_name(a.name) == name and a.asname is None for a in small.names)
            ):
                return True
    return False


# the numbers of SMs a wrapper that queries its device is checked for: one, a few, and
# an H100's 132 (a persistent kernel must be right whatever the device)
DEVICE_SMS = (1, 3, 132)

# context managers known to change no value: device selection, gradient modes
NULL_CONTEXTS = frozenset(
    {
        "torch.cuda.device()",
        "torch.device()",
        "torch.no_grad()",
        "torch.inference_mode()",
        "torch.enable_grad()",
    }
)


def _operand(interp: TritonInterpreter, node: cst.BaseExpression) -> str:
    """An operand's text, parenthesized when a method call on it would need it."""
    text = interp.source_of(node)
    simple = isinstance(node, (cst.Name, cst.Attribute, cst.Call, cst.Subscript, cst.Integer))
    return text if simple or node.lpar else f"({text})"


def _real_operand(value: Any) -> bool:
    return isinstance(value, (float, Fraction)) and not isinstance(value, bool)


def _as_real(value: Any, op: str) -> Any:
    """A scalar Triton integer read as the number it holds (float arithmetic)."""
    if not isinstance(value, Ints):
        return value
    if value.shape:
        raise KernelError(
            "STL002", f"unsupported: `{op}` of an integer block and a float (cast it first)"
        )
    return int(I.concrete(value, op))


def _plain(value: Any) -> Any:
    if isinstance(value, SpecText):
        return value.value
    if isinstance(value, (tuple, list)):
        return tuple(_plain(v) for v in value)
    return value


def _block_if(node: cst.CSTNode) -> bool:
    raise KernelError("STL002", "unsupported: `if` on an integer block", node=node)


def _is_contiguity(test: cst.BaseExpression) -> bool:
    if isinstance(test, cst.BooleanOperation) and isinstance(test.operator, cst.And):
        return _is_contiguity(test.left) and _is_contiguity(test.right)
    return (
        isinstance(test, cst.Call)
        and isinstance(test.func, cst.Attribute)
        and test.func.attr.value == "is_contiguous"
        and not test.args
    )


def _contiguity_names(test: cst.BaseExpression) -> list[cst.BaseExpression]:
    if isinstance(test, cst.BooleanOperation):
        return _contiguity_names(test.left) + _contiguity_names(test.right)
    assert isinstance(test, cst.Call) and isinstance(test.func, cst.Attribute)
    return [test.func.value]


def _is_store(node: cst.CSTNode) -> bool:
    if isinstance(node, cst.Expr) and isinstance(node.value, cst.Call):
        func = node.value.func
        return isinstance(func, cst.Attribute) and func.attr.value == "store"
    return False


def _code(node: cst.CSTNode) -> str:
    return cst.Module([]).code_for_node(node)


# Host decorators that return a function computing the same values (gradient
# modes, caching, static methods); written as in the source, with or without `()`.
VALUE_PRESERVING_DECORATORS = frozenset(
    {
        "torch.no_grad",
        "torch.inference_mode",
        "torch.enable_grad",
        "torch.compiler.disable",
        "staticmethod",
        "functools.cache",
        "functools.lru_cache",
    }
)


def _is_plain_global(value: Any) -> bool:
    """A Python value a kernel may not read from a module global (Triton accepts modules,
    jit functions, dtypes and ``tl.constexpr`` objects)."""
    return isinstance(
        value, (int, float, str, tuple, list, dict, SpecText, Special, Function, Closure, Tensor)
    )


def constexpr_globals(module: cst.Module) -> frozenset[str]:
    """The module globals bound to ``tl.constexpr(...)`` (the only data globals a kernel
    may read)."""
    names: set[str] = set()
    for stmt in module.body:
        if not isinstance(stmt, cst.SimpleStatementLine):
            continue
        for small in stmt.body:
            value = small.value if isinstance(small, (cst.Assign, cst.AnnAssign)) else None
            if not isinstance(value, cst.Call) or not decorator_name(value).endswith("constexpr"):
                continue
            targets = (
                [t.target for t in small.targets]
                if isinstance(small, cst.Assign)
                else [small.target]  # type: ignore[union-attr]
            )
            names.update(t.value for t in targets if isinstance(t, cst.Name))
    return frozenset(names)


def decorator_name(node: cst.BaseExpression) -> str:
    """``torch.no_grad`` for ``@torch.no_grad()`` or ``@torch.no_grad``; else ""."""
    if isinstance(node, cst.Call):
        node = node.func
    parts = []
    while isinstance(node, cst.Attribute):
        parts.append(node.attr.value)
        node = node.value
    if not isinstance(node, cst.Name):
        return ""
    parts.append(node.value)
    return ".".join(reversed(parts))
