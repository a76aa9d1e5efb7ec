"""Loading ``config.yaml``: YAML, environment and ``.env`` into :class:`Settings`.

A bad key or value fails at start with the key's path, the value found and what was expected
(:func:`load_settings` raises :class:`ConfigError` with that one message, never a traceback);
a secret-looking key, or a URL with a password, in the file is refused.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import yaml
from dotenv import dotenv_values
from pydantic import ValidationError

from tradeloop.domain.errors import ConfigError, SecretInConfigError
from tradeloop.domain.redaction import register_secrets
from tradeloop.settings.schema import SECRET_ENV_VARS, Secrets, Settings

DEFAULT_CONFIG = "config.yaml"
_SECRET_KEY = re.compile(r"(api_?key|secret|password|passphrase|token|private_?key)", re.I)
_URL_PASSWORD = re.compile(r"^[a-z0-9+]+://[^/@:]+:[^/@]+@", re.I)


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML's safe loader, refusing a key given twice in one mapping (YAML would keep the
    last one silently: a second ``risk:`` section would drop the first)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _find_secrets(node: Any, path: str = "") -> list[str]:
    found: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            sub = f"{path}.{key}" if path else str(key)
            if _SECRET_KEY.search(str(key)) and value not in (None, ""):
                found.append(sub)
            found.extend(_find_secrets(value, sub))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found.extend(_find_secrets(value, f"{path}[{i}]"))
    elif isinstance(node, str) and _URL_PASSWORD.match(node):
        found.append(path)
    return found


def _loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _allowed_keys(loc: tuple[Any, ...]) -> list[str]:
    model: Any = Settings
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part) if hasattr(model, "model_fields") else None
        if field is None:
            return []
        ann = field.annotation
        args = getattr(ann, "__args__", None)
        model = args[0] if args and hasattr(args[0], "model_fields") else ann
    if not hasattr(model, "model_fields"):
        return []
    return [k for k, f in model.model_fields.items() if not f.exclude]


def format_validation_error(err: ValidationError, source: str, raw: Any) -> str:
    """One message naming each bad key path, the value found and what was expected."""
    lines = []
    for e in err.errors():
        loc = tuple(p for p in e["loc"] if p not in ("function-after",))
        path = _loc(loc) or "(top level)"
        value = e.get("input")
        if e["type"] == "extra_forbidden":
            allowed = ", ".join(_allowed_keys(loc))
            lines.append(f"{path}: unknown key; expected one of: {allowed}")
            continue
        msg = e["msg"].removeprefix("Value error, ")
        shown = "" if isinstance(value, dict) else f" (got {value!r})"
        lines.append(f"{path}: {msg}{shown}")
    head = f"invalid configuration in {source}:"
    return head + ("\n  " + "\n  ".join(lines) if len(lines) > 1 else " " + lines[0])


def load_settings(
    path: str | Path | None = None,
    *,
    env: dict[str, str] | None = None,
    overrides: dict[str, Any] | None = None,
) -> Settings:
    """Read and validate a config file (``config.yaml`` in the working directory by default).

    Secrets come from ``env`` (default: ``os.environ`` over ``.env`` next to the config file).
    A missing default file means all defaults; a missing named file is an error.
    """
    explicit = path is not None
    cfg_path = Path(path) if path is not None else Path(DEFAULT_CONFIG)
    base_dir = cfg_path.resolve().parent
    raw: Any = {}
    if cfg_path.exists():
        try:
            text = cfg_path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read {cfg_path}: {exc}") from None
        try:
            raw = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 (a safe loader)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark
            where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
            raise ConfigError(
                f"{cfg_path}:{where}: YAML syntax error: {exc.problem}"
            ) from None
        except yaml.YAMLError as exc:
            raise ConfigError(f"{cfg_path}: YAML syntax error: {exc}") from None
        raw = raw or {}
        if not isinstance(raw, dict):
            raise ConfigError(
                f"{cfg_path}: expected a mapping of sections at the top level, "
                f"got {type(raw).__name__}"
            )
    elif explicit:
        raise ConfigError(f"config file not found: {cfg_path}")

    leaked = _find_secrets(raw)
    if leaked:
        raise SecretInConfigError(
            f"{cfg_path}: secrets must not be stored in config files ({', '.join(leaked)}); "
            f"set them in the environment or .env instead ({', '.join(SECRET_ENV_VARS)})"
        )
    if overrides:
        raw = _deep_merge(raw, overrides)

    if env is None:
        env = {k: v for k, v in dotenv_values(base_dir / ".env").items() if v is not None}
        env.update(os.environ)
    secrets = Secrets.from_env(env)
    register_secrets(secrets.values())  # masked in every log line, error and row from now on
    try:
        return Settings.model_validate({**raw, "base_dir": base_dir, "secrets": secrets})
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, str(cfg_path), raw)) from None


def _deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out

