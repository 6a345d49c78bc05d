"""The combiner: which of the learned reader's candidates to give, and the chance that it is right.

The learned reader proposes candidate spans (the span model's best, and the rule reader's); each gets the
features in :data:`FEATURES`. Two linear models over them:

* the **chooser** ranks a question's candidates (fitted as a softmax over each question's candidates, so that it
  learns which of them is right, not how likely a candidate is to be right in general);
* the **confidence** model, a logistic regression fitted on every candidate, gives the chance that the chosen
  one is right; it is given only when that chance reaches the combiner's threshold.

Weights, scaling and threshold are fitted by ``qa fit-combiner`` (:mod:`qa.training.combiner`) on held-apart
training articles, never on an evaluation set, and stored as JSON beside the model: one for each way of
reading (whole passages, or one window of the best sentences).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

from qa.errors import ModelError

COMBINER_FILE = "combiner.json"
# The combiner of the sentence-window reading (QA_READER_SENTENCE_WINDOWS): its candidates come from one packed
# window, not every passage, so their features fall otherwise and it is fitted apart.
SENTENCE_WINDOWS_COMBINER_FILE = "combiner-sentence-windows.json"


# The early exit of a combiner file written before it was fitted.
DEFAULT_EARLY_EXIT = 0.9


def combiner_file(sentence_windows: bool) -> str:
    """The file, in the model folder, of the combiner fitted for this way of reading."""
    return SENTENCE_WINDOWS_COMBINER_FILE if sentence_windows else COMBINER_FILE

FEATURES = (
    # The span model.
    "span_score",  # start logit + end logit
    "span_vs_best",  # span score minus the best candidate's (0 for the best)
    "span_vs_null",  # span score minus the "no answer" score of its window
    "best_vs_null",  # the best span's score minus the lowest "no answer" score (the same for every candidate)
    "span_tokens",  # log(1 + length in words)
    # Retrieval.
    "passage_rank",  # 1 / (1 + rank of the passage the span is in)
    # The span's sentence, as the rule reader sees it.
    "coverage",  # idf-weighted share of the question's terms
    "dense",  # cosine of sentence and question embeddings
    "rarest_term",  # the question's rarest term is there
    "name_missing",  # a proper name of the question is not
    "negation_missing",  # a negated question over a sentence without negation
    "antonym_present",  # the opposite of a question word, and not the word
    "modifier_missing",  # "Vice" asked, not there
    "type_fit",  # how well the span fits the question's answer type
    # The rule reader's own answer.
    "rule_agreement",  # token overlap (F1) of the span with the rule reader's answer
    "rule_confidence",  # the rule reader's confidence in its answer
    "from_rules",  # the candidate is the rule reader's answer
    # The sentence scorer (qa.readers.sentence_scorer), where the model folder has one; 0 without.
    "sentence_score",  # its logit for the candidate's sentence: does it hold the answer?
    "sentence_vs_best",  # that logit minus the best of the candidates' sentences' (0 for the best)
)
SENTENCE_FEATURES = ("sentence_score", "sentence_vs_best")


@dataclass(frozen=True)
class LinearModel:
    """A linear score over standardised features: bias + sum of weight * (value - mean) / scale."""

    weights: dict[str, float]
    bias: float
    means: dict[str, float]
    scales: dict[str, float]

    def logit(self, features: dict[str, float]) -> float:
        return self.bias + sum(
            self.weights[name] * (features.get(name, 0.0) - self.means[name]) / self.scales[name]
            for name in self.weights
        )


@dataclass(frozen=True)
class Combiner:
    chooser: LinearModel  # the highest score among a question's candidates is the answer
    confidence: LinearModel  # logistic: the chance that the chosen candidate is right
    threshold: float  # answer when the chosen candidate's probability reaches this
    fitted_on: str = ""  # what the weights and threshold were fitted on (never an evaluation set)
    # The reader reads the rest of the passages when its choice among the first ones' candidates is under this
    # (qa.readers.learned); fitted with the rest, for the first passages read then (reader_first_passages): the
    # lowest value that costs the fit groups at most half a point of F1 (qa.training.combiner).
    early_exit: float = DEFAULT_EARLY_EXIT

    def probability(self, features: dict[str, float]) -> float:
        z = self.confidence.logit(features)
        return 1.0 / (1.0 + math.exp(-z)) if z > -60 else 0.0

    def choose(self, candidates: list[dict[str, float]]) -> int | None:
        """The position of the chosen candidate (by their features), or None when there is none."""
        if not candidates:
            return None
        scores = [self.chooser.logit(features) for features in candidates]
        return max(range(len(scores)), key=scores.__getitem__)

    def uses(self, names: tuple[str, ...]) -> bool:
        """Whether the chooser or the confidence weighs any of these features."""
        return any(model.weights.get(name) for model in (self.chooser, self.confidence) for name in names)

    def save(self, path: Path) -> None:
        Path(path).write_text(json.dumps(asdict(self), indent=1) + "\n")

    @classmethod
    def load(cls, path: Path) -> "Combiner":
        try:
            data = json.loads(Path(path).read_text())
            combiner = cls(chooser=LinearModel(**data.pop("chooser")), confidence=LinearModel(**data.pop("confidence")),
                           **data)
        except (OSError, ValueError, TypeError, KeyError, AttributeError) as exc:
            raise ModelError(f"cannot load the combiner {path}: {exc!r}") from None
        unknown = (set(combiner.chooser.weights) | set(combiner.confidence.weights)) - set(FEATURES)
        if unknown:
            raise ModelError(f"the combiner {path} uses features this version does not compute: {sorted(unknown)}")
        return combiner
