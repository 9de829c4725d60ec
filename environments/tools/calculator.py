"""A safe calculator: arithmetic expressions evaluated on their syntax tree, never ``eval``.

Supports ``+ - * / // % **`` (``^`` means power), parentheses, comparisons are refused,
the constants ``pi e tau`` and the functions in :data:`FUNCTIONS` (``sqrt``, ``log``,
``sin``, ``gcd``, ``factorial``, ...). Sizes are bounded so ``9**9**9`` or ``factorial(10**6)``
fail fast with a clear message instead of hanging::

    evaluate("2 * (3 + 4) ^ 2")        # 98
    format_number(evaluate("1/3"))     # '0.333333333333333'
    evaluate("__import__('os')")       # CalculatorError: names allowed are ...
"""

from __future__ import annotations

import ast
import math
import operator
from typing import Any, Callable

MAX_EXPRESSION_CHARS = 1000
MAX_INT_BITS = 4096          # results larger than ~1e1233 are refused
MAX_FACTORIAL = 1000
MAX_DEPTH = 60
MAX_ROUND_DIGITS = 400


class CalculatorError(ValueError):
    """An expression the calculator cannot or will not evaluate (message says why)."""


def _checked_int(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > MAX_INT_BITS:
        raise CalculatorError(f"the result has more than {MAX_INT_BITS} bits; use smaller numbers or floats")
    return value


def _pow(base: Any, exp: Any) -> Any:
    if isinstance(base, int) and isinstance(exp, int) and exp > 0:
        if base not in (0, 1, -1) and exp * max(abs(base), 2).bit_length() > MAX_INT_BITS:
            raise CalculatorError(f"{base}**{exp} is too large (over {MAX_INT_BITS} bits)")
    try:
        result = operator.pow(base, exp)
    except OverflowError:
        raise CalculatorError(f"{base}**{exp} overflows a float") from None
    if isinstance(result, complex):
        raise CalculatorError(f"({base})**({exp}) is not a real number")
    return result


def _factorial(n: Any) -> int:
    if isinstance(n, float) and n.is_integer():
        n = int(n)
    if not isinstance(n, int) or n < 0:
        raise CalculatorError(f"factorial needs a non-negative integer, got {n}")
    if n > MAX_FACTORIAL:
        raise CalculatorError(f"factorial is limited to n <= {MAX_FACTORIAL}, got {n}")
    return math.factorial(n)


def _as_int(name: str, *values: Any) -> list[int]:
    out = []
    for v in values:
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        if not isinstance(v, int) or isinstance(v, bool):
            raise CalculatorError(f"{name} needs integers, got {format_number(v)}")
        out.append(v)
    return out


def _too_big(call: str, bits: float) -> None:
    if bits > MAX_INT_BITS:
        raise CalculatorError(f"{call} has more than {MAX_INT_BITS} bits (about {int(bits * 0.30103)} digits); "
                              "it is refused before computing. Use smaller numbers, or lgamma-style estimates")


def _comb(n: Any, k: Any) -> int:
    """``math.comb`` refused up front when C(n, k) >= (n/m)^m, m = min(k, n-k), exceeds the bit limit."""
    n, k = _as_int("comb", n, k)
    m = min(k, n - k)
    if n > 0 and m > 0:
        _too_big(f"comb({n}, {k})", m * math.log2(n / m))
    return math.comb(n, k)


def _perm(n: Any, k: Any = None) -> int:
    """``math.perm`` refused up front when P(n, k) >= (n-k+1)^k exceeds the bit limit."""
    n, k = _as_int("perm", n, n if k is None else k)
    if 0 < k <= n:
        call = f"perm({n})" if k == n else f"perm({n}, {k})"
        bits = k * math.log2(n - k + 1) if k < n else _factorial_bits(n)
        _too_big(call, bits)
    return math.perm(n, k)


def _factorial_bits(n: int) -> float:
    return math.lgamma(n + 1) / math.log(2)


def _round(x: Any, ndigits: Any = None) -> Any:
    """``round`` with ``ndigits`` bounded (round(5, -10**9) would build 10**(10**9))."""
    if ndigits is None:
        return round(x)
    (ndigits,) = _as_int("round", ndigits)
    if abs(ndigits) > MAX_ROUND_DIGITS:
        raise CalculatorError(f"round() takes at most {MAX_ROUND_DIGITS} digits either way, got {ndigits}")
    return round(x, ndigits)


def _log(x: float, base: float | None = None) -> float:
    return math.log(x) if base is None else math.log(x, base)


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "sqrt": math.sqrt, "cbrt": lambda x: math.copysign(abs(x) ** (1 / 3), x), "exp": math.exp,
    "log": _log, "ln": math.log, "log10": math.log10, "log2": math.log2,
    "sin": math.sin, "cos": math.cos, "tan": math.tan, "asin": math.asin, "acos": math.acos, "atan": math.atan,
    "atan2": math.atan2, "sinh": math.sinh, "cosh": math.cosh, "tanh": math.tanh,
    "degrees": math.degrees, "radians": math.radians, "hypot": math.hypot,
    "abs": abs, "round": _round, "floor": math.floor, "ceil": math.ceil, "trunc": math.trunc,
    "min": min, "max": max, "sum": lambda *xs: sum(xs), "pow": _pow,
    "factorial": _factorial, "gcd": math.gcd, "lcm": math.lcm, "comb": _comb, "perm": _perm,
    "int": int, "float": float,
}
CONSTANTS = {"pi": math.pi, "e": math.e, "tau": math.tau, "inf": math.inf}

_BINARY: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: _pow,
}
_UNARY: dict[type, Callable[[Any], Any]] = {ast.UAdd: operator.pos, ast.USub: operator.neg}
_SYMBOLS = {"^": "**", "×": "*", "÷": "/", "−": "-", "√": "sqrt"}


def _eval(node: ast.AST, depth: int = 0) -> Any:
    if depth > MAX_DEPTH:
        raise CalculatorError(f"the expression is nested more than {MAX_DEPTH} levels deep")
    if isinstance(node, ast.Expression):
        return _eval(node.body, depth + 1)
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
            raise CalculatorError(f"only numbers are allowed, got {node.value!r}")
        return _checked_int(node.value)
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _eval(node.left, depth + 1), _eval(node.right, depth + 1)
        if isinstance(node.op, ast.Mult) and isinstance(left, int) and isinstance(right, int):
            if left.bit_length() + right.bit_length() > MAX_INT_BITS + 1:
                raise CalculatorError(f"the result has more than {MAX_INT_BITS} bits")
        try:
            return _checked_int(_BINARY[type(node.op)](left, right))
        except ZeroDivisionError:
            raise CalculatorError("division by zero") from None
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _UNARY[type(node.op)](_eval(node.operand, depth + 1))
    if isinstance(node, ast.Name):
        if node.id in CONSTANTS:
            return CONSTANTS[node.id]
        raise CalculatorError(f"unknown name `{node.id}`; names allowed are {', '.join(CONSTANTS)}")
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
            name = node.func.id if isinstance(node.func, ast.Name) else ast.unparse(node.func)
            raise CalculatorError(f"unknown function `{name[:40]}`; functions allowed are {', '.join(FUNCTIONS)}")
        if node.keywords:
            raise CalculatorError("keyword arguments are not supported")
        args = [_eval(a, depth + 1) for a in node.args]
        try:
            return _checked_int(FUNCTIONS[node.func.id](*args))
        except CalculatorError:
            raise
        except (ValueError, TypeError, OverflowError, ZeroDivisionError) as e:
            raise CalculatorError(f"{node.func.id}({', '.join(map(format_number, args))}): {e}") from None
    what = type(node).__name__
    raise CalculatorError(f"`{what}` is not allowed: use numbers, + - * / // % ** ^, parentheses and functions")


def evaluate(expression: str) -> int | float:
    """Evaluates an arithmetic expression; raises :class:`CalculatorError` with the reason."""
    if not isinstance(expression, str) or not expression.strip():
        raise CalculatorError("the expression is empty; write one such as `2 * (3 + 4)`")
    if len(expression) > MAX_EXPRESSION_CHARS:
        raise CalculatorError(f"the expression is {len(expression)} characters long; the limit is {MAX_EXPRESSION_CHARS}")
    text = expression.strip().rstrip("=").strip()
    for symbol, replacement in _SYMBOLS.items():
        text = text.replace(symbol, replacement)
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as e:
        raise CalculatorError(f"cannot parse `{expression[:80]}`: {e.msg} at column {e.offset}") from None
    except (ValueError, RecursionError, MemoryError):
        raise CalculatorError(f"cannot parse `{expression[:80]}`") from None
    try:
        return _eval(tree)
    except RecursionError:
        raise CalculatorError(f"the expression is nested too deeply (limit {MAX_DEPTH})") from None
    except OverflowError as e:
        raise CalculatorError(f"overflow: {e}") from None


def calculate(expression: str) -> str:
    """:func:`evaluate` then :func:`format_number`: what the ``calculator`` tool shows (run in a worker process)."""
    return format_number(evaluate(expression))


def format_number(value: Any) -> str:
    """Integers exactly, floats to 15 significant digits (``0.1 + 0.2`` → ``0.3``)."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return str(value)
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return f"{value:.15g}"
    return str(value)


__all__ = ["evaluate", "calculate", "format_number", "CalculatorError", "FUNCTIONS", "CONSTANTS"]
