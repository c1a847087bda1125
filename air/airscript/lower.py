"""Lowering an AirScript program (root file + the modules it ``use``s) into the engine's ``air.air.Air``.

Evaluators and functions are inlined, comprehensions unrolled, ``when``/``match`` arms become
``flag * body`` with the selector as the operation, buses become ``Bus``/``BusTerm``/``Message``.
Semantics from air-script v0.4.0 docs/src/description/ (constraints.md, convenience.md, evaluators.md,
buses.md); the bus boundary forms ``unconstrained`` and a public table from air-script main
(air-script/tests/buses/buses_varlen_boundary_both.air, "feat: allow unconstrained boundaries for buses (#408)").

Every scalar carries AirScript's structural degree beside its polynomial: a column 1, a constant, public
input or periodic column 0 (the cycle lengths are recorded), a product adds, a sum takes the max,
``x^n`` multiplies by n, nothing is simplified (so ``s*f + (1-s)*f`` is 2 where the polynomial is 1).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field, replace
from pathlib import Path

import sympy as sp
from lark import Token, Tree

from air.air import Air, Bus, BusBoundary, BusTerm, Message
from air.airscript.parser import AirScriptError, Source, parse_file
from air.symbols import Cell, Periodic

__all__ = ["load_airscript", "Sc"]

_MAX_DEPTH = 64  # nested evaluator/function calls: deeper is a recursion
_MAX_EXP = 1 << 16
_MAX_RANGE = 1 << 16  # a range's elements (a file cannot ask for millions of constraints)


def _site_names(sites: list[tuple[str, int]]) -> list[str]:
    """``FILE:LINE`` for each emitted item, with ``[k]`` (the k-th, in emission order) where one site emits several."""
    counts: dict[str, int] = {}
    for rel, line in sites:
        counts[f"{rel}:{line}"] = counts.get(f"{rel}:{line}", 0) + 1
    seen: dict[str, int] = {}
    names: list[str] = []
    for rel, line in sites:
        site = f"{rel}:{line}"
        if counts[site] > 1:
            names.append(f"{site}[{seen.get(site, 0)}]")
            seen[site] = seen.get(site, 0) + 1
        else:
            names.append(site)
    return names


@dataclass(frozen=True)
class Sc:
    """A scalar: its polynomial, AirScript's structural degree, the periodic cycle lengths it reads."""

    expr: sp.Expr
    deg: int
    cyc: frozenset[int] = frozenset()

    def __add__(self, o: Sc) -> Sc:
        return Sc(self.expr + o.expr, max(self.deg, o.deg), self.cyc | o.cyc)

    def __sub__(self, o: Sc) -> Sc:
        return Sc(self.expr - o.expr, max(self.deg, o.deg), self.cyc | o.cyc)

    def __mul__(self, o: Sc) -> Sc:
        return Sc(self.expr * o.expr, self.deg + o.deg, self.cyc | o.cyc)


def const(v: int) -> Sc:
    return Sc(sp.Integer(v), 0)


ONE = const(1)


@dataclass(frozen=True)
class BusRef:
    name: str
    kind: str


@dataclass(frozen=True)
class TableRef:
    name: str
    width: int


@dataclass(frozen=True)
class Marker:
    what: str  # "null" or "unconstrained"


@dataclass(frozen=True)
class BusEnd:
    bus: BusRef
    which: str  # "first" / "last"


@dataclass
class Module:
    src: Source
    name: str
    kind: str  # "root" / "library"
    consts: dict[str, object] = field(default_factory=dict)
    periodic: dict[str, Sc] = field(default_factory=dict)
    evs: dict[str, tuple[Tree, Module]] = field(default_factory=dict)
    fns: dict[str, tuple[Tree, Module]] = field(default_factory=dict)
    imported: dict[str, tuple[str, object]] = field(default_factory=dict)  # name -> (kind, value)
    items: list[Tree] = field(default_factory=list)


@dataclass(frozen=True)
class Sel:
    sc: Sc
    op: str
    text: str


@dataclass
class Ctx:
    mod: Module
    env: dict[str, object]
    section: str  # "boundary", "integrity", "function"
    root_names: bool
    sel: tuple[Sel, ...] = ()
    chain: tuple[str, ...] = ()
    claim: int | None = None
    tags: tuple[str, ...] = ()
    depth: int = 0
    bounds: list[str] | None = None


@dataclass
class Emit:
    rel: str
    full: str
    line: int
    domain: str
    body: Sc
    sel: tuple[Sel, ...]
    claim: int | None
    tags: tuple[str, ...]
    chain: tuple[str, ...]


@dataclass
class BusOp:
    rel: str
    full: str
    line: int
    bus: BusRef
    side: str
    args: list[Sc]
    flag: Sc | None
    mult: Sc | None
    sel: tuple[Sel, ...]
    claim: int | None
    chain: tuple[str, ...]
    text: str


def _pos(node: Tree | Token) -> tuple[int, int]:
    if isinstance(node, Token):
        return node.line or 0, node.column or 0
    m = node.meta
    return getattr(m, "line", 0), getattr(m, "column", 0)


def _last_line(node: Tree | Token) -> int:
    if isinstance(node, Token):
        return node.end_line or node.line or 0
    return getattr(node.meta, "end_line", 0) or _pos(node)[0]


class Lowerer:
    """Loads the modules of one program and lowers its root into an ``Air``."""

    def __init__(self, root: Path):
        self.root = root
        self.dir = root.parent
        self.modules: dict[str, Module] = {}
        self.loading: list[str] = []
        self.columns: dict[str, object] = {}
        self.publics: dict[str, object] = {}
        self.buses: dict[str, BusRef] = {}
        self.emits: list[Emit] = []
        self.busops: list[BusOp] = []
        self.bus_ends: dict[tuple[str, str], tuple[object, Source, Tree]] = {}
        self.groups: dict[str, list[tuple[str, sp.Expr]]] = {}
        self.periodic_values: dict[str, list[int]] = {}
        self.notes: list[str] = []
        self.air: Air | None = None

    # ------------------------------------------------------------------ errors, text
    def err(self, src: Source, node: Tree | Token | None, what: str) -> AirScriptError:
        line, col = (1, 1) if node is None else _pos(node)
        return AirScriptError(str(src.path), line, col, what)

    @staticmethod
    def text(src: Source, node: Tree | Token) -> str:
        if isinstance(node, Token):
            return str(node)
        m = node.meta
        whole = src.text
        return " ".join(whole[m.start_pos : m.end_pos].split())

    # ------------------------------------------------------------------ modules
    def load_module(self, path: Path, name: str | None, src_from: Source | None, at: Tree | Token | None) -> Module:
        key = path.stem
        if key in self.modules:
            return self.modules[key]
        if key in self.loading:
            cycle = " -> ".join([*self.loading, key])
            assert src_from is not None
            raise self.err(src_from, at, f"cyclic use of modules ({cycle})")
        if not path.is_file():
            assert src_from is not None
            raise self.err(src_from, at, f"module {name!r} not found (no file {path.name} beside {src_from.path.name})")
        rel = path.name if path.parent == self.dir else str(path)
        src = parse_file(path, rel)
        header = src.tree.children[0]
        kind = "root" if header.data == "root" else "library"
        mname = str(header.children[1])
        if name is not None and kind == "root":
            raise self.err(src, header, f"{path.name} is a root module (`def`); a used module starts with `mod {name}`")
        if name is None and kind != "root":
            raise self.err(src, header, "the root file must start with `def NAME` (it starts with `mod`)")
        if name is not None and mname != name:
            raise self.err(src, header.children[1], f"module is named {mname!r}, expected {name!r} (its file name)")
        mod = Module(src, mname, kind, items=list(src.tree.children[1:]))
        self.declare(mod)  # before the modules it uses: the root's periodic columns keep their names
        self.loading.append(key)
        for item in mod.items:
            if item.data == "use_decl":
                self.use(mod, item)
        self.loading.pop()
        self.modules[key] = mod
        return mod

    def use(self, mod: Module, item: Tree) -> None:
        mtok, what = item.children
        other = self.load_module(self.dir / f"{mtok}.air", str(mtok), mod.src, mtok)
        exported: dict[str, tuple[str, object]] = {}
        for n, v in other.consts.items():
            exported[n] = ("const", v)
        for n, v in other.periodic.items():
            exported[n] = ("periodic", v)
        for n, v in other.evs.items():
            exported[n] = ("ev", v)
        for n, v in other.fns.items():
            exported[n] = ("fn", v)
        if what.type == "STAR":
            for n, v in exported.items():
                mod.imported.setdefault(n, v)
        else:
            if str(what) not in exported:
                raise self.err(mod.src, what, f"module {str(mtok)!r} has no item {str(what)!r}")
            mod.imported[str(what)] = exported[str(what)]

    def declare(self, mod: Module) -> None:
        """Constants, periodic columns, evaluators and functions of one module."""
        seen: dict[str, int] = {}

        def once(tok: Token) -> str:
            n = str(tok)
            if n in seen:
                raise self.err(mod.src, tok, f"{n!r} is declared twice (first on line {seen[n]})")
            seen[n] = tok.line or 0
            return n

        for item in mod.items:
            if item.data == "const_decl":
                tok, value = item.children
                mod.consts[once(tok)] = self.const_value(value)
            elif item.data == "periodic_decl":
                for pc in item.children:
                    tok, vec = pc.children
                    vals = [int(str(t.children[0])) for t in vec.children]
                    n = len(vals)
                    if n < 2 or n & (n - 1):
                        raise self.err(
                            mod.src, vec, f"periodic column {str(tok)!r} has {n} values (a power of two >= 2)"
                        )
                    # a module's periodic column is local to it: one declared differently elsewhere gets the
                    # module's name as a prefix (parser/src/parser/tests/input/bar.air, v0.4.0)
                    pname = str(tok)
                    if self.periodic_values.get(pname, vals) != vals:
                        pname = f"{mod.name}_{pname}"
                    mod.periodic[once(tok)] = Sc(Periodic(pname), 0, frozenset({n}))
                    self.periodic_values[pname] = vals
            elif item.data == "ev_decl":
                name = next(c for c in item.children if isinstance(c, Token) and c.type == "FNAME")
                mod.evs[once(name)] = (item, mod)
            elif item.data == "fn_decl":
                name = next(c for c in item.children if isinstance(c, Token) and c.type == "FNAME")
                mod.fns[once(name)] = (item, mod)
            elif item.data in ("trace_decl", "public_decl", "buses_decl", "boundary_decl", "integrity_decl"):
                if mod.kind != "root":
                    raise self.err(mod.src, item, f"{item.data[:-5]} is only allowed in the root module (`def`)")

    def const_value(self, node: Tree) -> object:
        if node.data == "signed_int":
            return const(int(str(node.children[0])))
        return [self.const_value(c) for c in node.children]

    # ------------------------------------------------------------------ names
    def lookup(self, ctx: Ctx, tok: Token) -> object:
        n = str(tok)
        if n in ctx.env:
            return ctx.env[n]
        mod = ctx.mod
        if n in mod.consts:
            return mod.consts[n]
        if n in mod.periodic:
            return mod.periodic[n]
        if n in mod.imported and mod.imported[n][0] in ("const", "periodic"):
            return mod.imported[n][1]
        if n == "$main" and ctx.root_names:  # the whole main segment, in declaration order (v0.4.0)
            return [x for v in self.columns.values() for x in (v if isinstance(v, list) else [v])]
        if ctx.root_names:
            for table in (self.columns, self.publics, self.buses):
                if n in table:
                    return table[n]
        if not ctx.root_names and (n in self.columns or n in self.publics):
            raise self.err(mod.src, tok, f"{n!r} is not visible here (evaluators and functions see their parameters)")
        raise self.err(mod.src, tok, f"unknown name {n!r}")

    # ------------------------------------------------------------------ expressions
    def scalar(self, ctx: Ctx, node: Tree | Token) -> Sc:
        v = self.expr(ctx, node)
        if not isinstance(v, Sc):
            raise self.err(ctx.mod.src, node, f"expected a scalar, got {_kind(v)}")
        return v

    def int_of(self, ctx: Ctx, tok: Token) -> int:
        if tok.type == "INT":
            return int(str(tok))
        v = self.lookup(ctx, tok)
        if isinstance(v, Sc) and v.expr.is_Integer:
            return int(v.expr)
        raise self.err(ctx.mod.src, tok, f"{str(tok)!r} is not a constant integer")

    def expr(self, ctx: Ctx, node: Tree | Token) -> object:
        src = ctx.mod.src
        if isinstance(node, Token):  # a bare NAME only occurs in ann args and iterables
            return self.lookup(ctx, node)
        d = node.data
        if d == "number":
            return const(int(str(node.children[0])))
        if d in _BINARY:
            # a left-associative chain (a + b + c ...) is folded in a loop, not by recursion down its left spine
            chain: list[Tree] = []
            left: Tree | Token = node
            while isinstance(left, Tree) and left.data in _BINARY:
                chain.append(left)
                left = left.children[0]
            acc = self.scalar(ctx, left)
            for op in reversed(chain):
                acc = _binary(op.data, acc, self.scalar(ctx, op.children[1]))
            return acc
        if d == "not_":
            return ONE - self.scalar(ctx, node.children[0])
        if d == "pow":
            base = self.scalar(ctx, node.children[0])
            e = self.scalar(ctx, node.children[1])
            if not (e.expr.is_Integer and e.deg == 0 and not e.expr.free_symbols):
                raise self.err(src, node.children[1], "the exponent of ^ must be a constant integer")
            k = int(e.expr)
            if k < 0 or k > _MAX_EXP:
                raise self.err(src, node.children[1], f"exponent {k} out of range (0..{_MAX_EXP})")
            return Sc(base.expr**k, base.deg * k, base.cyc)
        if d == "access":
            return self.access(ctx, node)
        if d == "boundary_access":
            name, *rest = node.children
            which = str(rest[-1])
            base = self.lookup(ctx, name)
            if isinstance(base, BusRef):
                if rest[:-1]:
                    raise self.err(src, node, f"bus {str(name)!r} cannot be indexed")
                return BusEnd(base, which)
            if ctx.bounds is None:
                raise self.err(src, node, f"`.{which}` is only allowed in boundary_constraints")
            v = self.index(ctx, base, name, rest[:-1])
            if not (isinstance(v, Sc) and isinstance(v.expr, Cell) and v.expr.shift == 0):
                raise self.err(src, node, f"`.{which}` applies to a trace column, not {_kind(v)}")
            ctx.bounds.append(which)
            return v
        if d == "call":
            return self.call(ctx, node)
        if d == "null":
            return Marker("null")
        if d == "unconstrained":
            return Marker("unconstrained")
        if d == "vector":
            return [self.expr(ctx, c) for c in node.children]
        if d == "empty_vector":
            return []
        if d == "list_comp":
            body, comp = node.children
            out = []
            for env in self.comprehension(ctx, comp):
                v = self.expr(replace(ctx, env=env), body)
                if not isinstance(v, Sc):
                    raise self.err(src, body, "a list comprehension's body must be a scalar")
                out.append(v)
            return out
        if d == "range":
            lo, hi = (self.int_of(ctx, t) for t in node.children)
            if hi - lo > _MAX_RANGE:
                raise self.err(src, node, f"range {lo}..{hi} has {hi - lo} elements, over the limit of {_MAX_RANGE}")
            return [const(i) for i in range(lo, hi)]
        raise self.err(src, node, f"unexpected {d}")  # pragma: no cover - the grammar has no other node

    def index(self, ctx: Ctx, v: object, name: Token, idx: list) -> object:
        src = ctx.mod.src
        for ix in idx:
            if not isinstance(v, list):
                raise self.err(src, ix, f"{str(name)!r} is {_kind(v)} and cannot be indexed")
            if ix.data == "index_slice":
                lo, hi = (self.int_of(ctx, t) for t in ix.children)
                if not 0 <= lo <= hi <= len(v):
                    raise self.err(src, ix, f"slice {lo}..{hi} out of range for {str(name)!r} of length {len(v)}")
                v = v[lo:hi]
            else:
                i = self.int_of(ctx, ix.children[0])
                if not 0 <= i < len(v):
                    raise self.err(src, ix, f"index {i} out of range for {str(name)!r} of length {len(v)}")
                v = v[i]
        return v

    def access(self, ctx: Ctx, node: Tree) -> object:
        name, *rest = node.children
        prime = bool(rest) and isinstance(rest[-1], Token) and rest[-1].type == "PRIME"
        idx = rest[:-1] if prime else rest
        v = self.index(ctx, self.lookup(ctx, name), name, idx)
        if prime:
            v = self.next_row(ctx, v, node)
        return v

    def next_row(self, ctx: Ctx, v: object, node: Tree) -> object:
        if isinstance(v, list):
            return [self.next_row(ctx, x, node) for x in v]
        if isinstance(v, Sc) and isinstance(v.expr, Cell) and v.expr.shift == 0:
            if ctx.section == "boundary":
                raise self.err(ctx.mod.src, node, "the next row (') is not allowed in boundary_constraints")
            return Sc(v.expr.next, 1)
        raise self.err(ctx.mod.src, node, "' (next row) applies to trace columns only")

    def comprehension(self, ctx: Ctx, comp: Tree) -> list[dict[str, object]]:
        members, iterables = comp.children
        names = [str(t) for t in members.children]
        its = [self.expr(ctx, it) for it in iterables.children]
        src = ctx.mod.src
        if len(names) != len(its):
            raise self.err(src, comp, f"{len(names)} names bound to {len(its)} iterables")
        for it, node in zip(its, iterables.children):
            if not isinstance(it, list):
                raise self.err(src, node, f"cannot iterate over {_kind(it)}")
        lengths = {len(it) for it in its}  # type: ignore[arg-type]
        if len(lengths) > 1:
            raise self.err(src, comp, f"the iterables have different lengths {sorted(lengths)}")
        n = lengths.pop() if lengths else 0
        return [{**ctx.env, **{nm: it[i] for nm, it in zip(names, its)}} for i in range(n)]  # type: ignore[index]

    def call(self, ctx: Ctx, node: Tree) -> object:
        src = ctx.mod.src
        fname, *args = node.children
        n = str(fname)
        if n in ("sum", "prod") and n not in ctx.mod.fns and n not in ctx.mod.imported:
            if len(args) != 1:
                raise self.err(src, node, f"{n} takes 1 argument (a vector), got {len(args)}")
            v = self.expr(ctx, args[0])
            if not isinstance(v, list) or not all(isinstance(x, Sc) for x in v):
                raise self.err(src, args[0], f"{n} takes a vector of scalars, got {_kind(v)}")
            acc = const(0) if n == "sum" else ONE
            for i, x in enumerate(v):
                acc = x if i == 0 else (acc + x if n == "sum" else acc * x)
            return acc
        found = self.callable(ctx.mod, n)
        if found is None:
            raise self.err(src, fname, f"unknown function {n!r}")
        kind, (decl, mod) = found
        if kind == "ev":
            raise self.err(src, fname, f"{n!r} is an evaluator: call it as a constraint, `enf {n}([...])`")
        if ctx.depth >= _MAX_DEPTH:
            raise self.err(src, fname, f"calls nested deeper than {_MAX_DEPTH} (a recursion?)")
        params = [c for c in decl.children if isinstance(c, Tree) and c.data == "fn_param"]
        if len(args) != len(params):
            raise self.err(src, node, f"{n} takes {len(params)} argument(s), got {len(args)}")
        env: dict[str, object] = {}
        for p, a in zip(params, args):
            pname, ty = p.children
            v = self.expr(ctx, a)
            _check_type(self, src, a, v, ty, n, str(pname))
            env[str(pname)] = v
        body = [c for c in decl.children if isinstance(c, Tree) and c.data == "annotated"]
        fctx = Ctx(mod, env, "function", False, depth=ctx.depth + 1)
        result = None
        for st in body:
            s = st.children[-1]
            if result is not None:
                raise self.err(mod.src, s, "nothing may follow `return` in a function")
            if s.data == "let_stmt":
                fctx.env = {**fctx.env, str(s.children[0]): self.expr(fctx, s.children[1])}
            elif s.data == "return_stmt":
                result = self.expr(fctx, s.children[0])
            else:
                raise self.err(mod.src, s, "a function has `let` statements and a `return`, no constraints")
        if result is None:
            raise self.err(mod.src, decl, f"function {n!r} has no `return`")
        return result

    def callable(self, mod: Module, n: str) -> tuple[str, tuple[Tree, Module]] | None:
        if n in mod.evs:
            return "ev", mod.evs[n]
        if n in mod.fns:
            return "fn", mod.fns[n]
        if n in mod.imported and mod.imported[n][0] in ("ev", "fn"):
            return mod.imported[n]  # type: ignore[return-value]
        return None

    # ------------------------------------------------------------------ statements
    def block(self, ctx: Ctx, stmts: list[Tree]) -> None:
        for st in stmts:
            anns = [c for c in st.children[:-1]]
            s = st.children[-1]
            tags = ctx.tags + tuple(_annotation(a) for a in anns)
            first = _pos(anns[0] if anns else s)[0]
            # a match's arms have their own lines: the statement's claim is on its first line (or above it)
            last = _pos(s)[0] if s.data == "match_stmt" else _last_line(s)
            claim = ctx.mod.src.claim(first, last)
            sctx = replace(ctx, tags=tags, claim=claim if claim is not None else ctx.claim)
            d = s.data
            if d == "let_stmt":
                ctx.env = {**ctx.env, str(s.children[0]): self.expr(ctx, s.children[1])}
            elif d == "enf_stmt":
                self.enf(sctx, s)
            elif d == "match_stmt":
                self.match(sctx, s)
            elif d == "bus_stmt":
                self.bus_stmt(sctx, s)
            elif d == "return_stmt":
                raise self.err(ctx.mod.src, s, "`return` is only allowed in a function")

    def selector(self, ctx: Ctx, sel_node: Tree, cons: Tree) -> Sel:
        sc = self.scalar(replace(ctx, bounds=None), sel_node)
        ev = self.evaluator_called(ctx, cons)
        if ev is not None:
            op = ev
        elif isinstance(sel_node, Tree) and sel_node.data == "call":
            op = str(sel_node.children[0])
        else:
            op = self.text(ctx.mod.src, sel_node)
        return Sel(sc, op, self.text(ctx.mod.src, sel_node))

    def evaluator_called(self, ctx: Ctx, cons: Tree) -> str | None:
        if len(cons.children) == 1 and isinstance(cons.children[0], Tree) and cons.children[0].data == "call":
            n = str(cons.children[0].children[0])
            found = self.callable(ctx.mod, n)
            if found is not None and found[0] == "ev":
                return n
        return None

    def enf(self, ctx: Ctx, s: Tree) -> None:
        parts = s.children[1:]
        cons = parts[0]
        comp = next((p for p in parts[1:] if p.data == "comprehension"), None)
        sel = next((p for p in parts[1:] if p.data == "selector"), None)
        if sel is not None:
            if ctx.section == "boundary":
                raise self.err(ctx.mod.src, sel, "`when` is not allowed in boundary_constraints")
            ctx = replace(ctx, sel=ctx.sel + (self.selector(ctx, sel.children[0], cons),))
        envs = self.comprehension(ctx, comp) if comp is not None else [ctx.env]
        for env in envs:
            self.constraint(replace(ctx, env=env), cons, s)

    def match(self, ctx: Ctx, s: Tree) -> None:
        src = ctx.mod.src
        if ctx.section == "boundary":
            raise self.err(src, s, "`match` is not allowed in boundary_constraints")
        arms = []
        for arm in s.children[1:]:
            sel_node, cons = arm.children
            sl = self.selector(ctx, sel_node, cons)
            arms.append((sl.op, sl.sc.expr))
            own = src.claim(_pos(arm)[0], _last_line(arm))  # `case s: a = b, # degree 3`
            claim = own if own is not None else ctx.claim
            self.constraint(replace(ctx, sel=ctx.sel + (sl,), claim=claim), cons, arm)
        self.groups[f"{src.rel}:{_pos(s)[0]} match"] = arms

    def constraint(self, ctx: Ctx, cons: Tree, stmt: Tree) -> None:
        src = ctx.mod.src
        line = _pos(stmt)[0]
        ev = self.evaluator_called(ctx, cons)
        if ev is not None:
            self.inline_evaluator(ctx, cons.children[0], stmt)
            return
        if len(cons.children) == 1:
            raise self.err(src, cons, "expected a constraint `lhs = rhs` or an evaluator call")
        bounds: list[str] = []
        bctx = replace(ctx, bounds=bounds if ctx.section == "boundary" else None)
        lhs = self.expr(bctx, cons.children[0])
        rhs = self.expr(bctx, cons.children[1])
        if isinstance(lhs, BusEnd):
            self.bus_end(ctx, lhs, rhs, cons)
            return
        pairs = _pairs(lhs, rhs)
        if pairs is None:
            raise self.err(src, cons, f"a constraint compares {_kind(lhs)} with {_kind(rhs)}")
        domain = "transition"
        if ctx.section == "boundary":
            if not bounds:
                raise self.err(src, cons, "a boundary constraint reads a column with .first or .last")
            if len(set(bounds)) > 1:
                raise self.err(src, cons, "a boundary constraint reads either .first or .last, not both")
            domain = bounds[0]
        for left, right in pairs:  # a vector equation is one constraint per element (v0.4.0 allows it)
            body = left - right
            if body.expr == 0:  # sympy cancelled it as written (`a - a = 0`): nothing to check
                self.notes.append(f"{src.rel}:{line}: identically 0 as written, constrains nothing (dropped)")
                continue
            emit = Emit(src.rel, str(src.path), line, domain, body, ctx.sel, ctx.claim, ctx.tags, ctx.chain)
            self.emits.append(emit)

    def inline_evaluator(self, ctx: Ctx, call: Tree, stmt: Tree) -> None:
        src = ctx.mod.src
        fname, *args = call.children
        n = str(fname)
        found = self.callable(ctx.mod, n)
        assert found is not None
        decl, mod = found[1]
        if ctx.section != "integrity":
            raise self.err(src, call, f"evaluator {n!r} can only be called in integrity constraints")
        if ctx.depth >= _MAX_DEPTH:
            raise self.err(src, fname, f"evaluator calls nested deeper than {_MAX_DEPTH} (a recursion?)")
        segments = [c for c in decl.children if isinstance(c, Tree) and c.data == "ev_segment"]
        if any(seg.children for seg in segments[1:]):
            raise self.err(mod.src, decl, "evaluators over more than the main trace segment are not supported")
        if len(args) != len(segments):
            raise self.err(
                src, call, f"evaluator {n} takes {len(segments)} argument(s) (vectors of columns), got {len(args)}"
            )
        for extra in args[1:]:
            if self.expr(ctx, extra) != []:
                raise self.err(src, extra, f"evaluator {n}: only the main segment's columns can be passed")
        cols: list[Sc] = []
        v = self.expr(replace(ctx, bounds=None), args[0])
        for x in v if isinstance(v, list) else [v]:
            for y in x if isinstance(x, list) else [x]:
                if not (isinstance(y, Sc) and isinstance(y.expr, Cell)):
                    raise self.err(src, args[0], f"evaluator {n} takes trace columns, got {_kind(y)}")
                cols.append(y)
        env: dict[str, object] = {}
        bindings = segments[0].children
        want = sum(int(str(b.children[1])) if len(b.children) > 1 else 1 for b in bindings)
        if want != len(cols):
            raise self.err(src, call, f"evaluator {n} takes {want} column(s), got {len(cols)}")
        at = 0
        for b in bindings:
            if len(b.children) > 1:
                k = int(str(b.children[1]))
                env[str(b.children[0])] = cols[at : at + k]
                at += k
            else:
                env[str(b.children[0])] = cols[at]
                at += 1
        body = [c for c in decl.children if isinstance(c, Tree) and c.data == "annotated"]
        eanns = tuple(_annotation(c) for c in decl.children if isinstance(c, Tree) and c.data == "annotation")
        ectx = Ctx(
            mod,
            env,
            "integrity",
            False,
            ctx.sel,
            ctx.chain + (f"{src.rel}:{_pos(stmt)[0]}",),
            ctx.claim,
            ctx.tags + eanns,
            ctx.depth + 1,
        )
        self.block(ectx, body)

    def bus_end(self, ctx: Ctx, end: BusEnd, rhs: object, cons: Tree) -> None:
        src = ctx.mod.src
        if ctx.section != "boundary":
            raise self.err(src, cons, "bus boundaries (.first/.last) belong in boundary_constraints")
        if not (isinstance(rhs, (Marker, TableRef))):
            raise self.err(src, cons.children[1], "a bus boundary is null, unconstrained or a public table ([[n]])")
        key = (end.bus.name, end.which)
        if key in self.bus_ends:
            raise self.err(src, cons, f"bus {end.bus.name}.{end.which} is constrained twice")
        self.bus_ends[key] = (rhs, src, cons)

    def bus_stmt(self, ctx: Ctx, s: Tree) -> None:
        src = ctx.mod.src
        name, op, *rest = s.children
        if str(op) not in ("insert", "remove"):
            raise self.err(src, op, f"unknown bus operation {str(op)!r} (expected insert or remove)")
        if ctx.section != "integrity":
            raise self.err(src, s, "bus insert/remove belongs in integrity constraints")
        bus = self.lookup(replace(ctx, root_names=True), name)  # an evaluator may use the root's buses
        if not isinstance(bus, BusRef):
            raise self.err(src, name, f"{str(name)!r} is not a bus")
        mod_node = (
            rest[-1] if rest and isinstance(rest[-1], Tree) and rest[-1].data in ("selector", "multiplicity") else None
        )
        arg_nodes = rest[:-1] if mod_node is not None else rest
        if mod_node is None:
            raise self.err(src, s, f"{name}.{op}(...) needs `when SELECTOR` (or `with MULTIPLICITY` on a logup bus)")
        args: list[Sc] = []
        for a in arg_nodes:
            v = self.expr(ctx, a)
            for x in v if isinstance(v, list) else [v]:
                if not isinstance(x, Sc):
                    raise self.err(src, a, f"a bus message holds scalars, not {_kind(x)}")
                args.append(x)
        if not args:
            raise self.err(src, s, "a bus message needs at least one value")
        m = self.scalar(ctx, mod_node.children[0])
        flag = mult = None
        if mod_node.data == "multiplicity":
            if bus.kind != "logup":
                raise self.err(src, mod_node, f"`with` is for logup buses; {bus.name} is a multiset bus (use `when`)")
            mult = m
        else:
            flag = m
        side = "response" if str(op) == "insert" else "request"
        line = _pos(s)[0]
        text = f"{name}.{op}({', '.join(self.text(src, a) for a in arg_nodes)})"
        self.busops.append(
            BusOp(src.rel, str(src.path), line, bus, side, args, flag, mult, ctx.sel, ctx.claim, ctx.chain, text)
        )

    # ------------------------------------------------------------------ the root
    def lower(self, budget: int | None) -> Air:
        mod = self.load_module(self.root, None, None, None)
        src = mod.src
        air = Air(mod.name, f"AirScript {src.path.name}", budget)
        self.air = air
        trace = [i for i in mod.items if i.data == "trace_decl"]
        if not trace:
            raise self.err(src, src.tree.children[0], "no trace_columns section (a main segment is required)")
        for item in trace:
            for seg in item.children:
                if str(seg.children[0]) != "main":
                    raise self.err(src, seg, "only the main trace segment is supported (as in AirScript v0.4.0)")
                for b in seg.children[1:]:
                    self.declare_column(air, src, b)
        for item in mod.items:
            if item.data == "public_decl":
                for p in item.children:
                    tok, n = p.children
                    self.unique(src, tok)
                    k = int(str(n))
                    doc = f"{src.rel}:{tok.line}"
                    if p.data == "public_table":
                        air.public_table(str(tok), k, doc)
                        self.publics[str(tok)] = TableRef(str(tok), k)
                    else:
                        self.publics[str(tok)] = [Sc(air.public_input(f"{tok}[{i}]", doc), 0) for i in range(k)]
            elif item.data == "buses_decl":
                for b in item.children:
                    kind, tok = b.children
                    self.unique(src, tok)
                    self.buses[str(tok)] = BusRef(str(tok), str(kind))
        for name, vals in self.periodic_values.items():
            air.periodic_column(name, vals)
        for item in mod.items:
            if item.data in ("boundary_decl", "integrity_decl"):
                section = "boundary" if item.data == "boundary_decl" else "integrity"
                self.block(Ctx(mod, {}, section, True), list(item.children))
        self.build(air)
        air.notes.extend(self.notes)
        return air

    def unique(self, src: Source, tok: Token) -> None:
        n = str(tok)
        if n in self.columns or n in self.publics or n in self.buses:
            raise self.err(src, tok, f"{n!r} is declared twice")

    def declare_column(self, air: Air, src: Source, b: Tree) -> None:
        tok = b.children[0]
        self.unique(src, tok)
        doc = f"{src.rel}:{tok.line}"
        if len(b.children) > 1:
            k = int(str(b.children[1]))
            if k < 1:
                raise self.err(src, b, f"column group {str(tok)!r} has size {k}")
            self.columns[str(tok)] = [Sc(air.column("main", f"{tok}[{i}]", doc), 1) for i in range(k)]
        else:
            self.columns[str(tok)] = Sc(air.column("main", str(tok), doc), 1)

    def build(self, air: Air) -> None:
        """Name the collected constraints and bus terms, and add them with their operations."""
        declared: dict[str, tuple[int, str]] = {}
        ops: dict[str, sp.Expr] = {}
        for e, name in zip(self.emits, _site_names([(e.rel, e.line) for e in self.emits])):
            op, flag_sc = self.operation(air, ops, e.sel)
            doc = " ".join(f"via {c}" for c in reversed(e.chain))
            whole = e.body if flag_sc is None else flag_sc * e.body
            declared[name] = (whole.deg, _why(whole))
            if flag_sc is None:
                air.constrain(
                    name,
                    e.body.expr,
                    domain=e.domain,
                    claimed_degree=e.claim,
                    tags=e.tags,
                    doc=doc,
                    defined_at=f"{e.full}:{e.line}",
                )
            else:
                air.constrain(
                    name,
                    domain=e.domain,
                    flag=flag_sc.expr,
                    body=e.body.expr,
                    operation=op,
                    claimed_degree=e.claim,
                    tags=e.tags,
                    doc=doc,
                    defined_at=f"{e.full}:{e.line}",
                )
        self.build_buses(air, ops, declared)
        air.selector_groups = dict(self.groups)
        air.declared_degrees = declared
        air.gate_claims = True  # `# degree d` annotations are checked by `air gate`

    def operation(self, air: Air, ops: dict[str, sp.Expr], sel: tuple[Sel, ...]) -> tuple[str | None, Sc | None]:
        if not sel:
            return None, None
        flag = sel[0].sc
        for s in sel[1:]:
            flag = flag * s.sc
        name = sel[0].op
        outer = sel[0].sc.expr
        if name in ops and not _same(ops[name], outer):
            i = 2
            while f"{name}#{i}" in ops and not _same(ops[f"{name}#{i}"], outer):
                i += 1
            name = f"{name}#{i}"
        if name not in ops:
            ops[name] = outer
            air.operation(name, outer, doc=f"selector {sel[0].text}")
        return name, flag

    def build_buses(self, air: Air, ops: dict[str, sp.Expr], declared: dict[str, tuple[int, str]]) -> None:
        terms: dict[str, list[tuple[BusTerm, Sc, Sc]]] = {n: [] for n in self.buses}
        for b, name in zip(self.busops, _site_names([(b.rel, b.line) for b in self.busops])):
            op, outer = self.operation(air, ops, b.sel)
            flag = b.flag if b.flag is not None else ONE
            if outer is not None:
                flag = outer * flag if b.flag is not None else outer
            mult = None
            if b.mult is not None:
                mult = b.mult if outer is None else outer * b.mult
            msg = Message(b.text, None, tuple((f"v{i}", a.expr) for i, a in enumerate(b.args)))
            v = Sc(sp.Integer(0), max(a.deg for a in b.args), frozenset().union(*(a.cyc for a in b.args)))
            doc = " ".join(f"via {c}" for c in reversed(b.chain))
            t = BusTerm(
                name,
                b.side,
                flag.expr,
                (msg,),
                factors=(b.text,),
                operation=op,
                multiplicity=None if mult is None else mult.expr,
                claimed_degree=b.claim,
                doc=doc,
            )
            terms[b.bus.name].append((t, flag if mult is None else mult, v))
        for bname, ref in self.buses.items():
            ends = {w: self.bus_ends.get((bname, w)) for w in ("first", "last")}
            empty = 1 if ref.kind == "multiset" else 0
            init: sp.Expr | None = sp.Integer(empty)
            final: sp.Expr | None = sp.Integer(empty)
            boundary: list[BusBoundary] = []
            for w, got in ends.items():
                if got is None:
                    continue
                val = got[0]
                if isinstance(val, Marker) and val.what == "unconstrained":
                    if w == "first":
                        init = None
                    else:
                        final = None
                elif isinstance(val, TableRef):
                    # first = T: the bus starts holding T's rows (as if inserted); last = T: it ends holding
                    # them, i.e. they are taken out at the end and the bus is then empty
                    msg = Message(val.name, None, tuple((f"v{i}", sp.Integer(0)) for i in range(val.width)))
                    boundary.append(BusBoundary("response" if w == "first" else "request", msg, table=val.name))
            if ends["first"] is None or ends["last"] is None:
                missing = [w for w, v in ends.items() if v is None]
                air.notes.append(f"bus {bname}: no boundary constraint for .{'/.'.join(missing)}; taken as null")
            ts = [t for t, _, _ in terms[bname]]
            if not ts:
                air.notes.append(f"bus {bname} has no insert/remove")
                continue
            bus = Bus(
                bname,
                ref.kind,
                bname,
                tuple(ts),
                initial=init,
                final=final,  # type: ignore[arg-type]
                boundary=tuple(boundary),
                doc="AirScript bus",
            )
            air.bus(bus)
            declared[f"bus:{bname}"] = _whole_bus_degree(ref.kind, terms[bname])


def _whole_bus_degree(kind: str, terms: list[tuple[BusTerm, Sc, Sc]]) -> tuple[int, str]:
    """AirScript's degree of the whole bus column constraint (buses.md, v0.4.0), counted structurally.

    multiset: ``p' * prod_remove (v*f + 1 - f) = p * prod_insert (v*f + 1 - f)``: 1 + the larger side's sum of
    (deg f + deg v). logup: ``(q' - q) * prod v = sum_i m_i * prod_{j != i} v_j``: the larger of 1 + sum deg v
    and max_i (deg m_i + sum_{j != i} deg v_j)."""
    if kind == "multiset":
        sides = {"request": 0, "response": 0}
        for t, f, v in terms:
            sides[t.side] += f.deg + v.deg
        d = 1 + max(sides.values())
        return d, f"whole column, {len(terms)} factors"
    vs = sum(max(v.deg, 0) for _, _, v in terms)
    d = max([1 + vs] + [m.deg + vs - v.deg for _, m, v in terms])
    return d, f"whole column, {len(terms)} denominators"


_BINARY = ("add", "sub", "mul", "and_", "or_")


def _binary(op: str, a: Sc, b: Sc) -> Sc:
    """``a op b``; ``a | b`` is ``a + b - a*b`` (grammar.lalrpop, v0.4.0), of AirScript degree deg a + deg b."""
    if op == "add":
        return a + b
    if op == "sub":
        return a - b
    if op in ("mul", "and_"):
        return a * b
    s = a + b - a * b
    return Sc(s.expr, a.deg + b.deg, s.cyc)


def _pairs(lhs: object, rhs: object) -> list[tuple[Sc, Sc]] | None:
    """The scalar pairs of ``lhs = rhs``: one pair, or element by element for vectors/matrices of one shape."""
    if isinstance(lhs, Sc) and isinstance(rhs, Sc):
        return [(lhs, rhs)]
    if isinstance(lhs, list) and isinstance(rhs, list) and len(lhs) == len(rhs):
        out: list[tuple[Sc, Sc]] = []
        for a, b in zip(lhs, rhs):
            p = _pairs(a, b)
            if p is None:
                return None
            out += p
        return out
    return None


def _same(a: sp.Expr, b: sp.Expr) -> bool:
    """The same polynomial: equal as written (the common case, cheap), else after expansion."""
    return a == b or sp.expand(a - b) == 0


def _why(s: Sc) -> str:
    if s.cyc:
        return "periodic cycle " + ", ".join(str(c) for c in sorted(s.cyc))
    return ""


def _kind(v: object) -> str:
    if isinstance(v, Sc):
        return "a scalar"
    if isinstance(v, list):
        return f"a vector of length {len(v)}"
    if isinstance(v, BusRef):
        return f"the bus {v.name}"
    if isinstance(v, TableRef):
        return f"the public table {v.name}"
    if isinstance(v, Marker):
        return v.what
    if isinstance(v, BusEnd):
        return f"{v.bus.name}.{v.which}"
    return type(v).__name__


def _annotation(a: Tree) -> str:
    name, *args = a.children
    return str(name) + (f"({', '.join(str(x) for x in args)})" if args else "")


def _check_type(lw: Lowerer, src: Source, node: Tree, v: object, ty: Tree, fn: str, param: str) -> None:
    if ty.data == "felt_scalar":
        ok = isinstance(v, Sc)
        want = "a scalar (felt)"
    elif ty.data == "felt_vector":
        n = int(str(ty.children[0]))
        ok = isinstance(v, list) and len(v) == n and all(isinstance(x, Sc) for x in v)
        want = f"a vector felt[{n}]"
    else:
        r, c = (int(str(x)) for x in ty.children)
        ok = isinstance(v, list) and len(v) == r and all(isinstance(x, list) and len(x) == c for x in v)
        want = f"a matrix felt[{r}, {c}]"
    if not ok:
        raise lw.err(src, node, f"{fn}: parameter {param} takes {want}, got {_kind(v)}")


def load_airscript(path: str | Path, budget: int | None = None) -> Air:
    """The AIR of the AirScript program whose root file (``def NAME``) is ``path``; modules it ``use``s are
    read from the same directory. Raises ``AirScriptError`` (one line, ``path:line:col: ...``)."""
    p = Path(path)
    if not p.is_file():
        raise AirScriptError(str(p), 1, 1, "no such file")
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 20000))  # nested calls and parentheses recurse; sympy too
    try:
        air = Lowerer(p).lower(budget)
        air.validate()
    except RecursionError:
        raise AirScriptError(str(p), 1, 1, "expressions or calls nested too deeply to lower") from None
    finally:
        sys.setrecursionlimit(limit)
    return air
