"""The reader interface takes a transformers QA checkpoint from a local path (a tiny random one here)."""

from __future__ import annotations

import dataclasses

import pytest

from qa.pipeline import QAPipeline


@pytest.fixture(scope="module")
def tiny_qa_model(tmp_path_factory):
    from transformers import BertConfig, BertForQuestionAnswering, BertTokenizerFast

    from qa.ingest.text import words

    folder = tmp_path_factory.mktemp("tiny-qa")
    from qa.config import DEFAULT_CORPUS

    vocabulary = sorted(set(words(DEFAULT_CORPUS.read_text())) | set("when was the seminar held ?".split()))
    vocab_file = folder / "vocab.txt"
    vocab_file.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ",", ".", "(", ")", "-"] + vocabulary))
    tokenizer = BertTokenizerFast(vocab_file=str(vocab_file), do_lower_case=True)
    config = BertConfig(
        vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
        intermediate_size=37, max_position_embeddings=512,
    )
    BertForQuestionAnswering(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def test_pipeline_with_a_transformers_reader(seminar_pipeline, embedder, tiny_qa_model):
    settings = dataclasses.replace(seminar_pipeline.settings, reader=str(tiny_qa_model), answer_threshold=0.0)
    pipeline = QAPipeline.from_index(seminar_pipeline.index, embedder, settings)
    answer = pipeline.ask("When was the seminar held?")
    assert not answer.no_answer and answer.answer  # random weights: some span, but a real, cited one
    [citation] = answer.citations
    text = pipeline.document(citation.doc_id).text
    assert text[citation.start : citation.end] == citation.quote == answer.answer
    assert citation.passage_start <= citation.start < citation.end <= citation.passage_end


def test_a_missing_reader_model_is_a_clear_error(seminar_pipeline, embedder, tmp_path):
    from qa.errors import ModelError

    settings = dataclasses.replace(seminar_pipeline.settings, reader=str(tmp_path / "nothing"))
    with pytest.raises(ModelError, match="local model folder"):
        QAPipeline.from_index(seminar_pipeline.index, embedder, settings)
