"""Files written whole or not at all: a temporary file beside the target, then a rename."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path


def write_text_atomically(
    path: Path, text: str, *, check: Callable[[Path], object] | None = None
) -> None:
    """Write ``text`` to ``path`` so a reader sees the old file or the new one, never half of
    one; ``check`` (called with the written temporary file) may refuse it by raising, and the
    old file then stays."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        if check is not None:
            check(Path(temporary))
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
