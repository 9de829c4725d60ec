"""A fictional world drawn from a seed: countries, cities, people, organisations, works, events.

Every name is built from syllables, so no fact here exists in any pretraining corpus; every
relation is functional (one birthplace, one founder, ...), so questions have one answer::

    world = build_world(seed=0)
    person = world.entities["person-0007"]
    world.entities[person.rel["birth_city"]].name      # the city the person was born in
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

# relation name -> (source kind, target kind)
RELATIONS: dict[str, tuple[str, str]] = {
    "capital": ("country", "city"),
    "country": ("city", "country"),
    "birth_city": ("person", "city"),
    "employer": ("person", "org"),
    "mentor": ("person", "person"),
    "headquarters": ("org", "city"),
    "founder": ("org", "person"),
    "creator": ("work", "person"),
    "publisher": ("work", "org"),
    "host_city": ("event", "city"),
    "organiser": ("event", "org"),
}

DEFAULT_COUNTS = {"country": 40, "city": 420, "person": 2200, "org": 700, "work": 1500, "event": 400}

_ONSETS = ["b", "br", "c", "d", "dr", "f", "g", "gr", "h", "k", "kr", "l", "m", "n", "p", "qu", "r", "s", "sk",
           "st", "t", "th", "tr", "v", "vr", "w", "z", "y", "j", "sh"]
_VOWELS = ["a", "e", "i", "o", "u", "ae", "ei", "ou", "y", "ia", "io"]
_CODAS = ["", "", "", "n", "r", "l", "s", "th", "m", "nd", "rk", "x", "v", "sh", "lt"]
_PLACE_SUFFIXES = ["mere", "ford", "holm", "vale", "wick", "dor", "gard", "ora", "ennis", "usk", "avel", "oth",
                   "barrow", "stead", "maar", "ith"]
_SURNAME_SUFFIXES = ["", "", "son", "ard", "ell", "ova", "ent", "ais", "holt", "berg", "ley", "wyn", "ani", "ez"]
_COUNTRY_SUFFIXES = ["ia", "and", "ar", "esh", "ovia", "istan", "ene", "ora"]

OCCUPATIONS = ["cartographer", "composer", "novelist", "astronomer", "architect", "botanist", "engineer",
               "painter", "physician", "historian", "mathematician", "sculptor", "diplomat", "chemist",
               "film director", "poet", "merchant", "linguist", "geologist", "photographer"]
ORG_TYPES = [  # (name suffix, category, field)
    ("Trading Company", "company", "trade"), ("Shipping Company", "company", "shipbuilding"),
    ("Foundry", "company", "metalworking"), ("Mills", "company", "textiles"), ("Press", "company", "printing"),
    ("Instruments", "company", "clockmaking"), ("University", "university", "higher education"),
    ("Institute of Technology", "university", "engineering education"), ("College", "university", "the liberal arts"),
    ("Orchestra", "cultural", "classical music"), ("Theatre Company", "cultural", "theatre"),
    ("Academy of Arts", "cultural", "the visual arts"), ("Film Studio", "cultural", "film production"),
    ("Observatory", "science", "astronomy"), ("Botanical Society", "science", "botany"),
    ("Geographic Society", "science", "surveying"), ("Laboratory", "science", "chemistry"),
    ("Gazette", "media", "journalism"), ("Herald", "media", "journalism"),
    ("Broadcasting Corporation", "media", "broadcasting"),
]
WORK_KINDS = {  # kind -> (creator occupations, verb, creator noun, genres)
    "novel": (["novelist", "poet", "historian"], "wrote", "author", ["historical fiction", "mystery", "satire", "romance"]),
    "film": (["film director", "photographer"], "directed", "director", ["drama", "documentary", "comedy", "thriller"]),
    "symphony": (["composer"], "composed", "composer", ["romantic", "minimalist", "choral", "programmatic"]),
    "painting": (["painter", "sculptor", "photographer"], "painted", "painter", ["landscape", "portrait", "still life", "allegory"]),
    "treatise": (["astronomer", "botanist", "mathematician", "chemist", "geologist", "linguist", "historian", "physician"],
                 "wrote", "author", ["natural philosophy", "mathematics", "medicine", "linguistics"]),
}
EVENT_KINDS = ["Festival", "Treaty", "Expedition", "Exhibition", "Championship", "Summit", "Regatta", "Congress"]
TITLE_NOUNS = ["Tapestry", "Lantern", "Harbor", "Orchard", "Meridian", "Chronicle", "Garden", "Bridge", "Mirror",
               "Voyage", "Winter", "Archive", "Compass", "River", "Tower", "Song", "Atlas", "Ember", "Tide", "Crown"]
TITLE_ADJS = ["Silent", "Crimson", "Hollow", "Distant", "Gilded", "Last", "Northern", "Quiet", "Burning", "Glass",
              "Wandering", "Second", "Forgotten", "Amber", "Iron"]
CURRENCY_WORDS = ["crown", "mark", "florin", "thaler", "dinar", "shell", "lira", "ducat"]
RIVER_WORDS = ["River", "Water", "Stream"]


@dataclass
class Entity:
    """One thing in the world. ``rel`` maps relation → target entity id, ``attrs`` holds values."""

    id: str
    kind: str
    name: str
    attrs: dict[str, Any] = field(default_factory=dict)
    rel: dict[str, str] = field(default_factory=dict)


@dataclass
class World:
    seed: int
    entities: dict[str, Entity]

    def of_kind(self, kind: str) -> list[Entity]:
        return [e for e in self.entities.values() if e.kind == kind]

    def target(self, entity: Entity, relation: str) -> Entity | None:
        tid = entity.rel.get(relation)
        return self.entities[tid] if tid else None


class _Names:
    """Unique syllable-built words (a word is never reused across the world)."""

    def __init__(self, rng: random.Random):
        self.rng, self.used = rng, set()

    def word(self, syllables: tuple[int, int] = (2, 3), suffixes: list[str] | None = None) -> str:
        for _ in range(1000):
            n = self.rng.randint(*syllables)
            w = "".join(self.rng.choice(_ONSETS) + self.rng.choice(_VOWELS) for _ in range(n))
            w += self.rng.choice(_CODAS)
            if suffixes:
                w += self.rng.choice(suffixes)
            w = w.capitalize()
            if 4 <= len(w) <= 14 and w.lower() not in self.used:
                self.used.add(w.lower())
                return w
        raise RuntimeError("name space exhausted; lower the entity counts")


def build_world(seed: int = 0, counts: dict[str, int] | None = None) -> World:
    """Draws a world; the same seed and counts always give the same world."""
    counts = {**DEFAULT_COUNTS, **(counts or {})}
    rng = random.Random(seed)
    names = _Names(rng)
    ents: dict[str, Entity] = {}

    def add(kind: str, i: int, name: str, **attrs: Any) -> Entity:
        e = Entity(id=f"{kind}-{i:04d}", kind=kind, name=name, attrs=attrs)
        ents[e.id] = e
        return e

    countries = [add("country", i, names.word((1, 2), _COUNTRY_SUFFIXES), founded=rng.randint(900, 1850),
                     currency=f"{names.word((1, 2))} {rng.choice(CURRENCY_WORDS)}", language=names.word((1, 2), ["ish", "ic", "ese", "i"]))
                 for i in range(counts["country"])]
    cities = [add("city", i, names.word((1, 2), _PLACE_SUFFIXES), founded=rng.randint(600, 1900),
                  population=rng.randint(8, 2400) * 1000, river=f"{names.word((1, 2))} {rng.choice(RIVER_WORDS)}")
              for i in range(counts["city"])]
    for i, city in enumerate(cities):
        city.rel["country"] = countries[i % len(countries)].id if i < len(countries) else rng.choice(countries).id
    for i, country in enumerate(countries):
        country.rel["capital"] = cities[i].id  # city i belongs to country i
    first_names = [names.word((1, 2), ["", "a", "o", "en", "is"]) for _ in range(max(50, counts["person"] // 5))]
    last_names = [names.word((2, 3), _SURNAME_SUFFIXES) for _ in range(max(100, counts["person"] // 2))]
    full: set[str] = set()
    people: list[Entity] = []
    for i in range(counts["person"]):
        while True:
            name = f"{rng.choice(first_names)} {rng.choice(last_names)}"
            if name not in full:
                full.add(name)
                break
        p = add("person", i, name, birth_year=rng.randint(1700, 1990), occupation=rng.choice(OCCUPATIONS),
                pronoun=rng.choice(["she", "he"]))
        p.rel["birth_city"] = rng.choice(cities).id
        people.append(p)
    orgs: list[Entity] = []
    for i in range(counts["org"]):
        suffix, category, field_ = rng.choice(ORG_TYPES)
        o = add("org", i, f"{names.word((1, 3))} {suffix}", category=category, org_type=suffix.lower(),
                field=field_, founded=rng.randint(1650, 1980))
        o.rel["headquarters"] = rng.choice(cities).id
        founder = rng.choice([p for p in rng.sample(people, 12) if p.attrs["birth_year"] + 20 < o.attrs["founded"]] or people[:1])
        o.rel["founder"] = founder.id
        orgs.append(o)
    for p in people:
        if rng.random() < 0.7:
            p.rel["employer"] = rng.choice(orgs).id
        older = [q for q in rng.sample(people, 8) if 15 <= p.attrs["birth_year"] - q.attrs["birth_year"] <= 60]
        if older:
            p.rel["mentor"] = older[0].id
    by_occupation: dict[str, list[Entity]] = {}
    for p in people:
        by_occupation.setdefault(p.attrs["occupation"], []).append(p)
    titles: set[str] = set()
    publishers = [o for o in orgs if o.attrs["category"] in ("company", "cultural", "media")]
    for i in range(counts["work"]):
        kind = rng.choice(list(WORK_KINDS))
        creators = [p for occ in WORK_KINDS[kind][0] for p in by_occupation.get(occ, [])
                    if kind != "film" or p.attrs["birth_year"] > 1850] or people
        creator = rng.choice(creators)
        while True:
            word = names.word((1, 2))
            title = rng.choice([f"The {word} {rng.choice(TITLE_NOUNS)}", f"{rng.choice(TITLE_NOUNS)} of {word}",
                                f"The {rng.choice(TITLE_ADJS)} {rng.choice(TITLE_NOUNS)} of {word}",
                                f"{word}'s {rng.choice(TITLE_NOUNS)}"])
            if title not in titles:
                titles.add(title)
                break
        w = add("work", i, title, work_kind=kind, genre=rng.choice(WORK_KINDS[kind][3]),
                year=min(2023, creator.attrs["birth_year"] + rng.randint(20, 60)))
        w.rel["creator"] = creator.id
        candidates = [o for o in rng.sample(publishers, min(10, len(publishers))) if o.attrs["founded"] <= w.attrs["year"]]
        if candidates and rng.random() < 0.8:
            w.rel["publisher"] = candidates[0].id
    for i in range(counts["event"]):
        kind = rng.choice(EVENT_KINDS)
        word = names.word((1, 2))
        name = f"Treaty of {word}" if kind == "Treaty" else f"{word} {kind}"
        organiser = rng.choice(orgs)
        ev = add("event", i, name, event_kind=kind, year=rng.randint(max(1750, organiser.attrs["founded"] + 1), 2022))
        ev.rel["host_city"] = rng.choice(cities).id
        ev.rel["organiser"] = organiser.id
    return World(seed=seed, entities=ents)


__all__ = ["World", "Entity", "build_world", "RELATIONS", "DEFAULT_COUNTS", "WORK_KINDS", "OCCUPATIONS"]
