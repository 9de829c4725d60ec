"""Task sources for the tools family: reasoning-gym generators and local question/answer files.

A source turns ``(seed, split)`` into a :class:`~agentgym.types.Task` and scores answers::

    src = ReasoningGymTasks(["gcd", "basic_arithmetic"], difficulty=1)
    task = src.task(seed=7, split="train")        # task.instruction, task.data["answer"]
    src.score(task, "42")                          # the family's own scorer, in [0, 1]

    src = FileTasks("qa.jsonl")                    # rows with `question` and `answer`

Splits come from seeds: reasoning-gym's test split draws from a disjoint generator seed;
a file's rows are split by their ``split`` column when present, else 1 in 10 rows (chosen
by a hash of the row index) is test.
"""

from __future__ import annotations

import difflib
import json
import zlib
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from agentgym.types import Task

from .scoring import ScoreMode, score_answer

CALC_FAMILIES = [
    "basic_arithmetic", "chain_sum", "products", "decimal_arithmetic", "gcd", "lcm", "power_function",
    "calendar_arithmetic", "time_intervals",
]
PYTHON_FAMILIES = [
    "basic_arithmetic", "chain_sum", "products", "decimal_arithmetic", "gcd", "lcm", "prime_factorization",
    "fraction_simplification", "power_function", "count_bits", "base_conversion", "bitwise_arithmetic",
    "calendar_arithmetic", "time_intervals", "simple_equations", "letter_counting", "number_sorting",
    "count_primes", "leg_counting", "spell_backward", "word_sorting",
]
SPLITS = ("train", "test")
_TEST_SEED_OFFSET = 2**40


@runtime_checkable
class TaskSource(Protocol):
    """Anything that makes tasks from seeds and scores answers against them."""

    name: str

    def task(self, seed: int, split: str = "train") -> Task: ...

    def score(self, task: Task, answer: str) -> float: ...


def _check_split(split: str) -> str:
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    return split


def _import_reasoning_gym() -> Any:
    try:
        import reasoning_gym.factory as factory
    except ImportError as e:
        from agentgym.errors import MissingDependencyError

        raise MissingDependencyError("reasoning-gym", "tools", "reasoning-gym task families") from e
    return factory


class ReasoningGymTasks:
    """Procedural, verifiable tasks from `reasoning-gym`, scored by each family's own scorer.

    Args:
        families: family names, or a mapping name → config overrides (e.g. ``{"gcd": {"max_value": 1000}}``).
        difficulty: curriculum level (0 = easiest) for families that have a curriculum; ``None``
            keeps each family's default configuration.
        pool_size: distinct items per family and split; seeds wrap around modulo this.
    """

    name = "reasoning_gym"

    def __init__(self, families: list[str] | dict[str, dict[str, Any]] | None = None, *, difficulty: int | None = None,
                 pool_size: int = 100_000):
        factory = _import_reasoning_gym()
        if families is None:
            families = list(PYTHON_FAMILIES)
        if isinstance(families, str):
            families = [families]
        overrides = dict(families) if isinstance(families, dict) else {f: {} for f in families}
        if not overrides:
            raise ValueError("give at least one reasoning-gym family, e.g. families=['basic_arithmetic']")
        for fam in overrides:
            if fam not in factory.DATASETS:
                close = difflib.get_close_matches(fam, list(factory.DATASETS), n=3)
                hint = f" Did you mean {', '.join(close)}?" if close else ""
                raise ValueError(f"unknown reasoning-gym family {fam!r}.{hint} Known families: {len(factory.DATASETS)} "
                                 "(see reasoning_gym.factory.DATASETS)")
        if difficulty is not None and difficulty < 0:
            raise ValueError(f"difficulty must be >= 0, got {difficulty}")
        self.families = list(overrides)
        self.overrides = overrides
        self.difficulty = difficulty
        self.pool_size = pool_size
        self._datasets: dict[tuple[str, str], Any] = {}

    def dataset(self, family: str, split: str) -> Any:
        """The (cached) reasoning-gym dataset of ``family`` for ``split``."""
        key = (family, _check_split(split))
        if key not in self._datasets:
            factory = _import_reasoning_gym()
            seed = zlib.crc32(family.encode()) + (_TEST_SEED_OFFSET if split == "test" else 0)
            config: dict[str, Any] = {}
            if self.difficulty is not None and factory.has_curriculum(family):
                curriculum = factory.create_curriculum(family)
                for attr in curriculum.attributes:
                    top = len(curriculum.get_attribute(attr).levels) - 1
                    curriculum.set_attr_level(attr, min(self.difficulty, top))
                config = {k: v for k, v in vars(curriculum.generate_configuration({"seed": seed, "size": 1})).items()}
            config.update(self.overrides.get(family, {}))
            config.update(seed=seed, size=self.pool_size)
            self._datasets[key] = factory.create_dataset(family, **config)
        return self._datasets[key]

    def entry(self, family: str, index: int, split: str) -> dict[str, Any]:
        return self.dataset(family, split)[index]

    def task(self, seed: int, split: str = "train") -> Task:
        family = self.families[zlib.crc32(f"family:{seed}".encode()) % len(self.families)]
        index = seed % self.pool_size
        entry = self.entry(family, index, split)
        return Task(
            id=f"rg/{family}/{split}/{index}", instruction=entry["question"], split=split,
            data={"source": self.name, "family": family, "index": index, "answer": str(entry["answer"]),
                  "metadata": json.loads(json.dumps(entry.get("metadata", {}), default=str))},
        )

    def score(self, task: Task, answer: str) -> float:
        family, index, split = task.data["family"], int(task.data["index"]), task.split or "train"
        dataset = self.dataset(family, split)
        try:
            return float(dataset.score_answer(answer, dataset[index]))
        except Exception:  # a family scorer choking on odd text means the answer is wrong
            return 0.0


@lru_cache(maxsize=8)
def _load_rows(path: str, mtime: float) -> tuple[dict[str, Any], ...]:
    p = Path(path)
    if p.is_dir():
        import datasets

        ds = datasets.load_from_disk(str(p))
        if isinstance(ds, datasets.DatasetDict):
            rows = []
            for split_name, part in ds.items():
                rows += [{**r, "split": r.get("split", split_name)} for r in part]
            return tuple(rows)
        return tuple(ds)
    suffix = p.suffix.lower()
    if suffix == ".jsonl":
        return tuple(json.loads(line) for line in p.read_text().splitlines() if line.strip())
    if suffix == ".json":
        data = json.loads(p.read_text())
        return tuple(data if isinstance(data, list) else data.get("data", []))
    if suffix in (".csv", ".parquet"):
        import datasets

        return tuple(datasets.load_dataset(suffix[1:], data_files=str(p), split="train"))
    raise ValueError(f"unsupported task file {p.name!r}: use .jsonl, .json, .csv, .parquet or a datasets folder")


class FileTasks:
    """Question/answer rows from a local file (``.jsonl``, ``.json``, ``.csv``, ``.parquet``, or a
    ``datasets.save_to_disk`` folder). ``answer`` may be a string or a list of accepted answers.

    Args:
        path: the file or folder.
        question_key / answer_key: column names.
        mode: ``auto`` (exact, then numeric), ``exact``, ``numeric`` or ``f1``.
        rel_tol: tolerance of numeric comparison.
    """

    name = "file"

    def __init__(self, path: str | Path, *, question_key: str = "question", answer_key: str = "answer",
                 mode: ScoreMode = "auto", rel_tol: float = 1e-6):
        self.path = Path(path).expanduser()
        if not self.path.exists():
            raise FileNotFoundError(f"task file {self.path} does not exist; pass a .jsonl/.json/.csv/.parquet file")
        rows = _load_rows(str(self.path), self.path.stat().st_mtime)
        if not rows:
            raise ValueError(f"task file {self.path} has no rows")
        missing = [k for k in (question_key, answer_key) if k not in rows[0]]
        if missing:
            raise ValueError(f"task file {self.path} lacks column(s) {missing}; its columns are {sorted(rows[0])}. "
                             "Pass question_key=/answer_key= to name them.")
        self.question_key, self.answer_key, self.mode, self.rel_tol = question_key, answer_key, mode, rel_tol
        self.rows = rows
        self.by_split: dict[str, list[int]] = {s: [] for s in SPLITS}
        for i, row in enumerate(rows):
            split = row.get("split") if row.get("split") in SPLITS else (
                "test" if zlib.crc32(f"row:{i}".encode()) % 10 == 0 else "train")
            self.by_split[split].append(i)

    def task(self, seed: int, split: str = "train") -> Task:
        pool = self.by_split[_check_split(split)] or self.by_split["train"] or self.by_split["test"]
        index = pool[seed % len(pool)]
        row = self.rows[index]
        answer = row[self.answer_key]
        answers = [str(a) for a in answer] if isinstance(answer, (list, tuple)) else [str(answer)]
        return Task(id=f"file/{self.path.stem}/{index}", instruction=str(row[self.question_key]), split=split,
                    data={"source": self.name, "index": index, "answer": answers[0], "answers": answers})

    def score(self, task: Task, answer: str) -> float:
        golds = task.data.get("answers") or [task.data["answer"]]
        return score_answer(answer, golds, self.mode, rel_tol=self.rel_tol)


def make_task_source(tasks: str | TaskSource | None, families: Any = None, difficulty: int | None = None) -> TaskSource:
    """``None``/``"reasoning_gym"`` → :class:`ReasoningGymTasks`; a path → :class:`FileTasks`; a source as is."""
    if tasks is None or tasks == "reasoning_gym":
        return ReasoningGymTasks(families, difficulty=difficulty)
    if isinstance(tasks, (str, Path)):
        return FileTasks(tasks)
    if isinstance(tasks, TaskSource):
        return tasks
    raise TypeError(f"tasks must be 'reasoning_gym', a file path or a TaskSource, got {type(tasks).__name__}")


__all__ = ["TaskSource", "ReasoningGymTasks", "FileTasks", "make_task_source", "CALC_FAMILIES", "PYTHON_FAMILIES"]
