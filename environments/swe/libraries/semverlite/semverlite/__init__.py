"""semverlite: parse, compare and match semantic versions (https://semver.org, 2.0.0).

    >>> from semverlite import Version, Range
    >>> Version.parse("1.4.0-rc.1") < Version.parse("1.4.0")
    True
    >>> Range.parse("^1.2.0").max_satisfying(["1.1.9", "1.2.5", "1.9.0", "2.0.0"])
    '1.9.0'
"""

from .errors import InvalidRange, InvalidVersion
from .ranges import Range, max_satisfying, satisfies
from .version import Version

__all__ = ["Version", "Range", "InvalidVersion", "InvalidRange", "satisfies", "max_satisfying"]
__version__ = "1.0.0"
