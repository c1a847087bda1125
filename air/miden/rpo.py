"""RPO-256: the Rescue Prime Optimized hash over Goldilocks, as Miden computes it.

Parameters, layout and padding are those of miden-crypto v0.18.0 (commit 13d01fce67c1c498999c115832a9516068e43f1e;
the version miden-vm v0.19.0 locks, unchanged through v0.18.5), github.com/0xMiden/crypto:

* miden-crypto/src/hash/algebraic_sponge/mod.rs: state width 12, capacity = state[0..4], rate = state[4..12],
  digest = state[4..8]; ALPHA = 7, INV_ALPHA = 10540996611094048183; the padding rules of ``hash_elements``
  (capacity[0] = len % 8, zero-fill the last block, no permutation at all for empty input), ``hash`` (bytes),
  ``merge`` and ``merge_in_domain`` (domain in capacity[1]);
* miden-crypto/src/hash/algebraic_sponge/rescue/mod.rs: NUM_ROUNDS = 7 and the round constants ARK1, ARK2;
* miden-crypto/src/hash/algebraic_sponge/rescue/mds/mod.rs: the 12x12 MDS matrix, circulant with first row
  [7, 23, 8, 26, 13, 10, 9, 7, 6, 22, 21, 8] (row i is the first row rotated right by i: M[i][j] = row[(j - i) % 12]);
* miden-crypto/src/hash/algebraic_sponge/rescue/rpo/mod.rs: the round
  ``state = invsbox(MDS·state + ARK2[r])`` after ``state = sbox(MDS·state + ARK1[r])``.

Later miden-crypto releases (PR #755) move the rate to state[0..8] and the capacity to state[8..12]: not this layout.
The code is ours; only the numbers are Miden's.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

P = 2**64 - 2**32 + 1
STATE_WIDTH = 12
RATE_WIDTH = 8
CAPACITY = range(0, 4)
RATE = range(4, 12)
DIGEST = range(4, 8)
NUM_ROUNDS = 7
ALPHA = 7
INV_ALPHA = 10540996611094048183  # 7^-1 mod (p - 1): x -> x^INV_ALPHA inverts x -> x^7
BINARY_CHUNK_SIZE = 7  # bytes per field element in hash_bytes

Digest = tuple[int, int, int, int]
ZERO_DIGEST: Digest = (0, 0, 0, 0)

MDS_FIRST_ROW: tuple[int, ...] = (7, 23, 8, 26, 13, 10, 9, 7, 6, 22, 21, 8)
MDS: tuple[tuple[int, ...], ...] = tuple(
    tuple(MDS_FIRST_ROW[(j - i) % STATE_WIDTH] for j in range(STATE_WIDTH)) for i in range(STATE_WIDTH)
)

# Round constants (miden-crypto rescue/mod.rs, ARK1 for the first half of a round, ARK2 for the second).
# fmt: off
ARK1: tuple[tuple[int, ...], ...] = (
    (
        5789762306288267392, 6522564764413701783, 17809893479458208203, 107145243989736508,
        6388978042437517382, 15844067734406016715, 9975000513555218239, 3344984123768313364,
        9959189626657347191, 12960773468763563665, 9602914297752488475, 16657542370200465908,
    ),
    (
        12987190162843096997, 653957632802705281, 4441654670647621225, 4038207883745915761,
        5613464648874830118, 13222989726778338773, 3037761201230264149, 16683759727265180203,
        8337364536491240715, 3227397518293416448, 8110510111539674682, 2872078294163232137,
    ),
    (
        18072785500942327487, 6200974112677013481, 17682092219085884187, 10599526828986756440,
        975003873302957338, 8264241093196931281, 10065763900435475170, 2181131744534710197,
        6317303992309418647, 1401440938888741532, 8884468225181997494, 13066900325715521532,
    ),
    (
        5674685213610121970, 5759084860419474071, 13943282657648897737, 1352748651966375394,
        17110913224029905221, 1003883795902368422, 4141870621881018291, 8121410972417424656,
        14300518605864919529, 13712227150607670181, 17021852944633065291, 6252096473787587650,
    ),
    (
        4887609836208846458, 3027115137917284492, 9595098600469470675, 10528569829048484079,
        7864689113198939815, 17533723827845969040, 5781638039037710951, 17024078752430719006,
        109659393484013511, 7158933660534805869, 2955076958026921730, 7433723648458773977,
    ),
    (
        16308865189192447297, 11977192855656444890, 12532242556065780287, 14594890931430968898,
        7291784239689209784, 5514718540551361949, 10025733853830934803, 7293794580341021693,
        6728552937464861756, 6332385040983343262, 13277683694236792804, 2600778905124452676,
    ),
    (
        7123075680859040534, 1034205548717903090, 7717824418247931797, 3019070937878604058,
        11403792746066867460, 10280580802233112374, 337153209462421218, 13333398568519923717,
        3596153696935337464, 8104208463525993784, 14345062289456085693, 17036731477169661256,
    ),
)
ARK2: tuple[tuple[int, ...], ...] = (
    (
        6077062762357204287, 15277620170502011191, 5358738125714196705, 14233283787297595718,
        13792579614346651365, 11614812331536767105, 14871063686742261166, 10148237148793043499,
        4457428952329675767, 15590786458219172475, 10063319113072092615, 14200078843431360086,
    ),
    (
        6202948458916099932, 17690140365333231091, 3595001575307484651, 373995945117666487,
        1235734395091296013, 14172757457833931602, 707573103686350224, 15453217512188187135,
        219777875004506018, 17876696346199469008, 17731621626449383378, 2897136237748376248,
    ),
    (
        8023374565629191455, 15013690343205953430, 4485500052507912973, 12489737547229155153,
        9500452585969030576, 2054001340201038870, 12420704059284934186, 355990932618543755,
        9071225051243523860, 12766199826003448536, 9045979173463556963, 12934431667190679898,
    ),
    (
        18389244934624494276, 16731736864863925227, 4440209734760478192, 17208448209698888938,
        8739495587021565984, 17000774922218161967, 13533282547195532087, 525402848358706231,
        16987541523062161972, 5466806524462797102, 14512769585918244983, 10973956031244051118,
    ),
    (
        6982293561042362913, 14065426295947720331, 16451845770444974180, 7139138592091306727,
        9012006439959783127, 14619614108529063361, 1394813199588124371, 4635111139507788575,
        16217473952264203365, 10782018226466330683, 6844229992533662050, 7446486531695178711,
    ),
    (
        3736792340494631448, 577852220195055341, 6689998335515779805, 13886063479078013492,
        14358505101923202168, 7744142531772274164, 16135070735728404443, 12290902521256031137,
        12059913662657709804, 16456018495793751911, 4571485474751953524, 17200392109565783176,
    ),
    (
        17130398059294018733, 519782857322261988, 9625384390925085478, 1664893052631119222,
        7629576092524553570, 3485239601103661425, 9755891797164033838, 15218148195153269027,
        16460604813734957368, 9643968136937729763, 3611348709641382851, 18256379591337759196,
    ),
)
# fmt: on


def _mds(s: Sequence[int]) -> list[int]:
    """MDS·s over GF(p): one reduction per row (entries are < 32, so the sum stays below 2^74)."""
    return [
        (r[0] * s[0] + r[1] * s[1] + r[2] * s[2] + r[3] * s[3] + r[4] * s[4] + r[5] * s[5]
         + r[6] * s[6] + r[7] * s[7] + r[8] * s[8] + r[9] * s[9] + r[10] * s[10] + r[11] * s[11]) % P
        for r in MDS
    ]  # fmt: skip


def apply_round(state: Sequence[int], r: int) -> list[int]:
    """One RPO round r (0..6): x -> (MDS·(MDS·x + ARK1[r])^7 + ARK2[r])^(1/7), elementwise powers."""
    s = _mds(state)
    s = [pow(x + c, ALPHA, P) for x, c in zip(s, ARK1[r])]
    s = _mds(s)
    return [pow(x + c, INV_ALPHA, P) for x, c in zip(s, ARK2[r])]


def _canonical(state: Iterable[int], n: int, what: str) -> list[int]:
    s = [int(x) % P for x in state]
    if len(s) != n:
        raise ValueError(f"{what} needs {n} field elements, got {len(s)}")
    return s


def permute(state: Sequence[int]) -> list[int]:
    """The RPO permutation: 7 rounds over a 12-element state (entries taken mod p)."""
    s = _canonical(state, STATE_WIDTH, "the RPO state")
    for r in range(NUM_ROUNDS):
        s = apply_round(s, r)
    return s


def permute_trace(state: Sequence[int]) -> list[list[int]]:
    """The states of a permutation: [input, after round 1, ..., after round 7] (8 states; the last is the output).

    This is the 8-row cycle of Miden's hasher chiplet: row 0 holds the input, row i the state after round i.
    """
    s = _canonical(state, STATE_WIDTH, "the RPO state")
    out = [s]
    for r in range(NUM_ROUNDS):
        s = apply_round(s, r)
        out.append(s)
    return out


def _digest(state: Sequence[int]) -> Digest:
    return (state[4], state[5], state[6], state[7])


def hash_elements(elems: Iterable[int]) -> Digest:
    """Sponge over field elements: capacity[0] = n % 8, absorb 8 at a time into the rate (overwrite mode),
    permute after each full block, zero-fill and permute a partial last block; digest = state[4..8].
    No element: no permutation, the zero digest."""
    e = [int(x) % P for x in elems]
    state = [0] * STATE_WIDTH
    state[0] = len(e) % RATE_WIDTH
    for k in range(0, len(e), RATE_WIDTH):
        block = e[k : k + RATE_WIDTH]
        state[4:12] = block + [0] * (RATE_WIDTH - len(block))
        state = permute(state)
    return _digest(state)


def merge(d1: Sequence[int], d2: Sequence[int]) -> Digest:
    """2-to-1 hash: one permutation of [0, 0, 0, 0, d1, d2]; equals hash_elements(d1 + d2)."""
    return merge_in_domain(d1, d2, 0)


def merge_in_domain(d1: Sequence[int], d2: Sequence[int], domain: int) -> Digest:
    """2-to-1 hash with a domain separator in capacity[1]: permute([0, domain, 0, 0, d1, d2])[4..8].
    Miden's control blocks use their opcode as the domain."""
    a = _canonical(d1, 4, "a digest")
    b = _canonical(d2, 4, "a digest")
    return _digest(permute([0, int(domain) % P, 0, 0, *a, *b]))


def hash_bytes(data: bytes) -> Digest:
    """Sponge over bytes: 7-byte little-endian chunks, the last one followed by a 0x01 byte (zero-filled to 8);
    capacity[0] = 8 + (number of chunks % 8); a partial last block is zero-filled. Empty input: the zero digest."""
    n = -(-len(data) // BINARY_CHUNK_SIZE)
    state = [0] * STATE_WIDTH
    state[0] = RATE_WIDTH + n % RATE_WIDTH
    elems = []
    for k in range(n):
        chunk = data[k * BINARY_CHUNK_SIZE : (k + 1) * BINARY_CHUNK_SIZE]
        if k == n - 1:
            chunk = chunk + b"\x01"
        elems.append(int.from_bytes(chunk, "little"))
    for k in range(0, n, RATE_WIDTH):
        block = elems[k : k + RATE_WIDTH]
        state[4:12] = block + [0] * (RATE_WIDTH - len(block))
        state = permute(state)
    return _digest(state)
