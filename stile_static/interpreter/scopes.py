"""Python's scoping rules, as far as kernels need them.

A name assigned anywhere in a function body is local to the whole body
(reading it before the assignment is an ``UnboundLocalError``); other names
resolve in the enclosing functions' scopes (closures, which see the current
value of the enclosing variable), then the module's, then the builtins
(LEGB). Calls bind arguments to parameters of every kind the way Python does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import libcst as cst

from .values import python_error

if TYPE_CHECKING:
    from .values import Function

_LOCALS: dict[int, tuple[cst.FunctionDef, frozenset[str]]] = {}


def local_names(func: cst.FunctionDef) -> frozenset[str]:
    """The names local to ``func``: its parameters and every name its body binds."""
    hit = _LOCALS.get(id(func))
    if hit is not None and hit[0] is func:
        return hit[1]
    finder = _Binders()
    for param in parameters(func):
        finder.names.add(param.name.value)
    star = func.params.star_arg
    if isinstance(star, cst.Param):
        finder.names.add(star.name.value)
    if isinstance(func.params.star_kwarg, cst.Param):
        finder.names.add(func.params.star_kwarg.name.value)
    func.body.visit(finder)
    names = frozenset(finder.names - finder.declared)
    _LOCALS[id(func)] = (func, names)
    return names


def parameters(func: cst.FunctionDef) -> list[cst.Param]:
    """The named parameters in order: positional-only, ordinary, keyword-only."""
    p = func.params
    return [*p.posonly_params, *p.params, *p.kwonly_params]


class _Binders(cst.CSTVisitor):
    """Names bound in a function body, not descending into nested scopes."""

    def __init__(self) -> None:
        self.names: set[str] = set()
        self.declared: set[str] = set()  # `global` and `nonlocal` names

    def _targets(self, node: cst.CSTNode) -> None:
        if isinstance(node, cst.Name):
            self.names.add(node.value)
        elif isinstance(node, (cst.Tuple, cst.List)):
            for element in node.elements:
                self._targets(element.value)
        elif isinstance(node, cst.StarredElement):
            self._targets(node.value)

    def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
        self._targets(node.target)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self._targets(node.target)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        self._targets(node.target)

    def visit_For(self, node: cst.For) -> None:
        self._targets(node.target)

    def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
        self._targets(node.target)

    def visit_AsName(self, node: cst.AsName) -> None:
        self._targets(node.name)

    def visit_Del(self, node: cst.Del) -> None:
        self._targets(node.target)

    def visit_Import(self, node: cst.Import) -> None:
        for alias in node.names:
            if alias.asname is None:
                top = alias.name
                while isinstance(top, cst.Attribute):
                    top = top.value
                self._targets(top)

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        if isinstance(node.names, cst.ImportStar):
            return
        for alias in node.names:
            if alias.asname is None:
                self._targets(alias.name)

    def visit_Global(self, node: cst.Global) -> None:
        self.declared.update(n.name.value for n in node.names)

    def visit_Nonlocal(self, node: cst.Nonlocal) -> None:
        self.declared.update(n.name.value for n in node.names)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        self.names.add(node.name.value)
        return False  # its body is its own scope (defaults and decorators: see below)

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        self.names.add(node.name.value)
        return False

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return False

    def _comprehension(self, node: cst.CSTNode) -> bool:
        return False  # comprehension variables are local to the comprehension

    visit_ListComp = visit_SetComp = visit_DictComp = visit_GeneratorExp = _comprehension


class _Yields(cst.CSTVisitor):
    def __init__(self) -> None:
        self.found = False

    def visit_Yield(self, node: cst.Yield) -> None:
        self.found = True

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return False


def is_generator(func: cst.FunctionDef) -> bool:
    """Whether ``func``'s own body yields (calling it then runs none of the body)."""
    finder = _Yields()
    func.body.visit(finder)
    return finder.found


@dataclass(frozen=True)
class Signature:
    """The parameters of a callable, as ``inspect.signature`` lists them: the binder
    of Python functions and the tables of library functions share it."""

    name: str
    positional: tuple[str, ...] = ()  # positional or keyword
    posonly: tuple[str, ...] = ()
    kwonly: tuple[str, ...] = ()
    defaults: tuple[tuple[str, Any], ...] = ()  # by name, positional and keyword-only alike
    star: str | None = None  # the name of ``*args``
    kwstar: str | None = None  # the name of ``**kwargs``

    @property
    def names(self) -> tuple[str, ...]:
        return (*self.posonly, *self.positional, *self.kwonly)


def function_signature(func: Function) -> Signature:
    """The signature of a function the kernel defines."""
    p = func.node.params
    star = p.star_arg if isinstance(p.star_arg, cst.Param) else None
    kwstar = p.star_kwarg if isinstance(p.star_kwarg, cst.Param) else None
    return Signature(
        func.node.name.value,
        tuple(q.name.value for q in p.params),
        tuple(q.name.value for q in p.posonly_params),
        tuple(q.name.value for q in p.kwonly_params),
        tuple(func.defaults.items()),
        star.name.value if star is not None else None,
        kwstar.name.value if kwstar is not None else None,
    )


def bind_arguments(func: Function, args: list, kwargs: dict[str, Any]) -> dict[str, Any]:
    """The frame of a call: parameters bound as Python binds them (else its TypeError)."""
    return bind_signature(function_signature(func), args, kwargs)


def bind_signature(
    sig: Signature,
    args: list,
    kwargs: dict[str, Any],
    where: Callable[[str], cst.CSTNode | None] | None = None,
) -> dict[str, Any]:
    """``args`` and ``kwargs`` bound to ``sig``'s parameters as Python binds them, the
    defaults filled in; a call Python refuses is its TypeError (``where`` locates a
    keyword argument, so the error points at it)."""
    name = sig.name
    positional = [*sig.posonly, *sig.positional]
    names: dict[str, Any] = {}
    for param, value in zip(positional, args):
        names[param] = value
    extra = tuple(args[len(positional) :])
    if extra and sig.star is None:
        raise python_error(
            TypeError(f"{name}() takes {len(positional)} positional arguments, {len(args)} given")
        )
    if sig.star is not None:
        names[sig.star] = extra
    keywords = {*sig.positional, *sig.kwonly}
    extra_keywords: dict[str, Any] = {}
    for key, value in kwargs.items():
        node = where(key) if where is not None else None
        if key in sig.posonly and sig.kwstar is not None:
            extra_keywords[key] = value  # Python passes it to **kwargs
            continue
        if key in sig.posonly:
            raise python_error(
                TypeError(
                    f"{name}() got some positional-only arguments passed as keyword: '{key}'"
                ),
                node,
            )
        if key not in keywords and sig.kwstar is not None:
            extra_keywords[key] = value
            continue
        if key not in keywords:
            raise python_error(
                TypeError(f"{name}() got an unexpected keyword argument '{key}'"), node
            )
        if key in names:
            raise python_error(
                TypeError(f"{name}() got multiple values for argument '{key}'"), node
            )
        names[key] = value
    defaults = dict(sig.defaults)
    for key in sig.names:
        if key not in names:
            if key not in defaults:
                raise python_error(TypeError(f"{name}() missing required argument: '{key}'"))
            names[key] = defaults[key]
    if sig.kwstar is not None:
        names[sig.kwstar] = extra_keywords
    return names


def argument_node(call: Any, sig: Signature, param: str, receiver: bool = False) -> Any:
    """The argument of ``call`` that binds ``param`` (the call itself when it cannot be
    told, e.g. after a ``*args``); ``receiver``: a method call, whose first parameter
    is the object before the dot. Where a diagnostic about a parameter goes."""
    if not isinstance(call, cst.Call):
        return call
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == param:
            return arg
    positional = [*sig.posonly, *sig.positional]
    if param not in positional:
        return call
    index = positional.index(param) - (1 if receiver else 0)
    if index < 0:
        return call
    plain = [arg for arg in call.args if arg.keyword is None]
    if any(arg.star for arg in plain[: index + 1]):
        return call
    return plain[index] if index < len(plain) else call
