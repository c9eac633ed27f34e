"""A small evaluator for the Terraform language, enough to compute what the
module in deploy/terraform sends to AWS without Terraform, a provider or
credentials.

It walks python-hcl2's Lark parse tree (the grammar follows HCL's own), so
what it evaluates is the module's text, not a copy of it. It covers the
expressions the module uses: literals, templates, var./local./resource and
data references, arithmetic, comparisons, conditionals, for expressions,
splats, dynamic blocks, and the functions in FUNCTIONS.

Two kinds of failure, kept apart on purpose:
  EvalError    what Terraform would report as an error (an undefined
               reference, a bad index, a failed regex): can() and try()
               catch it, as in Terraform.
  Unsupported  something this evaluator does not implement: never caught,
               so a construct it cannot follow fails the check loudly
               instead of quietly evaluating to something else.

Resource attributes that are arguments evaluate to the argument's value;
computed ones (arn, id, ...) to placeholders from COMPUTED or to
"<type.name.attr>", which is enough for a request's shape.
"""

from __future__ import annotations

import ipaddress
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import hcl2
from lark import Token, Tree


class EvalError(Exception):
    """An error Terraform itself would report."""


class Unsupported(Exception):
    """A construct this evaluator does not implement."""


# Tokens that carry no meaning once the tree exists.
_PUNCT = {
    "LPAR", "RPAR", "LBRACE", "RBRACE", "LSQB", "RSQB", "COMMA", "DOT", "EQ",
    "COLON", "DBLQUOTE", "INTERP_START", "QMARK", "FOR_OBJECT_ARROW",
    "ATTR_SPLAT", "FULL_SPLAT_START", "COLONS",
}


def _kids(node: Tree) -> list:
    """Children that matter: no punctuation, no newlines or comments."""
    out = []
    for c in node.children:
        if isinstance(c, Token):
            if c.type in _PUNCT:
                continue
            out.append(c)
        elif c.data != "new_line_or_comment":
            out.append(c)
    return out


def _name(node) -> str:
    """The text of an identifier, keyword, or plain (uninterpolated) string."""
    if isinstance(node, Token):
        return str(node)
    if node.data in ("identifier", "keyword"):
        return str(node.children[0])
    if node.data == "expr_term" and len(_kids(node)) == 1:
        return _name(_kids(node)[0])
    if node.data == "string":
        parts = [p for p in _kids(node)]
        if all(isinstance(p.children[0], Token) and p.children[0].type == "STRING_CHARS" for p in parts):
            return _unescape("".join(str(p.children[0]) for p in parts))
    raise Unsupported(f"expected a name, got {node.data if isinstance(node, Tree) else node!r}")


_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}


def _unescape(s: str) -> str:
    out, i = [], 0
    while i < len(s):
        ch = s[i]
        if ch == "\\" and i + 1 < len(s):
            nxt = s[i + 1]
            if nxt in _ESCAPES:
                out.append(_ESCAPES[nxt])
                i += 2
                continue
            if nxt == "u":
                out.append(chr(int(s[i + 2 : i + 6], 16)))
                i += 6
                continue
            raise EvalError(f"invalid escape \\{nxt} in {s!r}")
        out.append(ch)
        i += 1
    return "".join(out)


# ---- values -------------------------------------------------------------------

def norm(v: Any) -> Any:
    """Terraform has one number type: 2.0 is 2."""
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return v


def is_num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def tf_str(v: Any, what: str = "value") -> str:
    """Terraform's automatic conversion to string (templates, tostring)."""
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "true" if v else "false"
    if is_num(v):
        v = norm(v)
        return str(v) if isinstance(v, int) else repr(v)
    if v is None:
        raise EvalError(f"{what} is null")
    raise EvalError(f"{what} is a {type(v).__name__}, not a string")


def tf_num(v: Any) -> Any:
    if is_num(v):
        return norm(v)
    if isinstance(v, str) and re.fullmatch(r"-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?", v):
        return norm(float(v)) if not re.fullmatch(r"-?[0-9]+", v) else int(v)
    raise EvalError(f"a number is required, got {v!r}")


def tf_bool(v: Any) -> bool:
    if isinstance(v, bool):
        return v
    if v in ("true", "false"):
        return v == "true"
    raise EvalError(f"a bool is required, got {v!r}")


def tf_eq(a: Any, b: Any) -> bool:
    if isinstance(a, bool) != isinstance(b, bool):
        return False
    if is_num(a) and is_num(b):
        return norm(a) == norm(b)
    if type(a) is not type(b) and not (a is None or b is None):
        return False
    return a == b


def _iter_collection(coll: Any) -> list[tuple[Any, Any]]:
    """(key, value) pairs as Terraform's for and for_each see them: lists by
    index, maps and objects in lexical key order."""
    if isinstance(coll, list):
        return list(enumerate(coll))
    if isinstance(coll, dict):
        return [(k, coll[k]) for k in sorted(coll)]
    raise EvalError(f"cannot iterate over {coll!r}")


# ---- functions ------------------------------------------------------------------

def _regex(pattern: str, s: str):
    m = re.search(pattern, s)
    if m is None:
        raise EvalError(f"pattern {pattern!r} does not match {s!r}")
    if m.re.groupindex:
        return {k: m.group(k) for k in m.re.groupindex}
    if m.re.groups:
        return list(m.groups())
    return m.group(0)


def _format(fmt: str, *args):
    out, i, n = [], 0, 0
    for m in re.finditer(r"%(%|-?[0-9]*(?:\.[0-9]+)?[sdvfq])", fmt):
        out.append(fmt[i : m.start()])
        i = m.end()
        spec = m.group(1)
        if spec == "%":
            out.append("%")
            continue
        if n >= len(args):
            raise EvalError(f"format {fmt!r}: not enough arguments")
        a = args[n]
        n += 1
        verb = spec[-1]
        if verb == "d":
            out.append(("%" + spec) % tf_num(a))
        elif verb == "f":
            out.append(("%" + spec) % float(tf_num(a)))
        elif verb == "q":
            out.append(json.dumps(tf_str(a)))
        elif verb == "v" and not isinstance(a, (str, int, float, bool)):
            out.append(jsonencode(a))
        else:
            out.append(("%" + spec[:-1] + "s") % tf_str(a))
    out.append(fmt[i:])
    if n != len(args):
        raise EvalError(f"format {fmt!r}: too many arguments")
    return "".join(out)


def jsonencode(v: Any) -> str:
    # Terraform's objects keep their attributes sorted, and Go's encoder
    # writes compact JSON.
    return json.dumps(_json_ready(v), sort_keys=True, separators=(",", ":"))


def _json_ready(v):
    if isinstance(v, dict):
        return {k: _json_ready(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_json_ready(x) for x in v]
    return norm(v)


def _set(values) -> list:
    """Terraform sets of primitives, shown sorted and without duplicates."""
    out = []
    for v in values:
        if not any(tf_eq(v, o) for o in out):
            out.append(v)
    try:
        return sorted(out)
    except TypeError:
        return out


def _slice(lst, start, end):
    start, end = tf_num(start), tf_num(end)
    if not (0 <= start <= end <= len(lst)):
        raise EvalError(f"slice({len(lst)} elements, {start}, {end}): out of range")
    return lst[start:end]


def _element(lst, i):
    if not lst:
        raise EvalError("element() of an empty list")
    return lst[tf_num(i) % len(lst)]


def _lookup(m, k, *default):
    if not isinstance(m, dict):
        raise EvalError("lookup() needs a map")
    if k in m:
        return m[k]
    if default:
        return default[0]
    raise EvalError(f"lookup(): no key {k!r} and no default")


def _range(*a):
    a = [tf_num(x) for x in a]
    if len(a) == 1:
        start, end, step = 0, a[0], 1
    elif len(a) == 2:
        start, end, step = a[0], a[1], 1
    else:
        start, end, step = a
    out, x = [], start
    while (x < end) if step > 0 else (x > end):
        out.append(norm(x))
        x += step
    return out


def _coalesce(*a):
    for x in a:
        if x is not None and x != "":
            return x
    raise EvalError("coalesce(): no non-null, non-empty argument")


def _cidrhost(prefix, n):
    try:
        net = ipaddress.ip_network(prefix, strict=False)
    except ValueError as e:
        raise EvalError(f"cidrhost(): {e}") from None
    n = tf_num(n)
    if not (0 <= n < net.num_addresses):
        raise EvalError(f"cidrhost(): host {n} is outside {prefix}")
    return str(net[n])


def _flatten(v):
    out = []
    for x in v:
        out.extend(_flatten(x) if isinstance(x, list) else [x])
    return out


def _replace(s, old, new):
    if len(old) > 1 and old.startswith("/") and old.endswith("/"):
        return re.sub(old[1:-1], re.sub(r"\$\{?(\d+)\}?", r"\\\1", new), s)
    return s.replace(old, new)


FUNCTIONS: dict[str, Callable] = {
    "abs": lambda x: norm(abs(tf_num(x))),
    "alltrue": lambda lst: all(tf_bool(x) for x in lst),
    "anytrue": lambda lst: any(tf_bool(x) for x in lst),
    "ceil": lambda x: math.ceil(tf_num(x)),
    "cidrhost": _cidrhost,
    "coalesce": _coalesce,
    "compact": lambda lst: [x for x in lst if x not in (None, "")],
    "concat": lambda *lists: [x for lst in lists for x in lst],
    "contains": lambda coll, v: any(tf_eq(x, v) for x in coll),
    "distinct": lambda lst: [x for i, x in enumerate(lst) if not any(tf_eq(x, y) for y in lst[:i])],
    "element": _element,
    "endswith": lambda s, suf: tf_str(s).endswith(tf_str(suf)),
    "flatten": _flatten,
    "floor": lambda x: math.floor(tf_num(x)),
    "format": _format,
    "join": lambda sep, lst: tf_str(sep).join(tf_str(x) for x in lst),
    "jsondecode": lambda s: json.loads(s),
    "jsonencode": jsonencode,
    "keys": lambda m: sorted(m) if isinstance(m, dict) else _bad("keys() needs a map"),
    "length": lambda v: len(v) if isinstance(v, (list, dict, str)) else _bad(f"length() of {v!r}"),
    "lookup": _lookup,
    "lower": lambda s: tf_str(s).lower(),
    "max": lambda *a: norm(max(tf_num(x) for x in a)),
    "merge": lambda *ms: {k: v for m in ms if m is not None for k, v in m.items()},
    "min": lambda *a: norm(min(tf_num(x) for x in a)),
    "one": lambda lst: None if not lst else (lst[0] if len(lst) == 1 else _bad("one(): more than one element")),
    "range": _range,
    "regex": lambda p, s: _regex(tf_str(p), tf_str(s)),
    "replace": lambda s, o, n: _replace(tf_str(s), tf_str(o), tf_str(n)),
    "reverse": lambda lst: list(reversed(lst)),
    "setintersection": lambda first, *rest: _set(x for x in first if all(any(tf_eq(x, y) for y in r) for r in rest)),
    "setproduct": lambda *sets: [list(t) for t in __import__("itertools").product(*sets)],
    "slice": _slice,
    "sort": lambda lst: sorted(tf_str(x) for x in lst),
    "split": lambda sep, s: tf_str(s).split(tf_str(sep)),
    "startswith": lambda s, pre: tf_str(s).startswith(tf_str(pre)),
    "substr": lambda s, off, n: tf_str(s)[tf_num(off) :][: (None if tf_num(n) < 0 else tf_num(n))],
    "sum": lambda lst: norm(sum(tf_num(x) for x in lst)),
    "tobool": lambda v: None if v is None else tf_bool(v),
    "tolist": lambda v: list(v),
    "tomap": lambda v: dict(v),
    "tonumber": lambda v: None if v is None else tf_num(v),
    "toset": lambda v: _set(v),
    "tostring": lambda v: None if v is None else tf_str(v),
    "trimprefix": lambda s, p: tf_str(s)[len(p) :] if tf_str(s).startswith(p) else s,
    "trimsuffix": lambda s, p: tf_str(s)[: -len(p)] if p and tf_str(s).endswith(p) else s,
    "upper": lambda s: tf_str(s).upper(),
    "values": lambda m: [m[k] for k in sorted(m)] if isinstance(m, dict) else _bad("values() needs a map"),
}


def _bad(msg):
    raise EvalError(msg)


# ---- module structure ---------------------------------------------------------

@dataclass
class Block:
    type: str
    labels: list[str]
    attrs: dict[str, Tree]
    blocks: list["Block"]
    file: str
    line: int

    def only(self, type_: str) -> list["Block"]:
        return [b for b in self.blocks if b.type == type_]


def _block_from(node: Tree, file: str) -> Block:
    kids = _kids(node)
    body = next(k for k in kids if isinstance(k, Tree) and k.data == "body")
    head = [k for k in kids if k is not body]
    attrs, blocks = {}, []
    for item in _kids(body):
        if item.data == "attribute":
            name_node, expr = _kids(item)
            name = _name(name_node)
            if name in attrs:
                raise EvalError(f"{file}: duplicate argument {name}")
            attrs[name] = expr
        elif item.data == "block":
            blocks.append(_block_from(item, file))
    line = getattr(node.meta, "line", 0) if hasattr(node, "meta") else 0
    return Block(_name(head[0]), [_name(h) for h in head[1:]], attrs, blocks, file, line)


@dataclass
class Module:
    directory: Path
    files: dict[str, Block] = field(default_factory=dict)
    variables: dict[str, Block] = field(default_factory=dict)
    locals: dict[str, tuple[Tree, str]] = field(default_factory=dict)
    resources: dict[tuple[str, str], Block] = field(default_factory=dict)
    data: dict[tuple[str, str], Block] = field(default_factory=dict)
    outputs: dict[str, Block] = field(default_factory=dict)
    other: list[Block] = field(default_factory=list)

    @classmethod
    def load(cls, directory: str | Path) -> "Module":
        mod = cls(Path(directory))
        paths = sorted(mod.directory.glob("*.tf"))
        if not paths:
            raise EvalError(f"no .tf files in {directory}")
        for path in paths:
            tree = hcl2.parses_to_tree(path.read_text(encoding="utf-8"))
            body = _kids(tree)[0]
            root = Block("file", [], {}, [], path.name, 0)
            for item in _kids(body):
                if item.data == "attribute":
                    raise EvalError(f"{path.name}: top-level argument outside a block")
                root.blocks.append(_block_from(item, path.name))
            mod.files[path.name] = root
            for b in root.blocks:
                mod._add(b)
        return mod

    def _add(self, b: Block) -> None:
        def once(table, key, what):
            if key in table:
                raise EvalError(f"{b.file}: duplicate {what} {'.'.join(key) if isinstance(key, tuple) else key}")
            table[key] = b

        if b.type == "variable":
            once(self.variables, b.labels[0], "variable")
        elif b.type == "locals":
            for name, expr in b.attrs.items():
                if name in self.locals:
                    raise EvalError(f"{b.file}: duplicate local {name}")
                self.locals[name] = (expr, b.file)
        elif b.type == "resource":
            once(self.resources, tuple(b.labels), "resource")
        elif b.type == "data":
            once(self.data, tuple(b.labels), "data source")
        elif b.type == "output":
            once(self.outputs, b.labels[0], "output")
        elif b.type in ("terraform", "provider", "module", "moved", "import", "check", "removed"):
            self.other.append(b)
        else:
            raise EvalError(f"{b.file}: unknown top-level block {b.type}")


def load_tfvars(path: str | Path) -> dict[str, Any]:
    """A .tfvars file: constant expressions only."""
    tree = hcl2.parses_to_tree(Path(path).read_text(encoding="utf-8"))
    ev = Evaluator(Module(Path(".")), {})
    out = {}
    for item in _kids(_kids(tree)[0]):
        if item.data != "attribute":
            raise EvalError(f"{path}: blocks are not allowed in a .tfvars file")
        name_node, expr = _kids(item)
        out[_name(name_node)] = ev.eval(expr, {})
    return out


# ---- types ----------------------------------------------------------------------

_MISSING = object()


def convert(value: Any, type_node: Tree | None, ev: "Evaluator", what: str) -> Any:
    """Convert a variable's value to its declared type, as Terraform does on
    input (numbers in a map(string) become strings, and so on)."""
    if type_node is None or value is None:
        return value
    t = _kids(type_node)[0] if type_node.data == "expr_term" else type_node
    if isinstance(t, Tree) and t.data == "identifier":
        kind = _name(t)
        if kind == "any":
            return value
        if kind == "string":
            if isinstance(value, (list, dict)):
                raise EvalError(f"{what}: a string is required")
            return tf_str(value, what)
        if kind == "number":
            return tf_num(value)
        if kind == "bool":
            return tf_bool(value)
        raise Unsupported(f"{what}: type {kind}")
    if isinstance(t, Tree) and t.data == "function_call":
        kids = _kids(t)
        fn = _name(kids[0])
        args = _kids(kids[1]) if len(kids) > 1 else []
        if fn in ("list", "set"):
            if not isinstance(value, list):
                raise EvalError(f"{what}: a {fn} is required")
            out = [convert(v, args[0], ev, f"{what}[{i}]") for i, v in enumerate(value)]
            return _set(out) if fn == "set" else out
        if fn == "map":
            if not isinstance(value, dict):
                raise EvalError(f"{what}: a map is required")
            return {k: convert(v, args[0], ev, f"{what}[{k!r}]") for k, v in value.items()}
        if fn == "object":
            if not isinstance(value, dict):
                raise EvalError(f"{what}: an object is required")
            out = {}
            obj = _kids(_kids(args[0])[0]) if args[0].data == "expr_term" else _kids(args[0])
            for elem in obj:
                key_node, attr_type = _kids(elem)
                key = _name(_kids(key_node)[0])
                at = _kids(attr_type)[0] if attr_type.data == "expr_term" else attr_type
                optional = isinstance(at, Tree) and at.data == "function_call" and _name(_kids(at)[0]) == "optional"
                if optional:
                    oargs = _kids(_kids(at)[1])
                    if key not in value:
                        out[key] = ev.eval(oargs[1], {}) if len(oargs) > 1 else None
                    else:
                        out[key] = convert(value[key], oargs[0], ev, f"{what}.{key}")
                elif key not in value:
                    raise EvalError(f"{what}: attribute {key} is required")
                else:
                    out[key] = convert(value[key], attr_type, ev, f"{what}.{key}")
            return out
        raise Unsupported(f"{what}: type constructor {fn}")
    raise Unsupported(f"{what}: type expression {t}")


# ---- evaluation -------------------------------------------------------------------

# Placeholders for computed attributes that requests or checks read the shape
# of. Each gets (module evaluator, resource block, evaluated name or None).
COMPUTED: dict[tuple[str, str], Callable] = {
    ("aws_lb_target_group", "arn_suffix"): lambda ev, b, n: f"targetgroup/{n}/0123456789abcdef",
    ("aws_lb_target_group", "arn"): lambda ev, b, n: f"arn:aws:elasticloadbalancing:{ev.region()}:{ev.account()}:targetgroup/{n}/0123456789abcdef",
    ("aws_iam_role", "arn"): lambda ev, b, n: f"arn:aws:iam::{ev.account()}:role/{n}",
    ("aws_iam_role", "id"): lambda ev, b, n: n,
    ("aws_cloudwatch_log_group", "arn"): lambda ev, b, n: f"arn:aws:logs:{ev.region()}:{ev.account()}:log-group:{n}",
    ("aws_ecs_task_definition", "arn"): lambda ev, b, n: f"arn:aws:ecs:{ev.region()}:{ev.account()}:task-definition/{ev.resource_arg(b, 'family')}:1",
    ("aws_security_group", "id"): lambda ev, b, n: "sg-0fedcba9876543210",
}


class Evaluator:
    def __init__(self, module: Module, var_values: dict[str, Any]):
        self.module = module
        self.vars = var_values
        self._locals: dict[str, Any] = {}
        self._stack: list[str] = []
        # Every value made up for a computed attribute: Terraform knows
        # none of them before apply, so comparisons with a plan skip
        # anything that contains one.
        self.placeholders: set[str] = set()

    # Region and account for placeholders, from the module's own locals when
    # it has them.
    def region(self) -> str:
        return self.local("region") if "region" in self.module.locals else "us-east-1"

    def account(self) -> str:
        return self.local("account_id") if "account_id" in self.module.locals else "123456789012"

    def local(self, name: str) -> Any:
        if name in self._locals:
            return self._locals[name]
        if name not in self.module.locals:
            raise EvalError(f"reference to undeclared local value local.{name}")
        if name in self._stack:
            raise EvalError(f"local values refer to each other in a cycle: {' -> '.join(self._stack + [name])}")
        self._stack.append(name)
        try:
            value = self.eval(self.module.locals[name][0], {})
        except EvalError as e:
            raise EvalError(f"local.{name}: {e}") from None
        finally:
            self._stack.pop()
        self._locals[name] = value
        return value

    def resource_arg(self, block: Block, name: str, scope: dict | None = None) -> Any:
        if name not in block.attrs:
            raise EvalError(f"{'.'.join(block.labels)} has no argument {name}")
        return self.eval(block.attrs[name], scope or {})

    def _resource_attr(self, kind: str, block: Block, attr: str) -> Any:
        rtype, rname = block.labels
        if attr in block.attrs and "for_each" not in block.attrs and "count" not in block.attrs:
            return self.resource_arg(block, attr)
        maker = COMPUTED.get((rtype, attr))
        if maker:
            n = self.resource_arg(block, "name") if "name" in block.attrs else None
            if n is None and "name_prefix" in block.attrs:
                n = self.resource_arg(block, "name_prefix") + "20260101000000000000000001"
            value = maker(self, block, n)
        else:
            prefix = "data." if kind == "data" else ""
            value = f"<{prefix}{rtype}.{rname}.{attr}>"
        self.placeholders.add(value)
        return value

    # -- the expression walker ---------------------------------------------------

    def eval(self, node, scope: dict) -> Any:
        if isinstance(node, Token):
            raise Unsupported(f"bare token {node.type} {node!r}")
        method = getattr(self, "_e_" + node.data, None)
        if method is None:
            raise Unsupported(f"expression kind {node.data}")
        return method(node, scope)

    def _e_expr_term(self, node, scope):
        kids = _kids(node)
        if len(kids) != 1:
            raise Unsupported(f"expr_term with {len(kids)} parts")
        return self.eval(kids[0], scope)

    def _e_int_lit(self, node, scope):
        return int(node.children[0])

    def _e_float_lit(self, node, scope):
        return norm(float(node.children[0]))

    def _e_literal_value(self, node, scope):
        return {"true": True, "false": False, "null": None}[str(node.children[0])]

    def _e_string(self, node, scope):
        out = []
        for part in _kids(node):
            inner = part.children[0]
            if isinstance(inner, Token):
                if inner.type == "STRING_CHARS":
                    out.append(_unescape(str(inner)))
                elif inner.type == "ESCAPED_INTERPOLATION":
                    out.append(str(inner)[1:])
                elif inner.type == "ESCAPED_DIRECTIVE":
                    out.append(str(inner)[1:])
                else:
                    raise Unsupported(f"string part {inner.type}")
            elif inner.data == "interpolation":
                out.append(tf_str(self.eval(_kids(inner)[0], scope), "template interpolation"))
            else:
                raise Unsupported(f"template directive {inner.data}")
        return "".join(out)

    def _e_heredoc_template(self, node, scope):
        raise Unsupported("heredoc")

    _e_heredoc_template_trim = _e_heredoc_template

    def _e_tuple(self, node, scope):
        return [self.eval(k, scope) for k in _kids(node)]

    def _e_object(self, node, scope):
        out = {}
        for elem in _kids(node):
            key_node, value_node = _kids(elem)
            key = self._object_key(_kids(key_node)[0], scope)
            if key in out:
                raise EvalError(f"duplicate object key {key!r}")
            out[key] = self.eval(value_node, scope)
        return out

    def _object_key(self, node, scope) -> str:
        # A bare identifier is the key itself; anything else (a string, a
        # parenthesised expression) is evaluated.
        inner = _kids(node)[0] if isinstance(node, Tree) and node.data == "expr_term" and len(_kids(node)) == 1 else node
        if isinstance(inner, Tree) and inner.data in ("identifier", "keyword"):
            return _name(inner)
        if isinstance(node, Tree) and node.data == "expr_term" and any(
            isinstance(c, Token) and c.type == "LPAR" for c in node.children
        ):
            return tf_str(self.eval(_kids(node)[0], scope), "object key")
        if isinstance(inner, Tree) and inner.data == "string":
            return self.eval(inner, scope)
        if isinstance(inner, Tree) and inner.data == "literal_value":
            return str(inner.children[0])
        raise EvalError("ambiguous object key: put an expression key in parentheses")

    def _e_identifier(self, node, scope):
        name = _name(node)
        if name in scope:
            return scope[name]
        raise EvalError(f"unknown name {name!r}")

    def _e_conditional(self, node, scope):
        cond, yes, no = _kids(node)
        c = self.eval(cond, scope)
        if c is None:
            raise EvalError("the condition is null")
        return self.eval(yes if tf_bool(c) else no, scope)

    def _e_unary_op(self, node, scope):
        op, operand = node.children[0], _kids(node)[-1]
        v = self.eval(operand, scope)
        if str(op) == "!":
            return not tf_bool(v)
        return norm(-tf_num(v))

    def _e_binary_op(self, node, scope):
        left_node, term = _kids(node)[:2]
        op_node, right_node = [k for k in _kids(term)]
        op = str(op_node.children[0])
        a = self.eval(left_node, scope)
        b = self.eval(right_node, scope)
        if op in ("&&", "||"):
            # Both sides are evaluated, as in Terraform releases before
            # short-circuiting: a guard must be a conditional, not &&.
            a, b = tf_bool(a), tf_bool(b)
            return (a and b) if op == "&&" else (a or b)
        if op == "==":
            return tf_eq(a, b)
        if op == "!=":
            return not tf_eq(a, b)
        a, b = tf_num(a), tf_num(b)
        if op == "+":
            return norm(a + b)
        if op == "-":
            return norm(a - b)
        if op == "*":
            return norm(a * b)
        if op == "/":
            if b == 0:
                raise EvalError("division by zero")
            return norm(a / b)
        if op == "%":
            return norm(math.fmod(a, b))
        return {"<": a < b, ">": a > b, "<=": a <= b, ">=": a >= b}[op]

    def _e_function_call(self, node, scope):
        kids = _kids(node)
        name = _name(kids[0])
        if len(kids) > 2:
            raise Unsupported(f"provider-defined function {name}")
        arg_nodes = _kids(kids[1]) if len(kids) > 1 else []
        expand = any(isinstance(c, Token) and c.type == "ELLIPSIS" for c in (kids[1].children if len(kids) > 1 else []))
        arg_nodes = [a for a in arg_nodes if not isinstance(a, Token)]
        if name in ("can", "try"):
            for i, a in enumerate(arg_nodes):
                try:
                    v = self.eval(a, scope)
                    return True if name == "can" else v
                except EvalError:
                    if name == "can":
                        return False
                    if i == len(arg_nodes) - 1:
                        raise
            raise EvalError(f"{name}() needs an argument")
        fn = FUNCTIONS.get(name)
        if fn is None:
            raise Unsupported(f"function {name}()")
        args = [self.eval(a, scope) for a in arg_nodes]
        if expand:
            args = args[:-1] + list(args[-1])
        try:
            return fn(*args)
        except EvalError:
            raise
        except (TypeError, ValueError, KeyError, IndexError, AttributeError) as e:
            raise EvalError(f"{name}(): {e}") from None

    def _e_get_attr_expr_term(self, node, scope):
        base_node, get_attr = _kids(node)
        attr = _name(_kids(get_attr)[0])
        root = self._root_name(base_node)
        if root is not None and root not in scope:
            return self._reference(root, attr, scope)
        base = self.eval(base_node, scope)
        return self._attr(base, attr)

    def _root_name(self, node) -> str | None:
        kids = _kids(node) if isinstance(node, Tree) and node.data == "expr_term" else [node]
        if len(kids) == 1 and isinstance(kids[0], Tree) and kids[0].data == "identifier":
            return _name(kids[0])
        return None

    def _reference(self, root: str, attr: str, scope):
        if root == "var":
            if attr not in self.module.variables:
                raise EvalError(f"reference to undeclared input variable var.{attr}")
            return self.vars.get(attr)
        if root == "local":
            return self.local(attr)
        if root == "path":
            if attr in ("module", "root", "cwd"):
                return str(self.module.directory)
            raise EvalError(f"path.{attr}")
        if root == "data":
            return _DataRef(self, attr)
        if root in ("terraform", "count", "each", "self"):
            raise EvalError(f"{root}.{attr} is not available here")
        return _ResourceRef(self, "resource", (root, attr))

    def _attr(self, base, attr):
        if isinstance(base, _DataRef):
            return _ResourceRef(self, "data", (base.type, attr))
        if isinstance(base, _ResourceRef):
            return base.get(attr)
        if isinstance(base, dict):
            if attr not in base:
                raise EvalError(f"object has no attribute {attr!r}")
            return base[attr]
        raise EvalError(f"cannot read attribute {attr!r} of {type(base).__name__}")

    def _e_index_expr_term(self, node, scope):
        base_node, index = _kids(node)
        base = self.eval(base_node, scope)
        if index.data == "short_index":
            key = int(_kids(index)[0])
        else:
            key = self.eval(_kids(index)[0], scope)
        if isinstance(base, _ResourceRef):
            return base.instance(key)
        if isinstance(base, list):
            key = tf_num(key)
            if not isinstance(key, int) or not 0 <= key < len(base):
                raise EvalError(f"index {key} out of range for a list of {len(base)}")
            return base[key]
        if isinstance(base, dict):
            key = tf_str(key, "map key")
            if key not in base:
                raise EvalError(f"no element {key!r} in the map")
            return base[key]
        if base is None:
            raise EvalError("cannot index a null value")
        raise EvalError(f"cannot index a {type(base).__name__}")

    def _e_full_splat_expr_term(self, node, scope):
        base_node, splat = _kids(node)
        base = self.eval(base_node, scope)
        items = [] if base is None else (base if isinstance(base, list) else [base])
        out = []
        for item in items:
            v = item
            for step in _kids(splat):
                if step.data == "get_attr":
                    v = self._attr(v, _name(_kids(step)[0]))
                else:
                    raise Unsupported("index inside a splat")
            out.append(v)
        return out

    _e_attr_splat_expr_term = _e_full_splat_expr_term

    def _e_for_tuple_expr(self, node, scope):
        return self._for(node, scope, is_object=False)

    def _e_for_object_expr(self, node, scope):
        return self._for(node, scope, is_object=True)

    def _for(self, node, scope, is_object):
        kids = [k for k in _kids(node) if isinstance(k, Tree)]
        if any(isinstance(c, Token) and c.type == "ELLIPSIS" for c in node.children):
            raise Unsupported("grouping for expression (...)")
        intro = kids[0]
        cond = kids[-1] if kids[-1].data == "for_cond" else None
        body = kids[1:-1] if cond else kids[1:]
        names = [_name(k) for k in _kids(intro) if isinstance(k, Tree) and k.data == "identifier"]
        coll_node = [k for k in _kids(intro) if isinstance(k, Tree) and k.data != "identifier"][0]
        coll = self.eval(coll_node, scope)
        out_list, out_map = [], {}
        for key, value in _iter_collection(coll):
            inner = dict(scope)
            if len(names) == 2:
                inner[names[0]], inner[names[1]] = key, value
            else:
                inner[names[0]] = value
            if cond is not None:
                c = self.eval([k for k in _kids(cond) if isinstance(k, Tree)][0], inner)
                if not tf_bool(c):
                    continue
            if is_object:
                k = tf_str(self.eval(body[0], inner), "for expression key")
                if k in out_map:
                    raise EvalError(f"duplicate key {k!r} in a for expression (use ... to group)")
                out_map[k] = self.eval(body[1], inner)
            else:
                out_list.append(self.eval(body[0], inner))
        return out_map if is_object else out_list

    # -- blocks --------------------------------------------------------------------

    META = {"count", "for_each", "depends_on", "provider", "lifecycle"}

    def block_value(self, block: Block, scope: dict | None = None, skip_meta: bool = True) -> dict:
        """A block's arguments evaluated, and its nested blocks (dynamic ones
        expanded) as lists under their type: {"arg": v, "nested": [{...}]}."""
        scope = scope or {}
        out: dict[str, Any] = {}
        for name, expr in block.attrs.items():
            if skip_meta and name in self.META:
                continue
            try:
                out[name] = self.eval(expr, scope)
            except EvalError as e:
                raise EvalError(f"{block.file}: {' '.join([block.type] + block.labels)}.{name}: {e}") from None
        for nested in self.expand(block.blocks, scope):
            kind, value = nested
            out.setdefault(kind, []).append(value)
        return out

    def expand(self, blocks: list[Block], scope: dict) -> list[tuple[str, dict]]:
        out = []
        for b in blocks:
            if b.type == "lifecycle":
                # References (ignore_changes), not values; preconditions are
                # checked by precondition_failures().
                continue
            if b.type != "dynamic":
                out.append((b.type, self.block_value(b, scope, skip_meta=False)))
                continue
            label = b.labels[0]
            iterator = _name(b.attrs["iterator"]) if "iterator" in b.attrs else label
            contents = b.only("content")
            if len(contents) != 1:
                raise EvalError(f"dynamic {label}: one content block is required")
            for key, value in _iter_collection(self.eval(b.attrs["for_each"], scope)):
                inner = dict(scope)
                inner[iterator] = {"key": key, "value": value}
                out.append((label, self.block_value(contents[0], inner, skip_meta=False)))
        return out

    def instances(self, block: Block) -> list[dict]:
        """Scopes for each instance of a resource (each.key/each.value under
        for_each, count.index under count, nothing otherwise)."""
        if "for_each" in block.attrs:
            coll = self.eval(block.attrs["for_each"], {})
            if isinstance(coll, list):
                coll = {tf_str(v): v for v in coll}
            return [{"each": {"key": k, "value": v}} for k, v in _iter_collection(coll)]
        if "count" in block.attrs:
            return [{"count": {"index": i}} for i in range(tf_num(self.eval(block.attrs["count"], {})))]
        return [{}]


class _DataRef:
    def __init__(self, ev: Evaluator, type_: str):
        self.ev, self.type = ev, type_


class _ResourceRef:
    def __init__(self, ev: Evaluator, kind: str, key: tuple[str, str]):
        table = ev.module.data if kind == "data" else ev.module.resources
        if key not in table:
            prefix = "data." if kind == "data" else ""
            raise EvalError(f"reference to undeclared resource {prefix}{'.'.join(key)}")
        self.ev, self.kind, self.block = ev, kind, table[key]

    def instance(self, key):
        if "for_each" not in self.block.attrs and "count" not in self.block.attrs:
            raise EvalError(f"{'.'.join(self.block.labels)} has neither count nor for_each: it cannot be indexed")
        return self

    def get(self, attr):
        return self.ev._resource_attr(self.kind, self.block, attr)


def variable_values(module: Module, given: dict[str, Any]) -> dict[str, Any]:
    """Defaults overlaid with the given values, converted to the declared
    types; missing required variables and undeclared ones are errors."""
    ev = Evaluator(module, {})
    unknown = sorted(set(given) - set(module.variables))
    if unknown:
        raise EvalError(f"values for undeclared variables: {', '.join(unknown)}")
    out = {}
    for name, block in module.variables.items():
        if name in given:
            value = given[name]
        elif "default" in block.attrs:
            value = ev.eval(block.attrs["default"], {})
        else:
            raise EvalError(f"no value for the required variable {name}")
        out[name] = convert(value, block.attrs.get("type"), ev, f"var.{name}")
    return out


def validation_failures(module: Module, ev: Evaluator) -> list[str]:
    """Each failing variable validation, as Terraform reports it."""
    failures = []
    for name, block in module.variables.items():
        for v in block.only("validation"):
            ok = ev.eval(v.attrs["condition"], {})
            if not tf_bool(ok):
                failures.append(f"var.{name}: {ev.eval(v.attrs['error_message'], {})}")
    return failures


def precondition_failures(module: Module, ev: Evaluator) -> list[str]:
    failures = []
    for key, block in list(module.resources.items()) + [(("data",) + k, b) for k, b in module.data.items()]:
        for lc in block.only("lifecycle"):
            for pre in lc.only("precondition"):
                if not tf_bool(ev.eval(pre.attrs["condition"], {})):
                    failures.append(f"{'.'.join(key)}: {ev.eval(pre.attrs['error_message'], {})}")
    return failures
