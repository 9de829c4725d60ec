"""Typed records of a knowledge base: documents and questions (written to JSONL, read back).

    doc = Document(id="person-0007", title="Riva Tubaerberg", text="Riva Tubaerberg is a ...")
    q = Question(id="q-multi-00003", question="Who founded the publisher of ...?", answers=["..."],
                 supporting=["work-0012", "org-0044"], hops=2, chain=[...], split="train")
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class Document(BaseModel):
    """One retrievable passage. ``kind`` is the entity kind (person, city, ...) or ``passage``."""

    id: str
    title: str = ""
    text: str
    kind: str = "passage"


class HopStep(BaseModel):
    """One step of a question's reasoning chain: look up ``entity`` and read ``doc_id``."""

    entity: str
    doc_id: str
    relation: str | None = None


class Question(BaseModel):
    """A question with gold answers, supporting documents and (for generated ones) the chain."""

    id: str
    question: str
    answers: list[str]
    supporting: list[str] = Field(default_factory=list)
    hops: int = 1
    chain: list[HopStep] = Field(default_factory=list)
    split: Literal["train", "test"] = "train"
    kind: str = "single"


__all__ = ["Document", "HopStep", "Question"]
