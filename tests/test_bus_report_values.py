"""``air check``'s text report writes bus message values as it writes constraint cells (field.format_value):
a small negative ``p - k`` as ``-k (p−k)``, and ``--hex`` in hexadecimal (issue 12)."""

import json
from pathlib import Path

P = 2**64 - 2**32 + 1
K = 123456789  # 0x75bcd15, checked by hand: 7*16^6 + 5*16^5 + 11*16^4 + 12*16^3 + 13*16^2 + 1*16 + 5

AIR = (
    "from air.air import Air, Bus, BusTerm, Message\n"
    "def make():\n"
    "    air = Air('negbus', 'one request, one response that differ in x')\n"
    "    req, resp, x, y, k = air.columns('main', ['req', 'resp', 'x', 'y', 'k'])\n"
    "    mq = Message('m', None, (('x', x), ('k', k)))\n"
    "    mr = Message('m', None, (('x', y), ('k', k)))\n"
    "    air.bus(Bus('b', 'multiset', 'acc', (BusTerm('u', 'request', req, (mq,)),"
    " BusTerm('v', 'response', resp, (mr,)))))\n"
    "    return air\n"
)


def files(tmp_path: Path) -> tuple[str, str]:
    """Row 0 requests (x = p - 1, k = K); row 1 answers (x = p - 3, k = K): both unmatched, one likely pair."""
    src = tmp_path / "negbus.py"
    src.write_text(AIR)
    trace = tmp_path / "t.csv"
    trace.write_text(f"req,resp,x,y,k\n1,0,{P - 1},0,{K}\n0,1,0,{P - 3},{K}\n0,0,0,0,0\n0,0,0,0,0\n")
    return str(trace), f"{src}:make"


def test_bus_values_print_small_negatives(air_cli, tmp_path) -> None:
    trace, spec = files(tmp_path)
    code, out, _ = air_cli("check", trace, "--air", spec)
    assert code == 1
    assert f"x=-1 (p−1) k={K}, requested by term u at row 0" in out
    assert f"x=-3 (p−3) k={K}, answered by term v at row 1" in out
    assert "x: -1 (p−1) requested, -3 (p−3) answered" in out
    assert str(P - 1) not in out and str(P - 3) not in out


def test_bus_values_follow_hex(air_cli, tmp_path) -> None:
    trace, spec = files(tmp_path)
    code, out, _ = air_cli("check", trace, "--air", spec, "--hex")
    assert code == 1
    assert "x=-0x1 (p−0x1) k=0x75bcd15, requested by term u at row 0" in out
    assert "x=-0x3 (p−0x3) k=0x75bcd15, answered by term v at row 1" in out
    assert "x: -0x1 (p−0x1) requested, -0x3 (p−0x3) answered" in out
    assert f"k={K}" not in out


def test_json_keeps_the_plain_values(air_cli, tmp_path) -> None:
    """Machine output is unchanged: field values stay decimal strings of the field element."""
    trace, spec = files(tmp_path)
    code, out, _ = air_cli("check", trace, "--air", spec, "--format", "json")
    assert code == 1
    found = json.dumps(json.loads(out))
    assert f'"x": "{P - 1}"' in found and f'"x": "{P - 3}"' in found
