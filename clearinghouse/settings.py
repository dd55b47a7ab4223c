"""One typed, frozen settings object: ``clearinghouse.toml`` then ``CLEARINGHOUSE_*`` variables.

Precedence, lowest first: defaults, the TOML file (``[clearinghouse]`` table or top level),
environment variables, then explicit overrides (the CLI's ``--db``).
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from clearinghouse.errors import UsageError

__all__ = ["Settings", "load_settings"]

DEFAULT_DB = "sqlite:///clearinghouse.db"


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the jobs need to know about this installation."""

    db: str = DEFAULT_DB
    raw_store: Path = Path("raw")
    max_drop_bytes: int = 1 << 30
    clearing_name: str = "National Claims Clearinghouse"
    clearing_account: str = "0000000000"
    clearing_bank: str = "BKKBTHBK"
    timezone: str = "Asia/Bangkok"
    sqlite_chunk_rows: int = 20_000

    def with_db(self, url: str | None) -> Settings:
        """A copy pointing at ``url`` when given."""
        return self if not url else replace(self, db=url)


def _coerce(name: str, raw: Any) -> Any:
    kind = {f.name: f.type for f in fields(Settings)}[name]
    try:
        if kind in ("int", int):
            return int(raw)
        if kind in ("Path", Path):
            return Path(str(raw))
    except ValueError as exc:
        raise UsageError(f"setting {name}: {raw!r} is not a whole number") from exc
    return str(raw)


def load_settings(toml_path: Path | None = None, environ: dict[str, str] | None = None) -> Settings:
    """Read ``clearinghouse.toml`` (or ``CLEARINGHOUSE_CONFIG``) and the environment."""
    env = dict(os.environ if environ is None else environ)
    path = toml_path or Path(env.get("CLEARINGHOUSE_CONFIG", "clearinghouse.toml"))
    values: dict[str, Any] = {}
    names = {f.name for f in fields(Settings)}
    if path.is_file():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise UsageError(f"{path}: not valid TOML ({exc})") from exc
        table = data.get("clearinghouse", data)
        for key, raw in table.items():
            if key not in names:
                raise UsageError(f"{path}: unknown setting {key!r}")
            values[key] = _coerce(key, raw)
    for name in names:
        raw_env = env.get(f"CLEARINGHOUSE_{name.upper()}")
        if raw_env is not None and raw_env != "":
            values[name] = _coerce(name, raw_env)
    return Settings(**values)
