"""``qa fit-leads``: fit each reader's lead floor on held-apart training articles.

The held-apart groups of ``qa fit-combiner`` (a few articles indexed together, open book, near misses as the
unanswerable questions) are asked through the real pipeline with every lead shown (floor 0). For each reader,
the floor is the confidence that maximises *lead recall minus false leads* on the first groups (Youden's J:
a lead where the sentence holds the answer helps a visitor as much as a lead on an unanswerable question
misleads one); the other groups only report the figures. Nothing here reads an evaluation set.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

from qa.config import Settings
from qa.evaluation.runner import holds_answer
from qa.readers.leads import LEADS_FILE, FittedFloor, LeadFloors
from qa.training.combiner import add_group_arguments, held_apart_groups, styles_note
from qa.training.train import TrainingSettings

READERS = ("rules", "learned")
FLOOR_GRID = tuple(round(0.01 * i, 2) for i in range(0, 100))


@dataclass(frozen=True)
class LeadRow:
    """One question as a reader left it: whether it was answerable, answered, and its best candidate."""

    answerable: bool
    answered: bool
    confidence: float
    has_lead: bool  # not answered, and a candidate to show (at floor 0): no candidate, no lead at any floor
    lead_holds_answer: bool  # the candidate's sentence holds the gold answer (never, for an unanswerable one)


def lead_figures(rows: list[LeadRow], floor: float) -> dict:
    """Lead recall (answerable, not answered: a lead whose sentence holds the answer) and false leads
    (unanswerable: any lead), in %, at ``floor``."""
    missed = [r for r in rows if r.answerable and not r.answered]
    unanswerable = [r for r in rows if not r.answerable]
    recall = sum(r.has_lead and r.confidence >= floor and r.lead_holds_answer for r in missed) / max(1, len(missed))
    false = sum(r.has_lead and r.confidence >= floor for r in unanswerable) / max(1, len(unanswerable))
    return {"lead_recall": round(100 * recall, 2), "false_leads": round(100 * false, 2),
            "answerable_not_answered": len(missed), "unanswerable": len(unanswerable)}


def fit_floor(rows: list[LeadRow], threshold: float) -> float:
    """The floor under ``threshold`` with the best lead recall minus false leads (the highest such floor on a
    tie: fewer leads for the same balance)."""
    candidates = [f for f in FLOOR_GRID if f < threshold] or [0.0]
    return max(candidates, key=lambda f: (_balance(rows, f), f))


def _balance(rows: list[LeadRow], floor: float) -> float:
    figures = lead_figures(rows, floor)
    return figures["lead_recall"] - figures["false_leads"]


def ask_groups(groups, reader: str) -> tuple[list[list[LeadRow]], float]:
    """Each group's questions asked with ``reader`` and every lead shown; and the reader's threshold."""
    from qa.pipeline import QAPipeline

    rows, threshold = [], 1.0
    for group in groups:
        settings = dataclasses.replace(group.settings, reader=reader, lead_floor=0.0)
        pipeline = QAPipeline.open(settings, corpus=list(settings.corpus))
        threshold = pipeline.answer_threshold
        group_rows = []
        for example in group.examples:
            answer = pipeline.ask(example.question)
            lead = answer.lead.sentence if answer.lead is not None else None
            group_rows.append(LeadRow(
                answerable=example.answerable, answered=not answer.no_answer, confidence=float(answer.confidence),
                has_lead=lead is not None, lead_holds_answer=bool(example.answerable and lead and holds_answer(lead, [example.answer_text])),
            ))
        rows.append(group_rows)
    return rows, threshold


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="qa fit-leads", description=__doc__.split("\n")[0])
    add_group_arguments(parser, "the floors")
    parser.add_argument("--readers", default=",".join(READERS), help="the readers to fit, comma-separated")
    parser.add_argument("--work-dir", type=Path, default=Path("build/leads"))
    parser.add_argument("--out", type=Path, default=LEADS_FILE)
    args = parser.parse_args(argv)
    settings = TrainingSettings(data=args.data)
    groups = held_apart_groups(settings, args.work_dir / "held_apart", args.articles_per_group, args.groups,
                               args.questions_per_group, args.near_miss_share, Settings.load(), styles=args.group_styles)
    floors = dict(LeadFloors.load(args.out).floors)
    for reader in [r.strip() for r in args.readers.split(",") if r.strip()]:
        rows, threshold = ask_groups(groups, reader)
        fit = [r for g in rows[: args.fit_groups] for r in g]
        check = [r for g in rows[args.fit_groups :] for r in g]
        floor = fit_floor(fit, threshold)
        floors[reader] = FittedFloor(
            floor=floor,
            threshold=threshold,
            fitted_on=f"{len(fit)} questions of {args.fit_groups} groups of held-apart training articles"
                      f"{styles_note(args.group_styles)} (qa fit-leads)",
            figures={"fit": lead_figures(fit, floor), "check": lead_figures(check, floor),
                     "check_every_lead": lead_figures(check, 0.0)},
        )
        print(json.dumps({reader: dataclasses.asdict(floors[reader])}, indent=1))
    LeadFloors(floors).save(args.out)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
