"""A minimal GGUF reader for verification: metadata and F32 / F16 / Q8_0 tensors as float32 numpy arrays.

It reads back the file export-gguf.mjs wrote, so the PyTorch perplexity in verify.py is computed with exactly the
(quantized) weights llama.cpp and ringlm see.
"""
import struct

import numpy as np

SCALAR_FORMATS = {0: '<B', 1: '<b', 2: '<H', 3: '<h', 4: '<I', 5: '<i', 6: '<f', 7: '<?', 10: '<Q', 11: '<q', 12: '<d'}
GGUF_STRING, GGUF_ARRAY = 8, 9
GGML_F32, GGML_F16, GGML_Q8_0 = 0, 1, 8


class Reader:
    def __init__(self, data):
        self.data, self.pos = data, 0

    def take(self, fmt):
        value = struct.unpack_from(fmt, self.data, self.pos)[0]
        self.pos += struct.calcsize(fmt)
        return value

    def string(self):
        n = self.take('<Q')
        s = self.data[self.pos: self.pos + n].decode('utf-8')
        self.pos += n
        return s

    def value(self, kind):
        if kind == GGUF_STRING:
            return self.string()
        if kind == GGUF_ARRAY:
            element, count = self.take('<I'), self.take('<Q')
            return [self.value(element) for _ in range(count)]
        return self.take(SCALAR_FORMATS[kind])


def dequantize(kind, raw, count):
    if kind == GGML_F32:
        return np.frombuffer(raw, dtype='<f4', count=count).copy()
    if kind == GGML_F16:
        return np.frombuffer(raw, dtype='<f2', count=count).astype(np.float32)
    if kind == GGML_Q8_0:
        blocks = np.frombuffer(raw, dtype=np.uint8, count=count // 32 * 34).reshape(-1, 34)
        scales = blocks[:, :2].copy().view('<f2').astype(np.float32)  # (blocks, 1)
        codes = blocks[:, 2:].copy().view(np.int8).astype(np.float32)
        return (codes * scales).reshape(-1)
    raise ValueError(f'ggml type {kind} is not read here')


def read_gguf(path):
    """Returns (metadata dict, {name: float32 array shaped like PyTorch, i.e. reversed ne})."""
    with open(path, 'rb') as f:
        data = f.read()
    r = Reader(data)
    if r.take('<I') != 0x46554747:
        raise ValueError(f'{path}: not a GGUF file')
    version, n_tensors, n_kv = r.take('<I'), r.take('<Q'), r.take('<Q')
    if version not in (2, 3):
        raise ValueError(f'{path}: GGUF version {version}')
    metadata = {}
    for _ in range(n_kv):
        key = r.string()
        metadata[key] = r.value(r.take('<I'))
    infos = []
    for _ in range(n_tensors):
        name = r.string()
        ne = [r.take('<Q') for _ in range(r.take('<I'))]
        infos.append((name, ne, r.take('<I'), r.take('<Q')))
    alignment = metadata.get('general.alignment', 32)
    base = (r.pos + alignment - 1) // alignment * alignment
    tensors = {}
    for name, ne, kind, offset in infos:
        count = int(np.prod(ne))
        tensors[name] = dequantize(kind, data[base + offset:], count).reshape(list(reversed(ne)))
    return metadata, tensors
