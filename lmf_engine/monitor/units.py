"""The figures of samples as short text; ``n/a`` for one nobody could read."""

NA = "n/a"


def gib(mib: float | None) -> str:
    """``70312`` MiB -> ``68.7 GiB``; under 1 GiB in MiB (``900 MiB``)."""
    if mib is None:
        return NA
    return f"{mib:.0f} MiB" if mib < 1024 else f"{mib / 1024:.1f} GiB"


def used_of(used_mib: float | None, total_mib: float | None) -> str:
    """``68.7/140.4 GiB``, or one side ``n/a``."""
    if used_mib is None or total_mib is None:
        return f"{gib(used_mib)} of {gib(total_mib)}"
    return f"{used_mib / 1024:.1f}/{total_mib / 1024:.1f} GiB"


def percent(value: float | None) -> str:
    return NA if value is None else f"{value:.0f}%"


def figure(value: float | None, unit: str, digits: int = 0) -> str:
    """``512.3, "W"`` -> ``512 W``; ``61.0, "°C"`` -> ``61°C``."""
    if value is None:
        return NA
    space = "" if unit.startswith("°") else " "
    return f"{value:.{digits}f}{space}{unit}"


def rate(value: float | None) -> str:
    """MiB/s with one decimal (``n/a`` before the reader has a window to measure)."""
    return NA if value is None else f"{value:.1f}"
