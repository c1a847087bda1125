"""Known answers shared by the digest and executor tests (data, not tests): the MAST root of each program of
Miden's decoder tests, the decoder's h0..h3 on the HALT row of the execution traces in
processor/src/parallel/snapshots/*test_trace_generation_at_fragment_boundaries::case_NN.snap (how they were read:
tests/test_digest.py's docstring)."""

from __future__ import annotations

# program -> (snapshot case, root digest read from that trace)
PROGRAM_ROOTS: dict[str, tuple[int, tuple[int, int, int, int]]] = {
    "join": (1, (3597132565408622630, 1466877683371826591, 9838838035223844160, 3640601379372070578)),
    "split": (3, (17149107495750955485, 7340806355128686747, 6409145589801629209, 14491675738699496369)),
    "loop": (7, (10109157256041856376, 7554856414542533389, 11207762695896262514, 13452137323037908614)),
    "call": (11, (5291764446515994071, 8410668242596628641, 3232695480923741174, 7012263725129372047)),
    "syscall": (13, (3674319727063023780, 7421386674592614536, 16867421579832228216, 2612571647160679516)),
    "basic_block_small": (15, (14002581231276936843, 11078044575323313836, 404930941062907522, 4550383797069860823)),
    "basic_block_multiple_batches": (
        20,
        (5782645707811528856, 3120481249996181095, 3104848413220760647, 6617668542244908782),
    ),
    "dyn": (22, (9442969405932508932, 7419461830188972776, 12184617248254565971, 7790553053284541333)),
    "dyncall": (24, (9186352804085870681, 5834278453472251877, 11314869575806769926, 9114330236957350692)),
    "external": (26, (9032865856750591269, 12769037719088639375, 11985113259716506704, 18030193397217220117)),
}


# the MASM of those programs the executor's assembler takes (text, kernel)
MIDEN_ROOTS = {  # programs whose MAST is Miden's test MAST (processor/src/tests: the snapshot cases in test_digest)
    "split": ("begin\n  swap swap if.true add else swap end\nend\n", None),
    "loop": ("begin\n  swap swap while.true pad drop end\nend\n", None),
    "call": ("proc.foo\n  swap swap\nend\nbegin\n  swap swap call.foo\nend\n", None),
    "syscall": ("begin\n  swap swap syscall.foo\nend\n", "export.foo\n  swap swap\nend\n"),
}
