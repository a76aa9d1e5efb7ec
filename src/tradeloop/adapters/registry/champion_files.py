"""``models/<SYMBOL>/<timeframe>/champion.json``: which model file is in service.

Written whenever the MLflow ``champion`` alias moves, read by the live predictor so that
serving needs neither MLflow nor Lightning.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from tradeloop.domain.errors import ModelLoadError
from tradeloop.domain.symbols import symbol_slug
from tradeloop.ml.model_file import MODEL_SUFFIX
from tradeloop.ports import ModelRef


class ChampionFiles:
    """Champion pointers under ``models_dir``; implements the ModelRegistry port."""

    def __init__(self, models_dir: Path) -> None:
        self.models_dir = models_dir
        self._cache: dict[Path, tuple[tuple[int, int], ModelRef]] = {}
        self._pointers: dict[tuple[str, str], Path] = {}

    def folder(self, symbol: str, timeframe: str) -> Path:
        return self.models_dir / symbol_slug(symbol) / timeframe

    def model_file(self, symbol: str, timeframe: str, version: str) -> Path:
        """Where version ``version`` of a series' model is kept."""
        return self.folder(symbol, timeframe) / f"v{version}{MODEL_SUFFIX}"

    def champion(self, symbol: str, timeframe: str) -> ModelRef | None:
        pointer = self._pointers.get((symbol, timeframe))
        if pointer is None:
            pointer = self.folder(symbol, timeframe) / "champion.json"
            self._pointers[(symbol, timeframe)] = pointer
        try:
            st = pointer.stat()
        except FileNotFoundError:
            return None
        stamp = (st.st_mtime_ns, st.st_size)
        cached = self._cache.get(pointer)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        try:
            data = json.loads(pointer.read_text())
            ref = ModelRef(symbol, timeframe, str(data["version"]),
                           pointer.parent / data["file"], data.get("run_id"))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ModelLoadError(f"unreadable champion pointer {pointer}: {exc}") from None
        self._cache[pointer] = (stamp, ref)
        return ref

    def install(self, symbol: str, timeframe: str, version: str, local_file: Path,
                run_id: str | None) -> None:
        """Make ``local_file`` the champion, copying it into the series folder if elsewhere."""
        folder = self.folder(symbol, timeframe)
        if local_file.parent != folder:
            folder.mkdir(parents=True, exist_ok=True)
            shutil.copy2(local_file, folder / local_file.name)
        self.set(symbol, timeframe, version, local_file.name, run_id)

    def set(self, symbol: str, timeframe: str, version: str, file: str,
            run_id: str | None) -> None:
        folder = self.folder(symbol, timeframe)
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".champion.json.{os.getpid()}"
        tmp.write_text(json.dumps({"version": version, "file": file, "run_id": run_id},
                                  indent=2) + "\n")
        tmp.replace(folder / "champion.json")
