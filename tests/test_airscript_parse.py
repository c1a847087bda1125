"""AirScript parsing: the grammar reads every construct of v0.4.0, and errors name path:line:col (one line)."""

from __future__ import annotations

from pathlib import Path

import pytest

from air.airscript.parser import AirScriptError, parse_source


def parse(text: str):
    return parse_source(text, Path("t.air"), "t.air")


EVERYTHING = """\
def Everything
use helpers::*;
use other::thing;
const A = 3;
const V = [1, 2, 3];
const M = [[1, 2], [3, 4]];
trace_columns {
    main: [a, b, c[3], s],
}
public_inputs {
    res: [2],
    tab: [[4]],
}
periodic_columns {
    k: [1, 0, 0, 0],
}
buses {
    multiset p,
    logup q,
}
boundary_constraints {
    let x = 3;
    enf a.first = x;
    enf b.last = res[1];
    enf p.first = null;
    enf p.last = unconstrained;
    enf q.first = tab;
}
integrity_constraints {
    let y = [v * 2 for v in c];
    let z = [i + v for (i, v) in (0..3, c)];
    enf a' = b * k;
    enf v^2 = v for v in c[0..2];
    enf b' = sum(y) + prod(z) when !s & c[0] | c[1];
    enf match {
        case s: foo([a, b]),
        case !s: a = M[1][0],
    };
    p.insert(a, b) when s;
    q.remove(a) with 2;
    @tag(hot) enf ev2([a]);
}
@sum_form(x) ev foo([x, y[1]]) {
    enf x' = x + y[0];
}
fn f(u: felt, w: felt[2], m: felt[2, 2]) -> felt {
    let r = u * w[0];
    return r + m[0][1];
}
"""


def test_every_construct_parses() -> None:
    src = parse(EVERYTHING)
    kinds = [c.data for c in src.tree.children]
    # a root header, two uses, three consts, each section once, an evaluator and a function
    assert kinds[0] == "root"
    for k in ("use_decl", "const_decl", "trace_decl", "public_decl", "periodic_decl", "buses_decl",
              "boundary_decl", "integrity_decl", "ev_decl", "fn_decl"):
        assert k in kinds, k
    assert kinds.count("const_decl") == 3
    nodes = {t.data for t in src.tree.iter_subtrees()}
    for k in ("match_stmt", "bus_stmt", "list_comp", "comprehension", "and_", "or_", "not_", "pow",
              "boundary_access", "null", "unconstrained", "public_table", "index_slice", "annotation", "range"):
        assert k in nodes, k


def test_precedence_and_or_bind_loosest() -> None:
    # `!s & c | d + e * f ^ 2` groups as ((!s) & c) | (d + (e * (f ^ 2))) (grammar.lalrpop: & | loosest)
    src = parse("def X\nintegrity_constraints { enf x = !s & c | d + e * f ^ 2; }")
    rhs = next(src.tree.find_data("constraint")).children[1]
    assert rhs.data == "or_"
    left, right = rhs.children
    assert left.data == "and_" and left.children[0].data == "not_"
    assert right.data == "add" and right.children[1].data == "mul" and right.children[1].children[1].data == "pow"


@pytest.mark.parametrize(
    "text, where, words",
    [
        ("def X\ntrace_columns { main: [a b], }", "t.air:2:26:", ["unexpected 'b'", "','", "']'"]),
        ("def X\nintegrity_constraints {\n  enf a = ;\n}", "t.air:3:11:", ["unexpected ';'", "a name", "an integer"]),
        ("def X\nintegrity_constraints { enf a = b ? }", "t.air:2:35:", ["unexpected character '?'", "';'"]),
        ("def X\nintegrity_constraints { enf a = b", "t.air:2:", ["unexpected end of file"]),
        ("trace_columns { main: [a], }", "t.air:1:1:", ["'def'", "'mod'"]),
    ],
)
def test_syntax_errors_name_line_col_and_expected(text: str, where: str, words: list[str]) -> None:
    with pytest.raises(AirScriptError) as e:
        parse(text)
    msg = str(e.value)
    assert "\n" not in msg
    assert msg.startswith(where), msg
    for w in words:
        assert w in msg, (w, msg)
    assert isinstance(e.value, ValueError)


def test_degree_claims_in_every_form() -> None:
    text = "\n".join(
        [
            "def X",  # 1
            "integrity_constraints {",  # 2
            "    enf a = b; # degree 5",  # 3
            "    enf a = b; # degree: 6",  # 4
            "    enf a = b; # deg = 7",  # 5
            "    enf a = b | degree=8;",  # 6
            "    enf a = b | deg = 9;",  # 7
            "    # Constraint degree: 4",  # 8
            "    enf a = b;",  # 9
            "    enf a = b; # no claim here",  # 10
            "    enf a = b | c;",  # 11: an `or`, not a claim
            "}",
        ]
    )
    src = parse(text)
    assert src.claims == {3: 5, 4: 6, 5: 7, 6: 8, 7: 9}
    assert src.claim(9, 9) == 4  # the Miden form on the line above
    assert src.claim(10, 10) is None and src.claim(11, 11) is None
    assert next(src.tree.find_data("or_"))  # line 11 still parses as `b | c`


def test_annotations_are_kept_not_errors() -> None:
    src = parse("def X\nintegrity_constraints {\n  @tag(fast) @sum_form enf a = b;\n}")
    anns = list(src.tree.find_data("annotation"))
    assert [str(a.children[0]) for a in anns] == ["tag", "sum_form"]
