#!/usr/bin/env python3
"""Writes tiny valid int8 TFLite models (a few hundred bytes each) as fuzz seeds.

The real models in fixtures/models are 50-330 KB; mutating those is slow and mostly hits
weight bytes. These cover every operator the reader supports with the smallest shapes.
Needs the `flatbuffers` package from PyPI (pip install flatbuffers).
Usage: make_tflite_seeds.py OUT_DIR
"""
import struct
import sys
from pathlib import Path

import flatbuffers

INT32, INT8 = 2, 9
ADD, AVG_POOL, CONV, DWCONV, FC, RESHAPE, SOFTMAX = 0, 1, 3, 4, 9, 22, 25
BO = {CONV: 1, DWCONV: 2, AVG_POOL: 5, FC: 8, SOFTMAX: 9, ADD: 11, RESHAPE: 17}


def ivec(b, xs):
    b.StartVector(4, len(xs), 4)
    for x in reversed(xs):
        b.PrependInt32(x)
    return b.EndVector()


def fvec(b, xs):
    b.StartVector(4, len(xs), 4)
    for x in reversed(xs):
        b.PrependFloat32(x)
    return b.EndVector()


def lvec(b, xs):
    b.StartVector(8, len(xs), 8)
    for x in reversed(xs):
        b.PrependInt64(x)
    return b.EndVector()


def bvec(b, data):
    b.StartVector(1, len(data), 16)
    for x in reversed(data):
        b.PrependUint8(x)
    return b.EndVector()


def table_vec(b, offs):
    b.StartVector(4, len(offs), 4)
    for o in reversed(offs):
        b.PrependUOffsetTRelative(o)
    return b.EndVector()


def model(tensors, ops, inputs, outputs, buffers):
    """tensors: (name, shape, type, buffer, scales, zps); ops: (code, ins, outs, opts_fn)."""
    b = flatbuffers.Builder(1024)
    bufs = []
    for data in buffers:
        d = bvec(b, data) if data else None
        b.StartObject(1)
        if d is not None:
            b.PrependUOffsetTRelativeSlot(0, d, 0)
        bufs.append(b.EndObject())
    ts = []
    for name, shape, ty, buf, scales, zps in tensors:
        q = None
        if scales:
            sv, zv = fvec(b, scales), lvec(b, zps)
            b.StartObject(7)
            b.PrependUOffsetTRelativeSlot(2, sv, 0)
            b.PrependUOffsetTRelativeSlot(3, zv, 0)
            q = b.EndObject()
        n, s = b.CreateString(name), ivec(b, shape)
        b.StartObject(5)
        b.PrependUOffsetTRelativeSlot(0, s, 0)
        b.PrependInt8Slot(1, ty, 0)
        b.PrependUint32Slot(2, buf, 0)
        b.PrependUOffsetTRelativeSlot(3, n, 0)
        if q is not None:
            b.PrependUOffsetTRelativeSlot(4, q, 0)
        ts.append(b.EndObject())
    codes = sorted({op[0] for op in ops})
    code_offs = []
    for c in codes:
        b.StartObject(4)
        b.PrependInt8Slot(0, min(c, 127), 0)
        b.PrependInt32Slot(2, 1, 1)
        b.PrependInt32Slot(3, c, 0)
        code_offs.append(b.EndObject())
    op_offs = []
    for code, ins, outs, opts in ops:
        o = opts(b) if opts else None
        iv, ov = ivec(b, ins), ivec(b, outs)
        b.StartObject(6)
        b.PrependUint32Slot(0, codes.index(code), 0)
        b.PrependUOffsetTRelativeSlot(1, iv, 0)
        b.PrependUOffsetTRelativeSlot(2, ov, 0)
        if o is not None:
            b.PrependUint8Slot(3, BO[code], 0)
            b.PrependUOffsetTRelativeSlot(4, o, 0)
        op_offs.append(b.EndObject())
    tv, opv = table_vec(b, ts), table_vec(b, op_offs)
    inv, outv = ivec(b, inputs), ivec(b, outputs)
    name = b.CreateString("main")
    b.StartObject(5)
    b.PrependUOffsetTRelativeSlot(0, tv, 0)
    b.PrependUOffsetTRelativeSlot(1, inv, 0)
    b.PrependUOffsetTRelativeSlot(2, outv, 0)
    b.PrependUOffsetTRelativeSlot(3, opv, 0)
    b.PrependUOffsetTRelativeSlot(4, name, 0)
    sg = b.EndObject()
    sgv, cv, bv = table_vec(b, [sg]), table_vec(b, code_offs), table_vec(b, bufs)
    desc = b.CreateString("simbench fuzz seed")
    b.StartObject(5)
    b.PrependUint32Slot(0, 3, 0)
    b.PrependUOffsetTRelativeSlot(1, cv, 0)
    b.PrependUOffsetTRelativeSlot(2, sgv, 0)
    b.PrependUOffsetTRelativeSlot(3, desc, 0)
    b.PrependUOffsetTRelativeSlot(4, bv, 0)
    root = b.EndObject()
    b.Finish(root, file_identifier=b"TFL3")
    return bytes(b.Output())


def opts(*fields):
    """fields: (slot, kind, value) with kind 'b' byte, 'i' int32, 'f' float."""
    def build(b):
        b.StartObject(8)
        for slot, kind, v in fields:
            {"b": b.PrependUint8Slot, "i": b.PrependInt32Slot, "f": b.PrependFloat32Slot}[kind](slot, v, 0)
        return b.EndObject()
    return build


def reshape_opts(shape):
    def build(b):
        v = ivec(b, shape)
        b.StartObject(1)
        b.PrependUOffsetTRelativeSlot(0, v, 0)
        return b.EndObject()
    return build


def i8(n, seed):
    return bytes(((seed * 37 + i * 11) % 200 + 28) & 0xFF for i in range(n))


def i32s(xs):
    return b"".join(struct.pack("<i", x) for x in xs)


def chain():
    a = [0.05], [0]
    t = [
        ("input", [1, 4, 4, 1], INT8, 0, *a),
        ("conv_w", [2, 3, 3, 1], INT8, 1, [0.02, 0.03], [0, 0]),
        ("conv_b", [2], INT32, 2, [0.001, 0.0015], [0, 0]),
        ("conv_out", [1, 4, 4, 2], INT8, 0, *a),
        ("dw_w", [1, 3, 3, 2], INT8, 3, [0.02, 0.02], [0, 0]),
        ("dw_b", [2], INT32, 4, [0.001, 0.001], [0, 0]),
        ("dw_out", [1, 4, 4, 2], INT8, 0, *a),
        ("pool_out", [1, 2, 2, 2], INT8, 0, *a),
        ("flat", [1, 8], INT8, 0, *a),
        ("fc_w", [3, 8], INT8, 5, [0.01], [0]),
        ("fc_b", [3], INT32, 6, [0.0005], [0]),
        ("logits", [1, 3], INT8, 0, [0.1], [0]),
        ("probs", [1, 3], INT8, 0, [1 / 256], [-128]),
    ]
    ops = [
        (CONV, [0, 1, 2], [3], opts((0, "b", 0), (1, "i", 1), (2, "i", 1), (3, "b", 1))),
        (DWCONV, [3, 4, 5], [6], opts((0, "b", 0), (1, "i", 1), (2, "i", 1), (3, "i", 1), (4, "b", 3))),
        (AVG_POOL, [6], [7], opts((0, "b", 1), (1, "i", 2), (2, "i", 2), (3, "i", 2), (4, "i", 2))),
        (RESHAPE, [7], [8], reshape_opts([1, 8])),
        (FC, [8, 9, 10], [11], opts()),
        (SOFTMAX, [11], [12], opts((0, "f", 1.0))),
    ]
    bufs = [b"", i8(18, 1), i32s([5, -7]), i8(18, 2), i32s([3, 4]), i8(24, 3), i32s([1, 2, 3])]
    return model(t, ops, [0], [12], bufs)


def add():
    t = [("a", [1, 4], INT8, 0, [0.1], [3]), ("b", [1, 4], INT8, 0, [0.2], [-2]), ("sum", [1, 4], INT8, 0, [0.25], [1])]
    return model(t, [(ADD, [0, 1], [2], opts((0, "b", 3)))], [0, 1], [2], [b""])


def fc():
    t = [("x", [1, 2], INT8, 0, [0.5], [0]), ("w", [2, 2], INT8, 1, [0.1], [0]), ("y", [1, 2], INT8, 0, [0.5], [0])]
    return model(t, [(FC, [0, 1, -1], [2], None)], [0], [2], [b"", i8(4, 9)])


if __name__ == "__main__":
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    for name, data in [("tiny_chain.tflite", chain()), ("tiny_add.tflite", add()), ("tiny_fc.tflite", fc())]:
        (out / name).write_bytes(data)
        print(name, len(data))
