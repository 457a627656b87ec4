"""Compile the .po catalogues to .mo with polib, so no machine needs GNU gettext.

``python -m security_core.i18n_compile`` writes the .mo files; ``--check`` only reports
whether the committed ones are current (the test suite runs it).
"""

from __future__ import annotations

import sys
from pathlib import Path

import polib

LOCALE_DIR = Path(__file__).resolve().parent / "locale"


def catalogues() -> list[Path]:
    return sorted(LOCALE_DIR.glob("*/LC_MESSAGES/*.po"))


def compiled(po_path: Path) -> bytes:
    catalogue = polib.pofile(str(po_path))
    out = po_path.with_suffix(".tmp.mo")
    try:
        catalogue.save_as_mofile(str(out))
        return out.read_bytes()
    finally:
        out.unlink(missing_ok=True)


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    for po_path in catalogues():
        mo_path = po_path.with_suffix(".mo")
        data = compiled(po_path)
        if check:
            if not mo_path.exists() or mo_path.read_bytes() != data:
                stale.append(str(mo_path))
        else:
            mo_path.write_bytes(data)
    if stale:
        sys.stderr.write("Out of date: " + ", ".join(stale) + "; run 'make messages'.\n")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
