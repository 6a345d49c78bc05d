"""The training stream as fixed-shape token windows, tokenised once and kept on disk, and the batch order.

Tokenising in the loop and padding each batch to its own longest window cost the old loop half its speed:
oneDNN builds kernels per tensor shape, so every new width is a slow step. Here every example is tokenised
once into windows of at most ``max_length`` tokens (``stride`` shared between windows of a long paragraph),
stored as arrays in the run folder, and every batch is padded to one of a few fixed widths (``buckets``).
The order of the batches is a function of the seed and the pass alone: step *n* of a run is the same batch
whether the run went straight there or was resumed, so a resumed run skips nothing and repeats nothing.
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qa.training.data import Example

WINDOWS_FILE = "windows.npz"
ENCODE_CHUNK = 2000  # examples tokenised per call: bounds the memory of the tokenizer's Python lists
POOL_BATCHES = 64  # batches' worth of windows sorted by length together: little padding, still shuffled


@dataclass(frozen=True)
class WindowShape:
    max_length: int
    stride: int
    max_question_tokens: int
    buckets: tuple[int, ...]  # the widths a batch is padded to (the last is max_length)

    def width_for(self, length: int) -> int:
        """The narrowest bucket that holds ``length`` tokens (the last bucket is ``max_length``)."""
        return next(width for width in self.buckets if length <= width)


@dataclass
class Windows:
    """Token windows with their answer positions ((0, 0): no answer in this window)."""

    input_ids: np.ndarray  # [n, max_length] int32, zero-padded
    token_type_ids: np.ndarray  # [n, max_length] int8
    lengths: np.ndarray  # [n] int32
    starts: np.ndarray  # [n] int32
    ends: np.ndarray  # [n] int32

    def __len__(self) -> int:
        return len(self.lengths)

    def save(self, path: Path, fingerprint: str) -> None:
        partial = path.with_suffix(".partial.npz")
        np.savez(partial, fingerprint=np.array(fingerprint), input_ids=self.input_ids,
                 token_type_ids=self.token_type_ids, lengths=self.lengths, starts=self.starts, ends=self.ends)
        partial.replace(path)

    @classmethod
    def load(cls, path: Path, fingerprint: str) -> "Windows | None":
        """The saved windows, or None when there are none or they were made from other examples or settings."""
        if not path.is_file():
            return None
        with np.load(path) as saved:
            if str(saved["fingerprint"]) != fingerprint:
                return None
            return cls(saved["input_ids"], saved["token_type_ids"], saved["lengths"], saved["starts"], saved["ends"])


def fingerprint(examples: list[Example], shape: WindowShape, tokenizer_name: str, seed: int) -> str:
    """A digest of the examples (in order: id, question, paragraph, answer), the window settings and the seed
    that picks an answerable example's window without its answer."""
    digest = hashlib.sha256(json.dumps([shape.max_length, shape.stride, shape.max_question_tokens,
                                        tokenizer_name, seed]).encode())
    for example in examples:
        digest.update(f"{example.qid}\x1f{example.question}\x1f{example.context}\x1f{example.answer_text}"
                      f"\x1f{example.answer_start}\x1e".encode())
    return digest.hexdigest()


def _short_question(question: str, tokenizer, max_tokens: int) -> str:
    """The question cut to ``max_tokens`` tokens, as the serving code cuts it."""
    offsets = tokenizer(question, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
    return question if len(offsets) <= max_tokens else question[: offsets[max_tokens - 1][1]]


def encode(examples: list[Example], tokenizer, shape: WindowShape, seed: int) -> Windows:
    """Windows of each example: an answerable one keeps the windows that hold its answer and at most one that
    does not (chosen by the seed); a negative keeps one window."""
    rng = random.Random(seed)
    rows: list[tuple[list[int], list[int], int, int]] = []
    for begin in range(0, len(examples), ENCODE_CHUNK):
        chunk = examples[begin : begin + ENCODE_CHUNK]
        rows.extend(_encode_chunk(chunk, tokenizer, shape, rng))
    return _as_windows(rows, shape)


def _as_windows(rows: list[tuple[list[int], list[int], int, int]], shape: WindowShape) -> Windows:
    n = len(rows)
    windows = Windows(
        np.zeros((n, shape.max_length), dtype=np.int32), np.zeros((n, shape.max_length), dtype=np.int8),
        np.zeros(n, dtype=np.int32), np.zeros(n, dtype=np.int32), np.zeros(n, dtype=np.int32),
    )
    for row, (ids, types, start, end) in enumerate(rows):
        windows.input_ids[row, : len(ids)] = ids
        windows.token_type_ids[row, : len(types)] = types
        windows.lengths[row], windows.starts[row], windows.ends[row] = len(ids), start, end
    return windows


def encode_pairs(pairs: list[tuple[Example, Example]], tokenizer, shape: WindowShape, seed: int) -> Windows:
    """One window of each example and one of its companion (:mod:`qa.training.companions`), as rows ``2i`` and
    ``2i + 1``: the example's window holds its answer where it has one (a pair whose answer no window holds
    whole is left out), the others are chosen by the seed. Unlike :func:`encode`, an answerable example gives
    one window, never one of its own paragraph's windows without the answer: its companion is that negative."""
    rng = random.Random(seed)
    rows: list[tuple[list[int], list[int], int, int]] = []
    for begin in range(0, len(pairs), ENCODE_CHUNK):
        chunk = pairs[begin : begin + ENCODE_CHUNK]
        examples = _windows_by_example([e for e, _ in chunk], tokenizer, shape)
        companions = _windows_by_example([c for _, c in chunk], tokenizer, shape)
        for (example, _), (with_answer, without), (_, companion) in zip(chunk, examples, companions):
            chosen = with_answer if example.answerable else without
            if chosen and companion:
                rows += [rng.choice(chosen), rng.choice(companion)]
    return _as_windows(rows, shape)


def _windows_by_example(examples: list[Example], tokenizer, shape: WindowShape) -> list[tuple[list, list]]:
    """For each example, its windows that hold its answer and those that do not (rows of ``Windows``)."""
    encoded = _tokenised(examples, tokenizer, shape)
    grouped: list[tuple[list, list]] = [([], []) for _ in examples]
    for w, example_index in enumerate(encoded["overflow_to_sample_mapping"]):
        example = examples[example_index]
        row = (encoded["input_ids"][w], encoded["token_type_ids"][w])
        span = _answer_tokens(example, encoded.sequence_ids(w), encoded["offset_mapping"][w])
        grouped[example_index][0 if span else 1].append((*row, *(span or (0, 0))))
    return grouped


def _tokenised(examples: list[Example], tokenizer, shape: WindowShape):
    return tokenizer(
        [_short_question(e.question, tokenizer, shape.max_question_tokens) for e in examples],
        [e.context for e in examples],
        truncation="only_second", max_length=shape.max_length, stride=shape.stride,
        return_overflowing_tokens=True, return_offsets_mapping=True,
    )


def _encode_chunk(examples: list[Example], tokenizer, shape: WindowShape, rng: random.Random):
    for with_answer, without in _windows_by_example(examples, tokenizer, shape):
        yield from with_answer
        if without:
            yield rng.choice(without)


def _answer_tokens(example: Example, sequence: list, offsets: list) -> tuple[int, int] | None:
    """The first and last token of the answer in this window, or None when the window does not hold it."""
    if not example.answerable:
        return None
    first = sequence.index(1)
    last = len(sequence) - 1 - sequence[::-1].index(1)
    a_start, a_end = example.answer_start, example.answer_start + len(example.answer_text)
    if not (offsets[first][0] <= a_start and offsets[last][1] >= a_end):
        return None
    s = first
    while s <= last and offsets[s][1] <= a_start:
        s += 1
    e = last
    while e >= first and offsets[e][0] >= a_end:
        e -= 1
    return (s, e) if s <= e else None


def pass_batches(lengths: np.ndarray, batch_size: int, seed: int, pass_index: int) -> list[np.ndarray]:
    """One pass over the windows as batches of window indices, in an order fixed by the seed and the pass:
    windows are shuffled, sorted by length within pools of ``POOL_BATCHES`` batches (so that a batch pads
    little), cut into full batches, and the batches shuffled."""
    rng = np.random.default_rng([seed, pass_index])
    order = rng.permutation(len(lengths))
    pool = batch_size * POOL_BATCHES
    batches = []
    for begin in range(0, len(order), pool):
        members = order[begin : begin + pool]
        members = members[np.argsort(lengths[members], kind="stable")]
        batches.extend(members[i : i + batch_size] for i in range(0, len(members) - batch_size + 1, batch_size))
    rng.shuffle(batches)
    return batches


class BatchOrder:
    """Step number → batch of window indices, over as many passes as the schedule needs. With ``group`` 2 the
    windows go in pairs (rows ``2i`` and ``2i + 1``, :func:`encode_pairs`): a batch holds whole pairs, each
    pair's windows side by side."""

    def __init__(self, lengths: np.ndarray, batch_size: int, seed: int, group: int = 1) -> None:
        if batch_size % group:
            raise ValueError(f"batches of {batch_size} windows cannot hold whole groups of {group}")
        if len(lengths) % group:
            raise ValueError(f"{len(lengths)} windows do not make whole groups of {group}")
        self.group = group
        self.group_lengths = lengths.reshape(-1, group).max(axis=1)  # a group's width is its longest window's
        self.groups_per_batch, self.seed = batch_size // group, seed
        self.per_pass = len(pass_batches(self.group_lengths, self.groups_per_batch, seed, 0))
        if self.per_pass == 0:
            raise ValueError(f"{len(lengths)} windows make no full batch of {batch_size}: use more examples")
        self._pass_index, self._batches = -1, []

    def __getitem__(self, step: int) -> np.ndarray:
        pass_index, within = divmod(step, self.per_pass)
        if pass_index != self._pass_index:
            self._pass_index, self._batches = pass_index, pass_batches(self.group_lengths, self.groups_per_batch,
                                                                       self.seed, pass_index)
        groups = self._batches[within]
        return (groups[:, None] * self.group + np.arange(self.group)[None, :]).reshape(-1)


def batch_tensors(windows: Windows, indices: np.ndarray, shape: WindowShape, torch) -> dict:
    """The model's inputs for one batch, padded to its bucket's width."""
    width = shape.width_for(int(windows.lengths[indices].max()))
    lengths = torch.from_numpy(windows.lengths[indices])
    return {
        "input_ids": torch.from_numpy(windows.input_ids[indices, :width].astype(np.int64)),
        "token_type_ids": torch.from_numpy(windows.token_type_ids[indices, :width].astype(np.int64)),
        "attention_mask": (torch.arange(width)[None, :] < lengths[:, None]).long(),
        "start_positions": torch.from_numpy(windows.starts[indices].astype(np.int64)),
        "end_positions": torch.from_numpy(windows.ends[indices].astype(np.int64)),
    }
