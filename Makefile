# Two commands: `make run` installs and starts the chatbot on the seminar corpus; `make test` installs and
# runs the tests. Everything is installed into a local virtualenv (.venv) from the project's own files.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test eval bench loadtest audit build clean train-reader ship-reader train-sentence-scorer ship-sentence-scorer cluster cluster-stop

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "needs $(PYTHON) (set PYTHON=...)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# torch first, pinned: an unpinned torch would pull a multi-GB CUDA build.
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

build: install
	$(BIN)/qa build

run: install
	$(BIN)/python app.py

# Ends with a line naming the browser and accessibility tests when they were skipped (no Chromium).
test: install
	@status=0; $(BIN)/python -m pytest -q || status=$$?; cat .pytest_cache/not-run.txt 2>/dev/null; exit $$status

eval: install
	$(BIN)/qa eval eval/questions/seminar.jsonl --report eval/reports/seminar
	$(BIN)/qa eval eval/benchmarks/squad2_dev_small.json --report eval/reports/squad2_dev_small

# The learned reader, from ../shared/data/qa_train (PyTorch at training time only; resumable: run it again to
# continue from the last checkpoint in build/reader/, or pass --init-from a shipped model.onnx and --init-step
# its step where build/ was lost). The run's model is exported to build/reader/candidate; `make ship-reader`
# puts it in qa/models/reader and fits the combiners (whole passages, and the sentence-window reading) and the
# lead floors for it: do that only when it beats the
# shipped model on the held-apart dev questions (its log.jsonl against
# `qa train-reader --evaluate-only --init-from qa/models/reader/model.onnx --out build/eval-shipped`). The
# model cards in qa/models/ say which recipe made each model.
train-reader: install
	$(BIN)/qa train-reader --ship-to build/reader/candidate

# RUN: the training run's folder (its candidate/ is shipped, its log and records make the card), e.g.
# `make ship-reader RUN=build/reader-e5` for the run on the e5 base.
RUN ?= build/reader
ship-reader: install
	cp $(addprefix $(RUN)/candidate/,model.onnx tokenizer.json reader.json config.json tokenizer_config.json) qa/models/reader/
	rm -f qa/models/reader/model.int8.onnx
	if [ -f $(RUN)/candidate/model.int8.onnx ]; then cp $(RUN)/candidate/model.int8.onnx qa/models/reader/; fi
	$(BIN)/qa fit-combiner --out $(RUN)/combiner.json
	QA_READER_SENTENCE_WINDOWS=on $(BIN)/qa fit-combiner --out $(RUN)/combiner-sentence-windows.json
	$(BIN)/qa fit-leads --readers learned  # the rule reader's floor does not depend on the model

# The sentence scorer (a cross-encoder: does this sentence hold the answer?) whose score the combiner weighs,
# trained from the shipped span model's encoder on the same training articles (resumable: run it again). Its
# export goes to build/sentence-scorer/candidate; `make ship-sentence-scorer` puts it in the span model's folder
# and refits what depends on its scores: both combiners and the learned reader's lead floor.
train-sentence-scorer: install
	$(BIN)/qa train-sentence-scorer

ship-sentence-scorer: install
	rm -rf qa/models/reader/sentence-scorer
	mkdir -p qa/models/reader/sentence-scorer
	cp build/sentence-scorer/candidate/* qa/models/reader/sentence-scorer/
	$(BIN)/qa fit-combiner
	QA_READER_SENTENCE_WINDOWS=on $(BIN)/qa fit-combiner
	$(BIN)/qa fit-leads --readers learned

# Several replicas on this machine: PostgreSQL (build/cluster/postgres), two app processes and nginx on
# http://127.0.0.1:8080/, in the foreground; Ctrl-C (or `make cluster-stop` from another shell) stops it all.
# Needs Debian's postgresql and nginx-light (docs/operations.md, "Several replicas").
cluster: install
	$(BIN)/python -m deploy.cluster start

cluster-stop: install
	$(BIN)/python -m deploy.cluster stop

bench: install
	$(BIN)/python bench/benchmark.py

# 64 concurrent clients for 60 s (after 10 s of warm-up) against app.py on loopback, rate limit lifted: errors,
# 429s, answers/s, p50/p95 and the server's memory (warm -> end). tests/test_load.py runs the same for 10 s.
loadtest: install
	$(BIN)/python bench/benchmark.py --sections http --http-clients 64 --http-seconds 60 --http-warmup-seconds 10 \
		--out bench/loadtest.json

# Known vulnerabilities in the installed dependencies: pip-audit, in a venv of its own (its own dependencies are
# not audited), --strict so that a package it could not look up fails the run instead of passing unchecked.
# Not part of `make test`: from the project's machines the vulnerability data cannot be had (docs/operations.md,
# "Reliability and security"), and every run fails with "Dependency not found on PyPI".
audit: install
	$(PYTHON) -m venv .venv-audit
	.venv-audit/bin/python -m pip install --quiet pip-audit
	$(BIN)/python -m pip freeze --exclude-editable > .venv-audit/requirements.txt
	.venv-audit/bin/pip-audit --strict --no-deps --disable-pip --progress-spinner off -r .venv-audit/requirements.txt

clean:
	rm -rf .venv-audit $(VENV) index/v-* index/CURRENT index/corpora eval/reports build/cluster
