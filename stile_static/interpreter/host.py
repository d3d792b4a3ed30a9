"""The Python of host code (wrappers, helpers, module level), shared by every front end.

Wrappers are ordinary Python: literals of lists, dicts and sets, comprehensions,
starred unpacking, ``*args``/``**kwargs``, lambdas with defaults, ``while``
loops over ints, the methods of lists, dicts and tuples, item assignment,
``with`` blocks of context managers known to change nothing, the import-fallback
``try``/``except ImportError``. :class:`HostInterpreter` follows them with
Python's semantics once, for every front end; a front end adds only its
library's values (through its own handlers, falling back to these). Whatever
is not modelled here is STL002 at its node.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import libcst as cst

from ..core.errors import KernelError, Poisoned
from .core import Interpreter, _Frame, assigned_names, dotted
from .library import NOT_MINE
from .loops import _Break, _Continue, target_names
from .scopes import Signature, bind_signature
from .values import Closure, Poison, PythonMethod, SpecText, kind, python_error

# builtins of plain Python values this module computes (front ends look them up)
HOST_BUILTINS = frozenset(
    "divmod sorted enumerate zip reversed any all dict len tuple list set sum".split()
)
# methods of Python's own containers that are followed, by type
_METHODS: dict[type, frozenset[str]] = {
    list: frozenset("append extend insert pop index count copy".split()),
    dict: frozenset("get items keys values update setdefault pop copy".split()),
    tuple: frozenset("index count".split()),
}
# exception types whose handler catches a failed import
_IMPORT_ERRORS = frozenset({"ImportError", "ModuleNotFoundError", "Exception", "BaseException"})


def key_of(value: Any) -> Any:
    """A dict key or set element as Python sees it (string literals compare as str)."""
    return value.value if isinstance(value, SpecText) else value


class HostInterpreter(Interpreter):
    """The interpreter of host-side Python every front end builds on."""

    #: whether the module body is being run (errors there only poison names)
    lenient: bool = False

    # ------------------------------------------------------------- hooks

    def call_value(self, func: Any, args: list, kwargs: dict, node: cst.CSTNode) -> Any:
        """Call any callable value (a front end dispatches its own kinds)."""
        if isinstance(func, Closure):
            return self.call_closure(func, args, kwargs, node)
        if isinstance(func, PythonMethod):
            return self.call_python_method(func, args, kwargs, node)
        raise KernelError("STL002", f"unsupported call of {kind(func)}")

    def null_context(self, value: Any) -> bool:
        """Whether ``with value:`` is known to change nothing (a front end names them)."""
        return False

    def assign_attribute(self, base: Any, target: cst.Attribute, value: Any) -> None:
        """``base.name = value`` (a front end names the objects that take it)."""
        raise KernelError(
            "STL002", f"unsupported: attribute assignment to {kind(base)}", node=target
        )

    def assign_item(self, base: Any, target: cst.Subscript, value: Any) -> None:
        """``base[...] = value`` for a base that is not a Python container."""
        raise KernelError("STL002", f"unsupported: item assignment to {kind(base)}", node=target)

    # ------------------------------------------------------------ literals

    def _elements(self, elements: Any) -> list:
        out: list = []
        for element in elements:
            value = self.eval(element.value)
            if isinstance(element, cst.StarredElement):
                out.extend(self.iterate(value, element))
            else:
                out.append(value)
        return out

    def eval_List(self, node: cst.List) -> list:
        return self._elements(node.elements)

    def eval_Tuple(self, node: cst.Tuple) -> tuple:
        return tuple(self._elements(node.elements))

    def eval_Set(self, node: cst.Set) -> list:
        # a set is kept as the list of its distinct elements in the order written
        return _distinct(self._elements(node.elements))

    def eval_Dict(self, node: cst.Dict) -> dict:
        out: dict = {}
        for element in node.elements:
            if isinstance(element, cst.StarredDictElement):
                value = self.eval(element.value)
                if not isinstance(value, dict):
                    raise KernelError("STL002", f"unsupported: `**` of {kind(value)} in a dict")
                out.update(value)
                continue
            out[key_of(self.eval(element.key))] = self.eval(element.value)
        return out

    def eval_Ellipsis(self, node: cst.Ellipsis) -> Any:
        return Ellipsis

    def iterate(self, value: Any, node: cst.CSTNode) -> list:
        """The items a ``for``, a comprehension or a ``*`` goes through."""
        if isinstance(value, dict):
            return list(value)
        if isinstance(value, (list, tuple, range)):
            return list(value)
        if isinstance(value, SpecText):
            return [SpecText(c, value.node) for c in value.value]
        raise KernelError("STL002", f"unsupported: iterating over {kind(value)}", node=node)

    # ------------------------------------------------------- comprehensions

    def eval_ListComp(self, node: cst.ListComp) -> list:
        return self.comprehension(node.for_in, lambda: [self.eval(node.elt)])

    def eval_SetComp(self, node: cst.SetComp) -> list:
        return _distinct(self.comprehension(node.for_in, lambda: [self.eval(node.elt)]))

    def eval_GeneratorExp(self, node: cst.GeneratorExp) -> list:
        # consumed at once by what it is passed to (sum, tuple, any, ...)
        return self.comprehension(node.for_in, lambda: [self.eval(node.elt)])

    def eval_DictComp(self, node: cst.DictComp) -> dict:
        def item() -> list:
            return [(key_of(self.eval(node.key)), self.eval(node.value))]

        return dict(self.comprehension(node.for_in, item))

    def comprehension(self, clause: cst.CompFor, produce: Callable[[], list]) -> list:
        """``[... for x in xs if c for y in ys]``, in a scope of its own."""
        self.frames.append(_Frame(dict(self.frames[-1].names)))
        try:
            return self._clauses(clause, produce)
        finally:
            self.frames.pop()

    def _clauses(self, clause: cst.CompFor | None, produce: Callable[[], list]) -> list:
        if clause is None:
            return produce()
        if clause.asynchronous is not None:
            raise KernelError("STL002", "unsupported: `async for` in a comprehension")
        out: list = []
        for item in self.iterate(self.eval(clause.iter), clause.iter):
            self.assign_target(clause.target, item, clause.iter)
            if all(self.truth(self.eval(c.test), c.test) for c in clause.ifs):
                out.extend(self._clauses(clause.inner_for_in, produce))
        return out

    # ---------------------------------------------------------- functions

    def eval_Lambda(self, node: cst.Lambda) -> Closure:
        names = dict(self.frames[-1].names) if len(self.frames) > 1 else {}
        return Closure(node, names, self.parameter_defaults(node.params))

    def parameter_defaults(self, params: cst.Parameters) -> dict[str, Any]:
        return {
            p.name.value: self.eval(p.default)
            for p in (*params.posonly_params, *params.params, *params.kwonly_params)
            if p.default is not None
        }

    def call_closure(self, func: Closure, args: list, kwargs: dict, node: cst.CSTNode) -> Any:
        if len(self.frames) > 40:
            raise KernelError("STL002", "unsupported: functions nested too deeply")
        p = func.node.params
        name = func.node.name.value if isinstance(func.node, cst.FunctionDef) else "<lambda>"
        sig = Signature(
            name,
            tuple(q.name.value for q in p.params),
            tuple(q.name.value for q in p.posonly_params),
            tuple(q.name.value for q in p.kwonly_params),
            tuple(func.defaults.items()),
            p.star_arg.name.value if isinstance(p.star_arg, cst.Param) else None,
            p.star_kwarg.name.value if isinstance(p.star_kwarg, cst.Param) else None,
        )
        names = dict(func.names)
        names.update(bind_signature(sig, args, kwargs))
        return self.run_in_frame(_Frame(names), func.node.body)

    def call_arguments(self, node: cst.Call) -> tuple[list, dict[str, Any]]:
        """The positional and keyword arguments of a call, ``*`` and ``**`` unpacked."""
        args: list = []
        kwargs: dict[str, Any] = {}
        for arg in node.args:
            value = self.eval(arg.value)
            if arg.star == "*":
                args.extend(self.iterate(value, arg))
            elif arg.star == "**":
                if not isinstance(value, dict):
                    raise KernelError("STL002", f"unsupported: `**` of {kind(value)}", node=arg)
                for key, item in value.items():
                    if key in kwargs:
                        raise python_error(
                            TypeError(f"got multiple values for keyword argument '{key}'"), arg
                        )
                    kwargs[key] = item
            elif arg.keyword is not None:
                kwargs[arg.keyword.value] = value
            else:
                args.append(value)
        return args, kwargs

    # ---------------------------------------------------------- assignment

    def assign_target(self, target: cst.BaseExpression, value: Any, value_node: cst.CSTNode) -> Any:
        if isinstance(target, cst.Subscript):
            self._assign_subscript(target, value)
            return value
        if isinstance(target, cst.Attribute):
            self.assign_attribute(self.eval(target.value), target, value)
            return value
        if isinstance(target, (cst.Tuple, cst.List)):
            if isinstance(value, list):
                value = tuple(value)
            starred = [
                k for k, e in enumerate(target.elements) if isinstance(e, cst.StarredElement)
            ]
            if starred and isinstance(value, tuple):
                (k,) = starred  # Python refuses two starred targets at compile time
                after = len(target.elements) - k - 1
                if len(value) < k + after:
                    raise python_error(
                        ValueError(
                            f"not enough values to unpack (expected at least {k + after}, "
                            f"got {len(value)})"
                        ),
                        target,
                    )
                rest = list(value[k : len(value) - after])
                items = (*value[:k], rest, *value[len(value) - after :])
                plain = [e.value for e in target.elements]
                return tuple(self.assign_target(t, v, value_node) for t, v in zip(plain, items))
        return super().assign_target(target, value, value_node)

    def _assign_subscript(self, target: cst.Subscript, value: Any) -> None:
        base = self.eval(target.value)
        if not isinstance(base, (list, dict)):
            self.assign_item(base, target, value)
            return
        if len(target.slice) != 1 or not isinstance(target.slice[0].slice, cst.Index):
            raise KernelError("STL002", "unsupported: a slice assignment", node=target)
        key = key_of(self.eval(target.slice[0].slice.value))
        if isinstance(base, dict):
            base[key] = value
            return
        if not isinstance(key, int):
            raise python_error(TypeError(f"list indices must be integers, not {kind(key)}"))
        if not -len(base) <= key < len(base):
            raise python_error(IndexError("list assignment index out of range"), target)
        base[key] = value

    # ---------------------------------------------------------- statements

    def exec_While(self, node: cst.While) -> None:
        """A ``while`` loop, run as Python runs it (the step budget bounds it)."""
        if node.orelse is not None:
            raise KernelError("STL002", "unsupported: `while ... else`", node=node)
        while self.truth(self.eval(node.test), node.test):
            try:
                self.exec_block(node.body)
            except _Break:
                break
            except _Continue:
                continue

    def exec_With(self, node: cst.With) -> None:
        if node.asynchronous is not None:
            raise KernelError("STL002", "unsupported: `async with`", node=node)
        for item in node.items:
            try:
                value = self.eval(item.item)
            except (KernelError, Poisoned):
                self._poison_body(node)
                raise
            if item.asname is not None or not self.null_context(value):
                self._poison_body(node)
                raise KernelError(
                    "STL002",
                    f"unsupported: a `with` block of {kind(value)}, which the analyzer does "
                    "not know to change nothing",
                    help="known to change nothing: device selection and gradient modes "
                    "(`with torch.cuda.device(...)`, `with torch.no_grad()`)",
                    node=item.item,
                )
        self.exec_block(node.body)

    def _poison_body(self, node: cst.CSTNode) -> None:
        # what the block would have bound is unknown; later uses stay silent
        for name in assigned_names(node):
            self.store(name, Poison())

    def binary(self, op: str, left: Any, right: Any) -> Any:
        if isinstance(left, (tuple, list)) or isinstance(right, (tuple, list)):
            if op == "+" and type(left) is type(right):
                return left + right
            if op == "*" and isinstance(right, int) and not isinstance(right, bool):
                return left * right
            if op == "*" and isinstance(left, int) and not isinstance(left, bool):
                return right * left
            raise KernelError("STL002", f"unsupported: `{op}` of {kind(left)} and {kind(right)}")
        return super().binary(op, left, right)

    def exec_Try(self, node: cst.Try) -> None:
        """At module level, the import-fallback idiom: the body, or, when the body
        cannot be followed, the handler that catches an ImportError (then ``else``
        and ``finally``). Anywhere else a ``try`` is not followed."""
        if not self.lenient:
            raise self._unsupported(node)
        before = self.reports
        self.exec_block(node.body)
        failed = self.reports > before or self.poisoned(node.body.body)
        handler = next((h for h in node.handlers if catches_import_error(h)), None)
        if failed and handler is not None:
            self.exec_block(handler.body)
        elif not failed and node.orelse is not None:
            self.exec_block(node.orelse.body)
        if node.finalbody is not None:
            self.exec_block(node.finalbody.body)

    def poisoned(self, body: Any) -> bool:
        """Whether a name the statements bind is unusable (an import not followed)."""
        names = self.frames[-1].names
        return any(
            isinstance(names.get(name), Poison) for stmt in body for name in names_bound(stmt)
        )

    # ------------------------------------------------- builtins and methods

    def python_call(self, name: str, args: list, kwargs: dict, node: cst.CSTNode) -> Any:
        """A builtin of :data:`HOST_BUILTINS` on plain values, or NOT_MINE."""
        if name not in HOST_BUILTINS:
            return NOT_MINE
        if name == "sorted":
            return self._sorted(args, kwargs, node)
        if kwargs and name != "dict":
            raise KernelError("STL002", f"unsupported: keyword arguments to {name}()")
        if name == "divmod":
            a, b = args
            if not all(isinstance(v, int) and not isinstance(v, bool) for v in (a, b)):
                return NOT_MINE
            if b == 0:
                raise python_error(ZeroDivisionError("integer division or modulo by zero"))
            return divmod(a, b)
        if name == "dict":
            out = dict(self._pairs(args[0], node)) if args else {}
            out.update(kwargs)
            return out
        if name in ("tuple", "list", "set"):
            if not args:
                return () if name == "tuple" else []
            items = self.iterate(args[0], node)
            if name == "set":
                return _distinct(items)
            return tuple(items) if name == "tuple" else items
        if name == "len":
            (value,) = args
            if isinstance(value, (list, tuple, dict, range)):
                return len(value)
            if isinstance(value, SpecText):
                return len(value.value)
            return NOT_MINE
        if name == "sum":
            items = self.iterate(args[0], node)
            if not all(isinstance(v, (int, float)) for v in items):
                return NOT_MINE  # a front end's own values (blocks, tensors)
            total = args[1] if len(args) > 1 else 0
            for item in items:
                total = self.binary("+", total, item)
            return total
        if name == "enumerate":
            start = args[1] if len(args) > 1 else 0
            return [(start + k, v) for k, v in enumerate(self.iterate(args[0], node))]
        if name == "zip":
            return list(zip(*(self.iterate(a, node) for a in args)))
        if name == "reversed":
            return list(reversed(self.iterate(args[0], node)))
        # any / all: Python's truth of each item, stopping where Python stops
        want = name == "any"
        for item in self.iterate(args[0], node):
            if self.truth(item, node) == want:
                return want
        return not want

    def _pairs(self, value: Any, node: cst.CSTNode) -> list[tuple[Any, Any]]:
        if isinstance(value, dict):
            return list(value.items())
        pairs = []
        for item in self.iterate(value, node):
            if not isinstance(item, (tuple, list)) or len(item) != 2:
                raise KernelError("STL002", f"unsupported: dict() of {kind(item)}")
            pairs.append((key_of(item[0]), item[1]))
        return pairs

    def _sorted(self, args: list, kwargs: dict, node: cst.CSTNode) -> list:
        if len(args) != 1 or set(kwargs) - {"key", "reverse"}:
            raise KernelError("STL002", "unsupported: these arguments to sorted()")
        items = self.iterate(args[0], node)
        key = kwargs.get("key")
        keys = [
            _orderable(self.call_value(key, [v], {}, node) if key is not None else v) for v in items
        ]
        reverse = self.truth(kwargs.get("reverse", False), node)
        try:
            # Python's sort is stable, also in reverse
            order = sorted(range(len(items)), key=lambda k: keys[k], reverse=reverse)
        except TypeError as error:
            raise python_error(error, node) from None
        return [items[k] for k in order]

    def python_attribute(self, base: Any, attr: str) -> Any:
        """A method of a list, dict or tuple, or NOT_MINE."""
        for cls, names in _METHODS.items():
            if type(base) is cls and attr in names:
                return PythonMethod(base, attr)
        return NOT_MINE

    def call_python_method(
        self, method: PythonMethod, args: list, kwargs: dict, node: cst.CSTNode
    ) -> Any:
        base, name = method.receiver, method.name
        if kwargs:
            raise KernelError("STL002", f"unsupported: keyword arguments to .{name}()")
        if name in ("index", "count"):
            items = list(base)
            target = key_of(args[0])
            found = [k for k, v in enumerate(items) if _same(v, target)]
            if name == "count":
                return len(found)
            if not found:
                raise python_error(ValueError(f"{target!r} is not in the sequence"), node)
            return found[0]
        if name == "copy":
            return list(base) if isinstance(base, list) else dict(base)
        if isinstance(base, list):
            if name == "append":
                base.append(args[0])
            elif name == "extend":
                base.extend(self.iterate(args[0], node))
            elif name == "insert":
                base.insert(args[0], args[1])
            else:  # pop
                if not base:
                    raise python_error(IndexError("pop from empty list"), node)
                return base.pop(*args)
            return None
        key = key_of(args[0]) if args else None
        if name == "get":
            return base.get(key, args[1] if len(args) > 1 else None)
        if name == "items":
            return list(base.items())
        if name == "keys":
            return list(base)
        if name == "values":
            return list(base.values())
        if name == "update":
            base.update(dict(self._pairs(args[0], node)) if args else {})
            return None
        if name == "setdefault":
            return base.setdefault(key, args[1] if len(args) > 1 else None)
        if key not in base and len(args) < 2:  # pop
            raise python_error(KeyError(key), node)
        return base.pop(key, *args[1:])


def _distinct(values: list) -> list:
    out: list = []
    for value in values:
        if not any(_same(value, seen) for seen in out):
            out.append(value)
    return out


def _same(a: Any, b: Any) -> bool:
    a, b = key_of(a), key_of(b)
    if type(a) in (int, float, bool, str, type(None)) and type(b) in (
        int,
        float,
        bool,
        str,
        type(None),
    ):
        return bool(a == b)
    if isinstance(a, tuple) and isinstance(b, tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return a is b


def _orderable(value: Any) -> Any:
    """A sort key Python would compare the same way (numbers, strings, tuples)."""
    value = key_of(value)
    if isinstance(value, tuple):
        return tuple(_orderable(v) for v in value)
    if isinstance(value, (int, float, str)):
        return value
    raise KernelError("STL002", f"unsupported: sorting by {kind(value)}")


def catches_import_error(handler: cst.ExceptHandler) -> bool:
    if handler.type is None:
        return True
    types = handler.type.elements if isinstance(handler.type, cst.Tuple) else [handler.type]
    for t in types:
        node = t.value if isinstance(t, cst.Element) else t
        if isinstance(node, cst.Name) and node.value in _IMPORT_ERRORS:
            return True
    return False


def names_bound(stmt: cst.CSTNode) -> list[str]:
    """The names a module-level statement binds (assignments, imports, definitions)."""
    if isinstance(stmt, cst.SimpleStatementLine):
        out = []
        for small in stmt.body:
            if isinstance(small, cst.Assign):
                for t in small.targets:
                    out += target_names(t.target)
            elif isinstance(small, (cst.AnnAssign, cst.AugAssign)):
                out += target_names(small.target)
            elif isinstance(small, (cst.Import, cst.ImportFrom)) and not isinstance(
                small.names, cst.ImportStar
            ):
                for alias in small.names:
                    if alias.asname is not None:
                        out.append(alias.asname.name.value)  # type: ignore[union-attr]
                    else:
                        out.append(dotted(alias.name).split(".")[0])
        return out
    if isinstance(stmt, (cst.FunctionDef, cst.ClassDef)):
        return [stmt.name.value]
    return []
