"""Made examples of a news report's roster: people listed with their titles and bodies.

Reports of meetings, the portal's kind of page, name who spoke or attended as one long appositive list:
"A, Vice Mayor of the X Government, B, President of the Y Institute and C, Director of the Z Bureau,
delivered speeches." The training data (Wikipedia, Reddit, Amazon reviews) has few such lists, and a span model
trained on it answers "Who is the Director of the Z Bureau?" with the list's first name. This module writes
short report paragraphs around such lists, from generic pools of names, titles and bodies (no word taken from
any corpus or evaluation set), and asks what a reader asks of them: who holds a title, a person's title, whose
body it is, who spoke, when and where. A share are near misses the list does not answer: a title of another
body, a title with a modifier it lacks ("Vice"), a title without the modifier it has (the list gives a "Vice
President", the question asks who the President is), a person it does not name.

Everything is fixed by the seed, so a resumed run sees the same examples.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from qa.training.data import Example

ROSTER = "roster"  # an answerable roster question
ROSTER_MISMATCH = "roster_mismatch"  # a near miss over a roster: the list does not answer it
NEAR_MISS_SHARE = 0.3
ANSWERABLE_PER_PARAGRAPH = 4  # few questions per paragraph: many different lists, not one list learnt by heart

_SURNAMES = ("Chen Li Wang Zhang Liu Yang Zhao Sun Hu Gao Lin Luo Zheng Liang Xie Song Tang Han Feng Deng Cao "
             "Peng Zeng Xiao Tian Dong Pan Yuan Cai Jiang Yu Lu Wei Xu Ye Fang Shi Qian Yan Kong Meng Qin").split()
_GIVEN = ("wei fang na min jing li qiang lei jun yang yong yan jie tao ming chao xia hua ping gang hong hui bo "
          "xin lin yu kai peng ning bin hao rui chen qing feng tian xiang yi zhi").split()
_FIRST = ("Anna Ben Carla David Elena Frank Grace Henry Irene James Karen Louis Maria Nathan Olivia Paul Rosa "
          "Samuel Teresa Victor Helen Omar Priya Kenji Aisha Lars Sofia").split()
_LAST = ("Adams Baker Clarke Dubois Evans Fischer Garcia Hansen Ito Jensen Kowalski Lopez Moreau Novak Okafor "
         "Patel Quinn Rossi Schmidt Tanaka Usman Varga Weber Young").split()
_TITLES = ("Director", "Director-General", "President", "Chairman", "Secretary-General", "Mayor", "Dean",
           "Chief Engineer", "Chief Economist", "Party Secretary", "Governor", "Minister", "Commissioner",
           "Executive Director", "General Manager", "Chief Executive", "Head", "Secretary")
_MODIFIERS = ("Vice", "Deputy", "Assistant")
_HEAD_TITLES = frozenset({"Director", "Director-General", "President", "Chairman", "Mayor", "Governor",
                          "Minister", "Head", "Chief Executive"})
_FIELDS = ("Transport", "Health", "Energy", "Science and Technology", "Commerce", "Education", "Agriculture",
           "Environmental Protection", "Water Resources", "Finance", "Culture and Tourism", "Statistics",
           "Housing and Urban Development", "Industry and Information Technology", "Natural Resources",
           "Civil Affairs", "Human Resources", "Emergency Management", "Market Regulation", "Digital Economy")
_BODIES = ("Commission", "Bureau", "Administration", "Department", "Agency", "Council", "Office", "Authority")
_INSTITUTIONS = ("University", "Institute of Technology", "Academy of Sciences", "Research Institute",
                 "Development Bank", "Industry Association", "Innovation Center", "Data Exchange")
_PLACES = ("Hangzhou", "Wuhan", "Chengdu", "Nanjing", "Xiamen", "Qingdao", "Tianjin", "Suzhou", "Harbin", "Kunming",
           "Lyon", "Porto", "Leipzig", "Gdansk", "Osaka", "Busan", "Pune", "Nairobi", "Lagos", "Quito", "Perth",
           "Calgary", "Tampere", "Graz", "Bilbao", "Nagoya", "Dalian", "Ningbo", "Hefei", "Fuzhou")
_EVENTS = ("Forum on Smart City Governance", "Conference on Open Government Data", "Summit on Green Finance",
           "Symposium on Industrial Internet", "Workshop on Public Health Data", "Forum on Digital Trade",
           "Conference on Urban Mobility", "Seminar on Data Security", "Expo of Intelligent Manufacturing")
_EVENT_NOUNS = ("forum", "conference", "meeting", "symposium", "event")
_MONTHS = ("January February March April May June July August September October November December").split()
_SPOKE = ("delivered speeches", "attended the {noun} and delivered speeches", "addressed the {noun}",
          "attended the opening ceremony", "spoke at the {noun}")
_REPORTED = ("made special reports", "gave keynote speeches", "shared their research")


@dataclass(frozen=True)
class _Member:
    name: str
    title: str
    body: str  # "" when the title stands alone ("District Mayor")


class _Writer:
    """A paragraph written piece by piece, keeping where each named piece starts."""

    def __init__(self) -> None:
        self.text = ""
        self.where: dict[str, tuple[int, str]] = {}

    def add(self, piece: str, key: str = "") -> None:
        if key:
            self.where[key] = (len(self.text), piece)
        self.text += piece


def _name(rng: random.Random) -> str:
    if rng.random() < 0.7:
        given = rng.choice(_GIVEN) + (rng.choice(_GIVEN) if rng.random() < 0.6 else "")
        return f"{rng.choice(_SURNAMES)} {given.capitalize()}"
    return f"{rng.choice(_FIRST)} {rng.choice(_LAST)}"


def _body(rng: random.Random) -> str:
    place = rng.choice(_PLACES)
    form = rng.randrange(4)
    if form == 0:
        return f"the {rng.choice(_FIELDS)} {rng.choice(_BODIES)} of {place}"
    if form == 1:
        return f"{place} Municipal {rng.choice(_FIELDS)} {rng.choice(_BODIES)}"
    if form == 2:
        return f"{place} {rng.choice(_INSTITUTIONS)}"
    return f"the {place} {rng.choice(_FIELDS)} {rng.choice(_INSTITUTIONS)}"


def _title(rng: random.Random) -> str:
    title = rng.choice(_TITLES)
    return f"{rng.choice(_MODIFIERS)} {title}" if rng.random() < 0.35 else title


def _roster(rng: random.Random) -> list[_Member]:
    """2 to 5 listed people and, last, the one who presided: no two share a name or a title of one body."""
    members, names, pairs = [], set(), set()
    size = rng.randint(2, 5) + 1
    while len(members) < size:
        name, title = _name(rng), _title(rng)
        body = "" if rng.random() < 0.15 and len(members) < size - 1 else _body(rng)
        if name in names or (title, body) in pairs:
            continue
        names.add(name)
        pairs.add((title, body))
        members.append(_Member(name, title, body))
    return members


def _write(rng: random.Random, members: list[_Member], presider: _Member, experts: list[str],
           event: str, noun: str, date: str, place: str) -> _Writer:
    w = _Writer()
    w.add(f"On {date}, " if rng.random() < 0.5 else "")
    w.add(f"the {event}")
    w.add(" was held in ")
    w.add(place, "place")
    if not w.text.startswith("On "):
        w.add(" on ")
        w.add(date, "date")
    else:
        w.where["date"] = (3, date)
    w.add(". ")
    w.text = w.text[0].upper() + w.text[1:]
    start = len(w.text)
    oxford = rng.random() < 0.3
    for i, member in enumerate(members):
        if i:
            w.add(", and " if oxford and i == len(members) - 1 else " and " if i == len(members) - 1 else ", ")
        w.add(member.name, f"name:{i}")
        w.add(", ")
        title = f"{member.title} of {member.body}" if member.body else member.title
        w.add(title, f"title:{i}")
        if member.body:
            w.where[f"body:{i}"] = (len(w.text) - len(member.body), member.body)
    w.where["list"] = (start, w.text[start:])
    w.add(", " + rng.choice(_SPOKE).format(noun=noun) + ". ")
    w.add(f"The {noun} was presided over by ")
    w.add(presider.name, "presider")
    w.add(f", {presider.title} of {presider.body}. ")
    w.add("Experts from ")
    start = len(w.text)
    w.add(", ".join(experts[:-1]) + " and " + experts[-1])
    w.where["experts"] = (start, w.text[start:])
    w.add(f" {rng.choice(_REPORTED)}.")
    return w


def _question_pool(rng: random.Random, members: list[_Member], presider: _Member, noun: str, event: str
                   ) -> list[tuple[str, str, str]]:
    """(question, answer key or "", kind) for the paragraph: answerable ones and near misses."""
    everyone = [*members, presider]

    def held(title: str, body: str) -> bool:
        return any(o.title == title and o.body == body for o in everyone)

    pool: list[tuple[str, str, str]] = []
    for i, m in enumerate(members):
        role = f"{m.title} of {m.body}" if m.body else m.title
        bare = m.body.removeprefix("the ")
        pool.append((rng.choice((f"Who is the {role}?", f"Who is {role}?", f"{role}?", f"who is the {role.lower()}",
                                 f"Who serves as {role}?")), f"name:{i}", ROSTER))
        if m.body and m.title in _HEAD_TITLES:
            pool.append((rng.choice((f"Who heads {m.body}?", f"Who leads {m.body}?", f"head of {bare}")),
                         f"name:{i}", ROSTER))
        pool.append((rng.choice((f"What is {m.name}'s position?", f"What is {m.name}'s title?",
                                 f"What position does {m.name} hold?", f"Who is {m.name}?",
                                 f"{m.name.lower()} title", f"{m.name} role")), f"title:{i}", ROSTER))
        if m.body:
            pool.append((rng.choice((f"Which organisation is {m.name} the {m.title} of?",
                                     f"Where does {m.name} work?", f"{m.name} is {m.title} of which body?")),
                         f"body:{i}", ROSTER))
            others = [o.body for o in everyone if o.body and o.body != m.body and not held(m.title, o.body)]
            if others:  # this title, another named body
                pool.append((f"Who is the {m.title} of {rng.choice(others)}?", "", ROSTER_MISMATCH))
            modified = [f"{mod} {m.title}" for mod in _MODIFIERS]
            if m.title.split()[0] not in _MODIFIERS and not any(held(t, m.body) for t in modified):
                pool.append((f"Who is the {rng.choice(modified)} of {m.body}?", "", ROSTER_MISMATCH))
            modifier, _, bare_title = m.title.partition(" ")
            if modifier in _MODIFIERS and not held(bare_title, m.body):  # "Vice President" listed, "President" asked
                pool.append((rng.choice((f"Who is the {bare_title} of {m.body}?", f"{bare_title} of {bare}?",
                                         f"who is {bare_title.lower()} of {m.body}")), "", ROSTER_MISMATCH))
    pool.append((rng.choice((f"What is {_name(rng)}'s position?", f"Who is {_name(rng)}?")), "", ROSTER_MISMATCH))
    pool.append((rng.choice(("Who delivered speeches?", f"Which officials attended the {noun}?",
                             f"who spoke at the {noun}")), "list", ROSTER))
    pool.append((rng.choice((f"Who presided over the {noun}?", f"who chaired the {noun}")), "presider", ROSTER))
    pool.append((rng.choice(("Experts from which organisations made reports?", "which institutions sent experts")),
                 "experts", ROSTER))
    pool.append((rng.choice((f"When was the {event} held?", f"{noun} date", f"when was the {noun}")),
                 "date", ROSTER))
    pool.append((rng.choice((f"Where was the {event} held?", f"Which city hosted the {noun}?",
                             f"{noun} location")), "place", ROSTER))
    return pool


def roster_examples(count: int, seed: int) -> list[Example]:
    """``count`` roster questions (about ``NEAR_MISS_SHARE`` of them near misses), a few per paragraph."""
    rng = random.Random(f"roster:{seed}")
    examples: list[Example] = []
    paragraph = 0
    while len(examples) < count:
        *members, presider = _roster(rng)
        # dict, not set: a set's order of strings changes with each process's hash seed, and so would the stream
        experts = list(dict.fromkeys(_body(rng).removeprefix("the ") for _ in range(rng.randint(2, 4))))
        noun = rng.choice(_EVENT_NOUNS)
        event = rng.choice(_EVENTS)
        date = f"{rng.choice(_MONTHS)} {rng.randint(1, 28)}, {rng.randint(2015, 2025)}"
        w = _write(rng, members, presider, experts, event, noun, date, rng.choice(_PLACES))
        pool = _question_pool(rng, members, presider, noun, event)
        answerable = [q for q in pool if q[2] == ROSTER]
        misses = [q for q in pool if q[2] == ROSTER_MISMATCH]
        chosen = rng.sample(answerable, min(len(answerable), ANSWERABLE_PER_PARAGRAPH))
        # near misses beside the answerable ones: NEAR_MISS_SHARE of the questions on average
        wanted = NEAR_MISS_SHARE * len(chosen) / (1 - NEAR_MISS_SHARE)
        chosen += rng.sample(misses, min(len(misses), int(wanted) + (rng.random() < wanted % 1)))
        for n, (question, key, kind) in enumerate(chosen):
            start, text = w.where[key] if key else (-1, "")
            examples.append(Example(f"roster-{seed}-{paragraph}-{n}", question, w.text, text, start, kind,
                                    f"roster-{seed}-{paragraph}"))
        paragraph += 1
    return examples[:count]
