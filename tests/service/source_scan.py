"""For agreement tests: find the calls in fieldrelay's source that name something by a string (a timer kind, a
sequence trigger), and resolve each argument to the string it is, reading the module's own constants."""

from __future__ import annotations

import ast
import importlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import fieldrelay

PACKAGE_DIR = Path(fieldrelay.__file__).parent


@dataclass(frozen=True)
class Named:
    """One argument that names something: where it is, and the string it resolves to (None: a pass-through)."""

    where: str  # "service/crm/deals.py:98"
    function: str  # the enclosing function ("" at module level)
    value: str | None
    passed_through: bool  # a value the function got at run time: a parameter or a local (or an attribute of one)


def module_of(path: Path) -> ModuleType:
    """The imported module of a source file under the package."""
    parts = path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts
    return importlib.import_module(".".join(parts))


def resolve(module: ModuleType, node: ast.expr) -> str | None:
    """The string an argument is: a literal, or a module constant reached by name or attribute; else None."""
    if isinstance(node, ast.Constant):
        return node.value if isinstance(node.value, str) else None
    if isinstance(node, ast.Name):
        value = getattr(module, node.id, None)
        return value if isinstance(value, str) else None
    if isinstance(node, ast.Attribute):
        chain: list[str] = []
        current: ast.expr = node
        while isinstance(current, ast.Attribute):
            chain.insert(0, current.attr)
            current = current.value
        if not isinstance(current, ast.Name):
            return None
        found: object = getattr(module, current.id, None)
        for attr in chain:
            found = getattr(found, attr, None)
        return found if isinstance(found, str) else None
    return None


def _root_name(node: ast.expr) -> str | None:
    while isinstance(node, ast.Attribute):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _calls(call: ast.Call, callee: str) -> bool:
    """Whether a call is to ``callee``: a function name (``plan_text``), or ``owner.name`` for a method of one."""
    owner, _, name = callee.rpartition(".")
    func = call.func
    if isinstance(func, ast.Attribute):
        return func.attr == name and (not owner or (isinstance(func.value, ast.Name) and func.value.id == owner))
    return not owner and isinstance(func, ast.Name) and func.id == name


def named_arguments(callee: str, position: int, keyword: str, under: str = "") -> Iterator[Named]:
    """Every argument at ``position`` (or passed as ``keyword``) of calls to ``callee`` (``name`` or ``owner.name``)
    in the package's source under ``under``."""
    for path in sorted((PACKAGE_DIR / under).rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        module: ModuleType | None = None
        for function in [tree, *(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef))]:
            params: set[str] = set()
            name = ""
            if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                args = function.args
                params = {a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs]}
                name = function.name
            for call in ast.walk(function):
                if not isinstance(call, ast.Call) or not _calls(call, callee):
                    continue
                arg = next((k.value for k in call.keywords if k.arg == keyword), None)
                if arg is None and len(call.args) > position:
                    arg = call.args[position]
                if arg is None:
                    continue
                module = module or module_of(path)
                where = f"{path.relative_to(PACKAGE_DIR).as_posix()}:{call.lineno}"
                root = _root_name(arg)
                local = root is not None and (root in params or not hasattr(module, root))
                yield Named(where, name, resolve(module, arg), local)


def distinct(found: Iterator[Named]) -> list[Named]:
    """One entry per place, as seen from its innermost enclosing function (``ast.walk`` meets outer ones first)."""
    seen: dict[str, Named] = {}
    for named in found:
        seen[named.where] = named
    return list(seen.values())
