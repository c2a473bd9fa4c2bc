"""No value is ever spliced into Cypher text in graph/neo4j_store.py (static check of its source; no server).

The rules the module follows, checked here:
1. Every `.run(...)` receives module-level Cypher: a constant (`PING`), an item of a constant (`MERGE_NODES[label]`)
   or a loop variable over a constant (`for label, query in READ_NODES.items()`), never an expression built at
   the call (f-string, `%`, `+`, `.format`, a function call).
2. Those constants are assigned once, at import, from string literals or from `_cypher_*` builder functions
   (directly, or in comprehensions over the model's constants); nothing assigns to them later.
3. Inside the builders, the only things interpolated into the text are labels and relationship types that pass
   `_ident()` (which admits only names graph/model.py declares), possibly lower-cased, or text made the same
   way; no `%` formatting and no `.format()` anywhere in the module.
4. At run time: the labels and types that appear in the Cypher constants are all the model's, and `_ident`
   refuses anything else.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import graph.neo4j_store as store_module
from graph.model import NODE_LABELS, REL_TYPES, ROLE_LABELS

SOURCE_PATH = Path(store_module.__file__)
TREE = ast.parse(SOURCE_PATH.read_text(encoding="utf-8"), filename=str(SOURCE_PATH))
RUN_METHODS = {"run", "execute_query"}


def _where(node: ast.AST) -> str:
    return f"{SOURCE_PATH.name}:{node.lineno}"


def _module_constants() -> dict[str, ast.expr]:
    out = {}
    for node in TREE.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            out[node.targets[0].id] = node.value
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
            out[node.target.id] = node.value
    return out


CONSTANTS = _module_constants()
BUILDERS = {n.name: n for n in TREE.body if isinstance(n, ast.FunctionDef) and n.name.startswith("_cypher_")}


def _is_call_to(node: ast.AST, name: str) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == name


def _safe_text(node: ast.AST, local: frozenset = frozenset()) -> bool:
    """An expression whose value is Cypher text made only of literals and model identifiers (`local`: names of
    a builder's variables that hold such text)."""
    def safe(n):
        return _safe_text(n, local)
    if isinstance(node, ast.Name):
        return node.id in local
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str)
    if _is_call_to(node, "_ident"):
        return True
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in BUILDERS:
        return True                                   # builders are checked on their own
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in ("lower", "upper"):
        return safe(node.func.value) and not node.args
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "join":
        return (safe(node.func.value) and len(node.args) == 1
                and isinstance(node.args[0], (ast.GeneratorExp, ast.ListComp)) and safe(node.args[0].elt))
    if isinstance(node, ast.JoinedStr):
        return all(safe(v.value) for v in node.values if isinstance(v, ast.FormattedValue))
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return safe(node.left) and safe(node.right)
    return False


def _safe_constant_value(node: ast.AST) -> bool:
    """What a module-level Cypher constant may be assigned: safe text, or containers of it."""
    if _safe_text(node):
        return True
    if isinstance(node, (ast.Tuple, ast.List)):
        return all(_safe_constant_value(e) for e in node.elts)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "tuple":
        return len(node.args) == 1 and _safe_constant_value(node.args[0])
    if isinstance(node, (ast.GeneratorExp, ast.ListComp)):
        return _safe_constant_value(node.elt)
    if isinstance(node, ast.DictComp):
        return _safe_constant_value(node.value)
    if isinstance(node, ast.Dict):
        return all(_safe_constant_value(v) for v in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _safe_constant_value(node.left) and _safe_constant_value(node.right)
    return False


def _constant_name(node: ast.AST) -> str | None:
    """NAME, NAME[...], NAME.items()/values() -> NAME."""
    if isinstance(node, ast.Subscript):
        node = node.value
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in ("items", "values") \
            and not node.args:
        node = node.func.value
    return node.id if isinstance(node, ast.Name) else None


def _loop_query_names(func: ast.FunctionDef) -> set[str]:
    """Names bound by `for ... in CONSTANT` / `CONSTANT.items()` / `.values()` loops in a function."""
    names = set()
    for node in ast.walk(func):
        if isinstance(node, (ast.For, ast.comprehension)):
            source = _constant_name(node.iter)
            if source and source in CONSTANTS and source.isupper():
                target = node.target
                if isinstance(target, ast.Tuple):             # for key, query in X.items()
                    target = target.elts[-1]
                if isinstance(target, ast.Name):
                    names.add(target.id)
    return names


def _run_calls():
    """(call, enclosing function or None) for every .run()/.execute_query() call in the module."""
    out = []

    def visit(node, func):
        for child in ast.iter_child_nodes(node):
            f = child if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)) else func
            if isinstance(child, ast.Call) and isinstance(child.func, ast.Attribute) \
                    and child.func.attr in RUN_METHODS:
                out.append((child, func))
            visit(child, f)
    visit(TREE, None)
    return out


RUN_CALLS = _run_calls()


def test_the_module_runs_queries():
    assert len(RUN_CALLS) >= 8, "the checker found no .run() calls: has the store changed shape?"


@pytest.mark.parametrize("call,func", RUN_CALLS, ids=[_where(c) for c, _ in RUN_CALLS])
def test_every_run_receives_module_level_cypher(call, func):
    query = call.args[0] if call.args else next((k.value for k in call.keywords if k.arg == "query"), None)
    assert query is not None, f"{_where(call)}: .{call.func.attr}() without a query"
    assert not isinstance(query, (ast.JoinedStr, ast.BinOp, ast.Call)), \
        f"{_where(call)}: the query is built at the call ({type(query).__name__}); use a module-level constant"
    name = _constant_name(query)
    if isinstance(query, ast.Name) and func is not None and query.id in _loop_query_names(func):
        return
    assert name and name in CONSTANTS and name.isupper(), \
        f"{_where(call)}: .{call.func.attr}() must receive a module-level Cypher constant, got {ast.unparse(query)}"
    assert _safe_constant_value(CONSTANTS[name]), \
        f"{_where(call)}: the constant {name} is not built from literals and _cypher_* builders only"


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_builders_interpolate_only_model_identifiers(name):
    func = BUILDERS[name]
    assigned: dict[str, list[ast.expr]] = {}
    for node in ast.walk(func):
        if isinstance(node, ast.Assign):
            for t in node.targets:
                if isinstance(t, ast.Name):
                    assigned.setdefault(t.id, []).append(node.value)
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)) and isinstance(node.target, ast.Name):
            assigned.setdefault(node.target.id, []).append(node)       # never "safe": not a plain assignment
    params = {a.arg for a in func.args.args + func.args.kwonlyargs}
    local = frozenset(n for n, values in assigned.items()
                      if n not in params and len(values) == 1 and _safe_text(values[0]))
    returns = [n for n in ast.walk(func) if isinstance(n, ast.Return)]
    assert returns, f"{name} returns nothing"
    for ret in returns:
        assert ret.value is not None and _safe_text(ret.value, local), \
            f"{_where(ret)}: {name} returns text that interpolates something other than _ident(...)"
    for node in ast.walk(func):
        if isinstance(node, ast.JoinedStr):
            assert _safe_text(node, local), f"{_where(node)}: f-string in {name} interpolates a raw value"


def test_no_percent_or_format_anywhere():
    for node in ast.walk(TREE):
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
            left = node.left
            assert not (isinstance(left, ast.Constant) and isinstance(left.value, str)) \
                and not isinstance(left, ast.JoinedStr), f"{_where(node)}: %-formatting of a string"
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in (
                "format", "format_map"):
            raise AssertionError(f"{_where(node)}: str.format() is not allowed in the store")


def test_cypher_constants_are_never_reassigned():
    cypher_constants = {n for n, v in CONSTANTS.items() if n.isupper() and _safe_constant_value(v)}
    assert {"MERGE_NODES", "MERGE_RELS", "READ_NODES", "READ_RELS", "COUNTS"} <= cypher_constants
    for func in ast.walk(TREE):
        if not isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for node in ast.walk(func):
            targets = []
            if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if isinstance(node, ast.Global):
                assert not set(node.names) & cypher_constants, f"{_where(node)}: global Cypher constant"
            for t in targets:
                base = t.value if isinstance(t, ast.Subscript) else t
                assert not (isinstance(base, ast.Name) and base.id in cypher_constants), \
                    f"{_where(node)}: {base.id} is changed at run time"
        for node in ast.walk(func):                   # MERGE_NODES.update(...), .setdefault(...), ...
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                    and isinstance(node.func.value, ast.Name) and node.func.value.id in cypher_constants:
                assert node.func.attr in ("items", "values", "keys", "get"), \
                    f"{_where(node)}: {node.func.value.id}.{node.func.attr}() changes a Cypher constant"


def _queried_constants() -> set[str]:
    """The module constants whose text reaches .run()."""
    names = set()
    for call, func in RUN_CALLS:
        query = call.args[0] if call.args else None
        name = _constant_name(query) if query is not None else None
        if name in CONSTANTS:
            names.add(name)
    for func in ast.walk(TREE):
        if isinstance(func, ast.FunctionDef):
            for node in ast.walk(func):
                if isinstance(node, (ast.For, ast.comprehension)):
                    source = _constant_name(node.iter)
                    if source in CONSTANTS and source.isupper() and _safe_constant_value(CONSTANTS[source]):
                        names.add(source)
    return names


def _all_cypher_texts():
    texts = []

    def collect(value):
        if isinstance(value, str):
            texts.append(value)
        elif isinstance(value, dict):
            for v in value.values():
                collect(v)
        elif isinstance(value, (tuple, list)):
            for v in value:
                collect(v)
    for name in _queried_constants():
        collect(getattr(store_module, name))
    return texts


def test_cypher_uses_only_the_models_labels_and_types():
    allowed = (set(NODE_LABELS) | set(REL_TYPES) | set(ROLE_LABELS.values())
               | set(store_module.DEPLOYMENT_LABELS))       # accounts, audit log, store facts: fixed literals
    texts = _all_cypher_texts()
    assert len(texts) > 40
    used = set()
    for text in texts:
        for chain in re.findall(r"[(\[]\w*((?::\w+)+)", text):          # (n:Person ...), [r:TYPE ...]
            used |= set(chain.strip(":").split(":"))
        for chain in re.findall(r"\b(?:SET|REMOVE)\s+\w+((?::\w+)+)", text):  # SET n:Parent, REMOVE n:A:B
            used |= set(chain.strip(":").split(":"))
        assert "'" not in text and '"' not in text, f"a literal string in Cypher: {text}"
    assert used and used <= allowed, used - allowed
    assert set(NODE_LABELS) <= used and set(REL_TYPES) <= used


@pytest.mark.parametrize("bad", ["Person) DETACH DELETE (n", "Robert'); DROP", "person", "", "NotInModel"])
def test_ident_refuses_anything_the_model_does_not_declare(bad):
    with pytest.raises(ValueError):
        store_module._ident(bad)
