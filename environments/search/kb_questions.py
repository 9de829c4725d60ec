"""Single-hop and 2–4-hop questions over a generated world, with gold answers and chains.

A multi-hop question walks functional relations from a named entity, then asks one fact
of the last entity; its supporting documents are the entities on the walk, in order::

    "In which country is the birthplace of the author of The Gilded Tower of Zisiam?"
    supporting = [work-0001, person-0077, city-0021]     answers = ["Vreibrumora"]
"""

from __future__ import annotations

import random
import zlib
from typing import Callable

from .kb_models import HopStep, Question
from .kb_world import RELATIONS, WORK_KINDS, Entity, World


def mention(e: Entity) -> str:
    """How an entity is named inside a question ("the Dripaex Orchestra", "Riva Tubaerberg")."""
    return f"the {e.name}" if e.kind in ("org", "event") else e.name


# relation -> phrasings of "the <target> of <np>"
_NP: dict[str, list[str]] = {
    "capital": ["the capital of {np}", "the capital city of {np}"],
    "country": ["the country where {np} lies", "the country that {np} belongs to"],
    "birth_city": ["the birthplace of {np}", "the city where {np} was born"],
    "employer": ["the employer of {np}", "the organisation that employed {np}"],
    "mentor": ["the mentor of {np}", "the person who mentored {np}"],
    "headquarters": ["the city where {np} is headquartered", "the home city of {np}"],
    "founder": ["the founder of {np}", "the person who founded {np}"],
    "creator": ["the {noun} of {np}", "the creator of {np}"],
    "publisher": ["the publisher of {np}", "the organisation that published {np}"],
    "host_city": ["the city that hosted {np}", "the host city of {np}"],
    "organiser": ["the organiser of {np}", "the organisation that organised {np}"],
}

# kind -> [(fact, question templates, attribute key or relation)]
Ask = tuple[str, list[str]]
_ASKS: dict[str, list[Ask]] = {
    "person": [("birth_year", ["In what year was {np} born?", "What is the birth year of {np}?"]),
               ("occupation", ["What is the occupation of {np}?", "What profession did {np} practise?"]),
               ("birth_city", ["In which city was {np} born?", "Where was {np} born?"]),
               ("employer", ["Which organisation did {np} work for?", "Who employed {np}?"]),
               ("mentor", ["Who mentored {np}?", "Who was the mentor of {np}?"])],
    "city": [("country", ["In which country is {np}?", "In which country does {np} lie?"]),
             ("founded", ["In what year was {np} founded?", "When was {np} founded?"]),
             ("river", ["Which river flows through {np}?", "On which river does {np} lie?"])],
    "country": [("capital", ["What is the capital of {np}?"]),
                ("currency", ["What is the currency of {np}?", "Which currency is used in {np}?"]),
                ("language", ["What is the official language of {np}?"])],
    "org": [("founder", ["Who founded {np}?", "Who was the founder of {np}?"]),
            ("headquarters", ["In which city is {np} headquartered?", "Where is {np} based?"]),
            ("founded", ["In what year was {np} founded?", "When was {np} established?"])],
    "work": [("creator", ["Who created {np}?", "Who is the {noun} of {np}?"]),
             ("year", ["In what year did {np} first appear?", "When was {np} completed?"]),
             ("publisher", ["Which organisation published {np}?", "Who published {np}?"])],
    "event": [("host_city", ["In which city was {np} held?", "Which city hosted {np}?"]),
              ("organiser", ["Which organisation organised {np}?", "Who organised {np}?"]),
              ("year", ["In what year was {np} held?", "When did {np} take place?"])],
}


def _noun(e: Entity) -> str:
    return WORK_KINDS[e.attrs["work_kind"]][2] if e.kind == "work" else "creator"


def _answer(world: World, e: Entity, fact: str) -> tuple[list[str], Entity | None]:
    if fact in RELATIONS:
        target = world.target(e, fact)
        return ([target.name] if target else []), target
    return [str(e.attrs[fact])], None


def _walk(world: World, start: Entity, hops: int, rng: random.Random) -> list[tuple[Entity, str | None]] | None:
    """``hops`` entities linked by relations: [(E0, r1), (E1, r2), ..., (E_last, None)]."""
    path: list[tuple[Entity, str | None]] = []
    current, seen = start, {start.id}
    for _ in range(hops - 1):
        options = [r for r in current.rel if world.entities[current.rel[r]].id not in seen]
        if not options:
            return None
        rel = rng.choice(options)
        path.append((current, rel))
        current = world.entities[current.rel[rel]]
        seen.add(current.id)
    path.append((current, None))
    return path


def _make(world: World, path: list[tuple[Entity, str | None]], rng: random.Random, qid: str) -> Question | None:
    last = path[-1][0]
    seen = {e.id for e, _ in path}
    asks = [(f, t) for f, t in _ASKS[last.kind] if f not in RELATIONS or (f in last.rel and last.rel[f] not in seen)]
    if not asks:
        return None
    fact, templates = rng.choice(asks)
    answers, _ = _answer(world, last, fact)
    if not answers:
        return None
    np = mention(path[0][0])
    for entity, rel in path[:-1]:
        np = rng.choice(_NP[rel]).format(np=np, noun=_noun(entity))
    text = rng.choice(templates).format(np=np, noun=_noun(last))
    text = text[0].upper() + text[1:]
    chain = [HopStep(entity=e.name, doc_id=e.id, relation=rel or fact) for e, rel in path]
    split = "test" if zlib.crc32(qid.encode()) % 5 == 0 else "train"
    return Question(id=qid, question=text, answers=answers, supporting=[e.id for e, _ in path], hops=len(path),
                    chain=chain, split=split, kind="single" if len(path) == 1 else "multi")


def generate_questions(world: World, *, single: int = 1500, multi: int = 1500, seed: int | None = None) -> list[Question]:
    """``single`` one-hop questions and ``multi`` questions spread evenly over 2, 3 and 4 hops."""
    rng = random.Random(f"questions:{world.seed if seed is None else seed}")
    entities = sorted(world.entities.values(), key=lambda e: e.id)
    out: list[Question] = []
    used: set[str] = set()

    def fill(count: int, hops_of: Callable[[int], int], prefix: str) -> None:
        made, attempts = 0, 0
        while made < count and attempts < count * 50:
            attempts += 1
            hops = hops_of(made)
            path = _walk(world, rng.choice(entities), hops, rng)
            if path is None:
                continue
            q = _make(world, path, rng, f"q-{prefix}-{made:05d}")
            if q is None or q.question in used:
                continue
            used.add(q.question)
            out.append(q)
            made += 1

    fill(single, lambda i: 1, "single")
    fill(multi, lambda i: 2 + i % 3, "multi")
    return out


__all__ = ["generate_questions", "mention"]
