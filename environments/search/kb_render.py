"""Renders world entities as encyclopedic articles in varied prose.

Each fact has several phrasings; the lead sentence comes first, the other facts in a
seeded order, with pronouns, back-links (people born in a city, works of a person) and
neutral filler so documents read differently::

    docs = render_documents(build_world(seed=0))     # list[Document], one per entity
"""

from __future__ import annotations

import random
import re
from typing import Callable

from .kb_models import Document
from .kb_world import WORK_KINDS, Entity, World

_FILLER = {
    "city": ["Its old quarter is known for {adj} arcades and a covered market.",
             "The city holds a lantern procession every {season}.",
             "Several bridges cross the river in the historic centre.",
             "Local cuisine favours smoked fish and {adj} breads.",
             "A tramway has linked its districts since the early twentieth century.",
             "The surrounding countryside is given over to orchards and {adj} vineyards.",
             "Its municipal library houses a collection of old maps."],
    "country": ["The country is divided into {n} provinces.", "Its coastline is marked by {adj} cliffs and long bays.",
                "Agriculture and fishing remain important to its economy.", "Its flag shows a {adj} field with a star.",
                "The interior is mountainous and sparsely populated.", "Its parliament meets in a {adj} hall."],
    "person": ["{Pron} corresponded widely with colleagues abroad.", "{Pron} spent several years travelling in the south.",
               "Contemporaries described {obj} as {trait} and exacting.", "{Poss} letters were collected and published posthumously.",
               "{Pron} was known for a {trait} working style.", "{Pron} received several honours late in life."],
    "org": ["Its archives are open to researchers by appointment.", "The organisation has been reorganised several times.",
            "Its emblem is a {adj} compass rose.", "It publishes an annual report in the {season}.",
            "It maintains a small museum of its own history.", "Its early years were marked by {mood} finances."],
    "work": ["Critics have praised its {adj} structure.", "It was revised in a second edition years later.",
             "The work is frequently studied in schools.", "Its reception was initially {mood} but improved over time.",
             "Several translations have appeared since.", "It has inspired a number of later adaptations."],
    "event": ["Attendance grew steadily over its history.", "Contemporary newspapers covered it at length.",
              "Its proceedings were recorded in detail.", "It was briefly suspended during a period of unrest.",
              "A commemorative plaque marks the site.", "Delegates arrived from many neighbouring countries."],
}
_ADJ = ["ornate", "austere", "lively", "weathered", "celebrated", "modest", "striking", "painted", "mixed", "careful"]
_CATEGORY = {"company": "company", "university": "university", "cultural": "cultural institution",
             "science": "scientific society", "media": "news organisation"}
_TRAITS = ["patient", "restless", "generous", "meticulous", "quiet", "ambitious"]
_MOODS = ["cool", "mixed", "hostile", "uncertain", "lukewarm"]
_SEASONS = ["spring", "summer", "autumn", "winter"]


def _articles(text: str) -> str:
    return re.sub(r"\b([Aa]) ([aeiou])", r"\1n \2", text)


class _Writer:
    def __init__(self, world: World, entity: Entity, rng: random.Random):
        self.world, self.e, self.rng = world, entity, rng

    def name(self, rel: str) -> str:
        target = self.world.target(self.e, rel)
        return target.name if target else ""

    def pick(self, *options: str) -> str:
        return self.rng.choice(options)

    def fillers(self, n: int) -> list[str]:
        return [self._fill(t) for t in self.rng.sample(_FILLER[self.e.kind], n)]

    def _fill(self, text: str) -> str:
        pron = self.e.attrs.get("pronoun", "they")
        return _articles(text.format(adj=self.rng.choice(_ADJ), trait=self.rng.choice(_TRAITS), mood=self.rng.choice(_MOODS), season=self.rng.choice(_SEASONS), n=self.rng.randint(4, 19),
                           Pron=pron.capitalize(), obj={"she": "her", "he": "him"}.get(pron, "them"),
                           Poss={"she": "Her", "he": "His"}.get(pron, "Their")))


def _country(w: _Writer, backlinks: dict) -> tuple[str, list[str]]:
    e, a = w.e, w.e.attrs
    lead = w.pick(f"{e.name} is a country whose capital is {w.name('capital')}.",
                  f"{e.name} is a sovereign state; its capital and largest city is {w.name('capital')}.")
    facts = [w.pick(f"The currency of {e.name} is the {a['currency']}.", f"{e.name} uses the {a['currency']} as its currency."),
             w.pick(f"The official language is {a['language']}.", f"Most of its people speak {a['language']}, the official language."),
             w.pick(f"{e.name} was founded as a state in {a['founded']}.", f"Its statehood dates to {a['founded']}.")]
    cities = [c for c in backlinks.get(("country", e.id), []) if c != e.rel["capital"]][:4]
    if cities:
        facts.append("Other cities include " + ", ".join(w.world.entities[c].name for c in cities) + ".")
    return lead, facts


def _city(w: _Writer, backlinks: dict) -> tuple[str, list[str]]:
    e, a = w.e, w.e.attrs
    country = w.name("country")
    lead = w.pick(f"{e.name} is a city in {country}.", f"{e.name} is a city located in {country}.",
                  f"{e.name} is one of the cities of {country}.")
    facts = [w.pick(f"It was founded in {a['founded']}.", f"{e.name} was founded in {a['founded']}.",
                    f"The settlement dates from {a['founded']}, the year of its founding."),
             w.pick(f"It has a population of about {a['population']:,}.", f"Roughly {a['population']:,} people live there."),
             w.pick(f"The {a['river']} flows through {e.name}.", f"{e.name} lies on the banks of the {a['river']}.")]
    born = backlinks.get(("birth_city", e.id), [])[:3]
    if born:
        facts.append(f"Notable people born in {e.name} include " + ", ".join(w.world.entities[p].name for p in born) + ".")
    return lead, facts


def _person(w: _Writer, backlinks: dict) -> tuple[str, list[str]]:
    e, a = w.e, w.e.attrs
    pron = a["pronoun"].capitalize()
    surname = e.name.split()[-1]
    occ = a["occupation"]
    article = "an" if occ[0] in "aeiou" else "a"
    lead = w.pick(f"{e.name} (born {a['birth_year']}) is {article} {occ}.",
                  f"{e.name} is {article} {occ}, born in {a['birth_year']}.")
    facts = [w.pick(f"{e.name} was born in {w.name('birth_city')}.", f"{pron} was born in the city of {w.name('birth_city')}.",
                    f"{surname} grew up in {w.name('birth_city')}, where {a['pronoun']} was born.")]
    if "employer" in e.rel:
        facts.append(w.pick(f"{pron} worked for the {w.name('employer')}.", f"{surname} was employed by the {w.name('employer')}.",
                            f"For most of {'her' if a['pronoun'] == 'she' else 'his'} career {surname} worked at the {w.name('employer')}."))
    if "mentor" in e.rel:
        facts.append(w.pick(f"{pron} was mentored by {w.name('mentor')}.", f"{surname} trained under {w.name('mentor')}.",
                            f"{w.name('mentor')} was {surname}'s mentor."))
    works = backlinks.get(("creator", e.id), [])[:3]
    if works:
        facts.append(f"{surname}'s works include " + ", ".join(w.world.entities[x].name for x in works) + ".")
    founded = backlinks.get(("founder", e.id), [])[:2]
    if founded:
        facts.append(f"{pron} founded the " + " and the ".join(w.world.entities[x].name for x in founded) + ".")
    return lead, facts


def _org(w: _Writer, backlinks: dict) -> tuple[str, list[str]]:
    e, a = w.e, w.e.attrs
    lead = w.pick(f"The {e.name} is an organisation active in {a['field']}.",
                  f"The {e.name} is a {_CATEGORY[a['category']]} working in {a['field']}.")
    facts = [w.pick(f"It was founded in {a['founded']} by {w.name('founder')}.",
                    f"{w.name('founder')} founded the {e.name} in {a['founded']}.",
                    f"The {e.name} was established in {a['founded']}; its founder was {w.name('founder')}."),
             w.pick(f"It is headquartered in {w.name('headquarters')}.", f"Its headquarters are in {w.name('headquarters')}.",
                    f"The {e.name} is based in the city of {w.name('headquarters')}.")]
    return lead, facts


def _work(w: _Writer, backlinks: dict) -> tuple[str, list[str]]:
    e, a = w.e, w.e.attrs
    kind = a["work_kind"]
    verb, noun = WORK_KINDS[kind][1], WORK_KINDS[kind][2]
    creator = w.name("creator")
    lead = w.pick(f"{e.name} is a {a['genre']} {kind} by {creator}.", f"{e.name} is a {kind} ({a['genre']}) {verb} by {creator}.")
    facts = [w.pick(f"{creator} {verb} it in {a['year']}.", f"It was completed in {a['year']}.",
                    f"{e.name} first appeared in {a['year']}."),
             w.pick(f"Its {noun}, {creator}, is credited as its creator.", f"The {noun} of {e.name} is {creator}.")]
    if "publisher" in e.rel:
        facts.append(w.pick(f"It was published by the {w.name('publisher')}.",
                            f"The {w.name('publisher')} published {e.name}.",
                            f"Its publisher was the {w.name('publisher')}."))
    return lead, facts


def _event(w: _Writer, backlinks: dict) -> tuple[str, list[str]]:
    e, a = w.e, w.e.attrs
    lead = w.pick(f"The {e.name} was held in {w.name('host_city')} in {a['year']}.",
                  f"The {e.name} took place in {a['year']} in the city of {w.name('host_city')}.")
    facts = [w.pick(f"It was organised by the {w.name('organiser')}.", f"The {w.name('organiser')} organised the {e.name}.",
                    f"Its organiser was the {w.name('organiser')}.")]
    return lead, facts


_RENDERERS: dict[str, Callable[[_Writer, dict], tuple[str, list[str]]]] = {
    "country": _country, "city": _city, "person": _person, "org": _org, "work": _work, "event": _event,
}


def render_documents(world: World) -> list[Document]:
    """One :class:`Document` per entity (id = entity id, title = entity name)."""
    backlinks: dict[tuple[str, str], list[str]] = {}
    for e in world.entities.values():
        for rel, target in e.rel.items():
            backlinks.setdefault((rel, target), []).append(e.id)
    docs = []
    for e in world.entities.values():
        rng = random.Random(f"{world.seed}:{e.id}")
        w = _Writer(world, e, rng)
        lead, facts = _RENDERERS[e.kind](w, backlinks)
        rng.shuffle(facts)
        facts += w.fillers(rng.randint(2, 3))
        cut = rng.randint(1, max(1, len(facts) - 1))
        text = _articles(" ".join([lead] + facts[:cut]) + "\n\n" + " ".join(facts[cut:]))
        docs.append(Document(id=e.id, title=e.name, text=text.strip(), kind=e.kind))
    return docs


__all__ = ["render_documents"]
