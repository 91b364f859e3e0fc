"""Entry point of ``lmf-tui``."""

import sys


def main() -> None:
    """Start the terminal workbench.

    The screens are not part of this release yet; every capability is available through ``lmf-engine``.
    """
    sys.stderr.write(
        "lmf-tui: the terminal workbench screens are not in this release yet.\n"
        "Everything works headless meanwhile: run `lmf-engine --help` (see README.md).\n"
    )
    raise SystemExit(2)


if __name__ == "__main__":
    main()
