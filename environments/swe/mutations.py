"""Bug injection by AST mutation: every single-site mutation of a Python source, as an exact text edit.

    muts = find_mutations(source, "pkg/mod.py")     # deterministic order
    buggy = muts[0].apply(source)                    # the rest of the file is byte-for-byte unchanged
    muts[0].kind, muts[0].function, muts[0].line     # "flip_comparison", "Range.test", 42

Kinds (SWE-smith style): ``flip_comparison`` (``<`` ↔ ``>``, ``==`` ↔ ``!=``, ``in`` ↔ ``not in``),
``off_by_one`` (``<`` ↔ ``<=``, an integer constant ±1), ``wrong_operator`` (``+`` ↔ ``-``,
``*`` → ``+``, ``//`` ↔ ``/``, ``%`` → ``//``, ``and`` ↔ ``or``), ``drop_branch`` (an ``if``
without ``else`` deleted), ``swap_arguments`` (the first two positional arguments of a call),
``wrong_return`` (``True`` ↔ ``False``, a boolean expression negated, a pair swapped, a value
replaced by ``None``). Only code inside functions is mutated (not decorators, defaults or
annotations); a mutation whose result does not parse, or parses to the same tree, is dropped.
Positions come from the AST and edits are made on the bytes, so formatting and comments survive.
"""

from __future__ import annotations

import ast
import hashlib
import re
from dataclasses import dataclass

KINDS = ("flip_comparison", "off_by_one", "wrong_operator", "drop_branch", "swap_arguments", "wrong_return")
_FLIP = {ast.Lt: ">", ast.Gt: "<", ast.LtE: ">=", ast.GtE: "<=", ast.Eq: "!=", ast.NotEq: "==",
         ast.In: "not in", ast.NotIn: "in", ast.Is: "is not", ast.IsNot: "is"}
_BOUNDARY = {ast.Lt: "<=", ast.LtE: "<", ast.Gt: ">=", ast.GtE: ">"}
_OP_TEXT = {ast.Lt: r"<(?![<=])", ast.Gt: r"(?<![->])>(?![>=])", ast.LtE: r"<=", ast.GtE: r">=", ast.Eq: r"==",
            ast.NotEq: r"!=", ast.In: r"(?<!not )\bin\b", ast.NotIn: r"\bnot\s+in\b", ast.Is: r"\bis\b(?!\s+not)",
            ast.IsNot: r"\bis\s+not\b"}
_BINOP = {ast.Add: (r"\+", "-"), ast.Sub: (r"-", "+"), ast.Mult: (r"\*(?!\*)", "+"), ast.FloorDiv: (r"//", "/"),
          ast.Div: (r"(?<!/)/(?!/)", "//"), ast.Mod: (r"%", "//")}
_BOOLOP = {ast.And: (r"\band\b", "or"), ast.Or: (r"\bor\b", "and")}


@dataclass(frozen=True)
class Mutation:
    """One edit of ``file``: bytes ``start:end`` of the source become ``replacement``."""

    file: str
    kind: str
    function: str
    line: int
    start: int
    end: int
    replacement: bytes
    description: str

    @property
    def key(self) -> str:
        """A short stable id of this mutation (file, position and edit)."""
        raw = f"{self.file}\0{self.kind}\0{self.start}\0{self.end}\0".encode() + self.replacement
        return hashlib.sha1(raw).hexdigest()[:8]

    def apply(self, source: str) -> str:
        data = source.encode()
        return (data[: self.start] + self.replacement + data[self.end:]).decode()


class _Finder(ast.NodeVisitor):
    def __init__(self, source: str, file: str):
        self.data = source.encode()
        self.file = file
        starts, offset = [], 0
        for line in self.data.split(b"\n"):
            starts.append(offset)
            offset += len(line) + 1
        self.line_starts = starts
        self.scope: list[str] = []
        self.found: list[Mutation] = []

    # -- positions
    def pos(self, node: ast.AST, end: bool = False) -> int:
        if end:
            return self.line_starts[node.end_lineno - 1] + node.end_col_offset
        return self.line_starts[node.lineno - 1] + node.col_offset

    def text(self, node: ast.AST) -> bytes:
        return self.data[self.pos(node):self.pos(node, end=True)]

    def add(self, kind: str, node: ast.AST, start: int, end: int, replacement: str | bytes, what: str) -> None:
        if not self.scope:
            return
        new = replacement.encode() if isinstance(replacement, str) else replacement
        if new == self.data[start:end]:
            return
        self.found.append(Mutation(self.file, kind, ".".join(self.scope), node.lineno, start, end, new, what))

    def between(self, kind: str, node: ast.AST, left: ast.AST, right: ast.AST, pattern: str, new: str,
                what: str) -> None:
        """Replaces the operator token matching ``pattern`` between ``left`` and ``right``."""
        a, b = self.pos(left, end=True), self.pos(right)
        gap = self.data[a:b].decode()
        matches = list(re.finditer(pattern, gap))
        if len(matches) == 1 and "#" not in gap:
            m = matches[0]
            self.add(kind, node, a + len(gap[:m.start()].encode()), a + len(gap[:m.end()].encode()), new, what)

    # -- scopes: only function bodies are mutated
    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self.scope.append(node.name)
        body = node.body[1:] if _is_docstring(node.body[0]) else node.body
        for stmt in body:
            self.visit(stmt)
        self.scope.pop()

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self.scope.append(node.name)
        for stmt in node.body:
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                self.visit(stmt)
        self.scope.pop()

    def visit_Lambda(self, node: ast.Lambda) -> None:
        self.visit(node.body)

    # -- mutation sites
    def visit_Compare(self, node: ast.Compare) -> None:
        operands = [node.left, *node.comparators]
        for i, op in enumerate(node.ops):
            kind = type(op)
            if kind in _FLIP:
                self.between("flip_comparison", node, operands[i], operands[i + 1], _OP_TEXT[kind], _FLIP[kind],
                             f"comparison {_FLIP_NAME(kind)} flipped")
            if kind in _BOUNDARY:
                self.between("off_by_one", node, operands[i], operands[i + 1], _OP_TEXT[kind], _BOUNDARY[kind],
                             "comparison boundary moved by one")
        self.generic_visit(node)

    def visit_BinOp(self, node: ast.BinOp) -> None:
        if type(node.op) in _BINOP:
            pattern, new = _BINOP[type(node.op)]
            self.between("wrong_operator", node, node.left, node.right, pattern, new, f"operator replaced by {new}")
        for side in (node.left, node.right):
            self.constant_off_by_one(side)
        self.generic_visit(node)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        if type(node.op) in (ast.Add, ast.Sub):
            old, new = ("+=", "-=") if isinstance(node.op, ast.Add) else ("-=", "+=")
            self.between("wrong_operator", node, node.target, node.value, re.escape(old), new,
                         f"{old} replaced by {new}")
        self.generic_visit(node)

    def visit_BoolOp(self, node: ast.BoolOp) -> None:
        pattern, new = _BOOLOP[type(node.op)]
        self.between("wrong_operator", node, node.values[0], node.values[1], pattern, new, f"boolean operator -> {new}")
        self.generic_visit(node)

    def visit_Subscript(self, node: ast.Subscript) -> None:
        index = node.slice
        parts = [index.lower, index.upper] if isinstance(index, ast.Slice) else [index]
        for part in parts:
            if part is not None:
                self.constant_off_by_one(part)
        self.generic_visit(node)

    def constant_off_by_one(self, node: ast.AST) -> None:
        target = node.operand if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) else node
        if isinstance(target, ast.Constant) and type(target.value) is int and node.lineno == node.end_lineno:
            value = -target.value if target is not node else target.value
            new = value + 1 if value <= 0 else value - 1
            self.add("off_by_one", node, self.pos(node), self.pos(node, end=True), str(new), f"{value} -> {new}")

    def visit_If(self, node: ast.If) -> None:
        if not node.orelse and self.can_drop(node):
            start = self.line_starts[node.lineno - 1]
            end = self.line_starts[node.end_lineno] if node.end_lineno < len(self.line_starts) else len(self.data)
            self.add("drop_branch", node, start, end, b"", "if-branch removed")
        self.generic_visit(node)

    def can_drop(self, node: ast.If) -> bool:
        line_start = self.line_starts[node.lineno - 1]
        if self.data[line_start:self.pos(node)].strip():
            return False  # an elif, or code before the if on its line
        end = self.pos(node, end=True)
        line_end = self.data.find(b"\n", end)
        return not self.data[end:line_end if line_end >= 0 else len(self.data)].strip()

    def visit_Call(self, node: ast.Call) -> None:
        args = node.args
        if len(args) >= 2 and not any(isinstance(a, ast.Starred) for a in args[:2]):
            first, second = self.text(args[0]), self.text(args[1])
            if first != second and node.args[0].lineno == node.args[1].end_lineno:
                gap = self.data[self.pos(args[0], end=True):self.pos(args[1])]
                self.add("swap_arguments", node, self.pos(args[0]), self.pos(args[1], end=True),
                         second + gap + first, "first two arguments swapped")
        self.generic_visit(node)

    def visit_Return(self, node: ast.Return) -> None:
        value = node.value
        if value is not None and value.lineno == value.end_lineno:
            start, end = self.pos(value), self.pos(value, end=True)
            if isinstance(value, ast.Constant) and isinstance(value.value, bool):
                self.add("wrong_return", node, start, end, str(not value.value), "boolean return inverted")
            elif isinstance(value, ast.UnaryOp) and isinstance(value.op, ast.Not):
                self.add("wrong_return", node, start, end, self.text(value.operand), "negation dropped")
            elif isinstance(value, (ast.Compare, ast.BoolOp)):
                self.add("wrong_return", node, start, end, b"not (" + self.text(value) + b")", "result negated")
            elif isinstance(value, ast.Tuple) and len(value.elts) == 2 and self.data[start:start + 1] != b"(":
                a, b = value.elts
                gap = self.data[self.pos(a, end=True):self.pos(b)]
                self.add("wrong_return", node, self.pos(a), self.pos(b, end=True), self.text(b) + gap + self.text(a),
                         "returned pair swapped")
            elif isinstance(value, (ast.Name, ast.Attribute, ast.Call)):
                self.add("wrong_return", node, start, end, "None", "returns None")
        self.generic_visit(node)


def _FLIP_NAME(kind: type) -> str:  # noqa: N802 - reads as a table lookup
    return {ast.Lt: "<", ast.Gt: ">", ast.LtE: "<=", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!=",
            ast.In: "in", ast.NotIn: "not in", ast.Is: "is", ast.IsNot: "is not"}[kind]


def _is_docstring(stmt: ast.stmt) -> bool:
    return isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) and isinstance(stmt.value.value, str)


def find_mutations(source: str, file: str) -> list[Mutation]:
    """Every valid single-site mutation of ``source``, in source order; ``[]`` if it does not parse."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    finder = _Finder(source, file)
    for stmt in tree.body:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            finder.visit(stmt)
    original = ast.dump(tree)
    valid, seen = [], set()
    for mutation in finder.found:
        if (mutation.start, mutation.end, mutation.replacement) in seen:
            continue
        seen.add((mutation.start, mutation.end, mutation.replacement))
        try:
            mutated = ast.parse(mutation.apply(source))
        except SyntaxError:
            continue
        if ast.dump(mutated) != original:
            valid.append(mutation)
    return sorted(valid, key=lambda m: (m.start, m.end, m.kind, m.replacement))


__all__ = ["KINDS", "Mutation", "find_mutations"]
