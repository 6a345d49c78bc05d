"""Lead floors: below its answer threshold, how confident a reader must still be for its best candidate's
sentence to be shown as a place to look (an *unsure* outcome) rather than nothing at all.

One floor per reader, fitted by ``qa fit-leads`` (:mod:`qa.training.leads`) on held-apart training articles and
stored in ``qa/models/leads.json``; never on an evaluation set. The ``lead_floor`` setting overrides every
reader's floor (1 turns leads off). A reader without a fitted floor (a transformers checkpoint of the user's
own) shows no leads.

Chinese questions are read by the rule reader's scoring through the Chinese path's term matching, on a
scale whose threshold is ``chinese_answer_threshold``; no training data of Chinese questions over English pages
exists to fit a floor on, so theirs is the rules' floor moved to that scale: the same share of the threshold.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from qa.errors import ModelError

LEADS_FILE = Path(__file__).resolve().parent.parent / "models" / "leads.json"
NO_LEADS = 1.0  # a floor no confidence reaches below the threshold: no lead is ever shown
CHINESE_FLOOR_FROM = "rules"


@dataclass(frozen=True)
class FittedFloor:
    floor: float
    threshold: float  # the reader's answer threshold when the floor was fitted
    fitted_on: str
    figures: dict = field(default_factory=dict)


@dataclass(frozen=True)
class LeadFloors:
    """The fitted floor of each reader ("rules", "learned")."""

    floors: dict[str, FittedFloor]

    @classmethod
    def load(cls, path: Path = LEADS_FILE) -> "LeadFloors":
        """The fitted floors; none (every reader without leads) when the file is missing."""
        if not Path(path).is_file():
            return cls({})
        try:
            data = json.loads(Path(path).read_text())
            return cls({name: FittedFloor(**entry) for name, entry in data.items()})
        except (ValueError, TypeError) as exc:
            raise ModelError(f"cannot read the lead floors in {path}: {exc}") from None

    def save(self, path: Path = LEADS_FILE) -> None:
        Path(path).write_text(json.dumps({n: asdict(f) for n, f in sorted(self.floors.items())}, indent=1) + "\n")

    def floor(self, reader: str, override: float | None = None) -> float:
        """The floor for ``reader`` ("rules", "learned", or a checkpoint path), or ``override``."""
        if override is not None:
            return override
        fitted = self.floors.get(reader)
        return fitted.floor if fitted is not None else NO_LEADS

    def chinese_floor(self, chinese_threshold: float, override: float | None = None) -> float:
        """The floor for Chinese questions: the rules' floor as the same share of the Chinese threshold."""
        if override is not None:
            return override
        fitted = self.floors.get(CHINESE_FLOOR_FROM)
        if fitted is None or fitted.threshold <= 0:
            return NO_LEADS
        return round(fitted.floor / fitted.threshold * chinese_threshold, 4)
