"""Load and render the prompts kept in prompts/<name>/v<N>/.

Every prompt version is a directory with a system message (system.md), a user message
template (user.template.md, Python str.format syntax), its eval set and its metadata.
Prompt CI checks the calls to render_prompt in this codebase against those templates, so
keep the prompt name a string literal and pass the variables as keyword arguments.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

PROMPTS_DIR = Path(__file__).resolve().parents[2] / "prompts"

_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_VERSION_DIR = re.compile(r"^v([1-9][0-9]*)$")


class PromptNotFound(LookupError):
    """No such prompt, or no such version of it."""


@dataclass(frozen=True)
class PromptSettings:
    """The model settings a prompt version's metadata.yaml pins."""

    name: str
    version: int
    model: str
    max_output_tokens: int


def available_versions(name: str) -> list[int]:
    """The versions of a prompt that exist on disk, lowest first."""
    if not _NAME.match(name):
        raise PromptNotFound(f"invalid prompt name {name!r}")
    prompt_dir = PROMPTS_DIR / name
    if not prompt_dir.is_dir():
        raise PromptNotFound(f"no prompt named {name!r} in {PROMPTS_DIR}")
    versions = []
    for child in prompt_dir.iterdir():
        match = _VERSION_DIR.match(child.name)
        if match and child.is_dir():
            versions.append(int(match.group(1)))
    return sorted(versions)


def resolve(name: str, version: int | None = None) -> tuple[str, int]:
    """Split "name/vN" and pick the version: the one asked for, else the highest."""
    if "/" in name:
        name, _, version_dir = name.partition("/")
        match = _VERSION_DIR.match(version_dir)
        if not match:
            raise PromptNotFound(f"expected name/vN, got {name}/{version_dir}")
        pinned = int(match.group(1))
        if version is not None and version != pinned:
            raise ValueError(f"{name}/{version_dir} conflicts with version={version}")
        version = pinned
    versions = available_versions(name)
    if version is None:
        if not versions:
            raise PromptNotFound(f"prompt {name!r} has no versions")
        return name, versions[-1]
    if version not in versions:
        raise PromptNotFound(f"prompt {name!r} has no v{version} (have {versions})")
    return name, version


def render_prompt(name: str, version: int | None = None, **variables: str) -> tuple[str, str]:
    """Return (system, user) for a prompt version, the user template filled in.

    `name` is "summarisation" or "summarisation/v2"; without a version, the highest one on
    disk is used. Every template field must be supplied: a missing one raises KeyError
    naming it rather than sending a half-filled prompt to the model.
    """
    name, version = resolve(name, version)
    version_dir = PROMPTS_DIR / name / f"v{version}"
    system = (version_dir / "system.md").read_text(encoding="utf-8")
    template = (version_dir / "user.template.md").read_text(encoding="utf-8")
    try:
        user = template.format(**variables)
    except KeyError as missing:
        raise KeyError(f"{name}/v{version} needs variable {missing.args[0]!r}") from None
    return system, user


def prompt_settings(name: str, version: int | None = None) -> PromptSettings:
    """Read the model and output budget from a prompt version's metadata.yaml."""
    name, version = resolve(name, version)
    metadata_path = PROMPTS_DIR / name / f"v{version}" / "metadata.yaml"
    metadata = yaml.safe_load(metadata_path.read_text(encoding="utf-8"))
    return PromptSettings(
        name=name,
        version=version,
        model=metadata["model"],
        max_output_tokens=int(metadata["max_output_tokens"]),
    )
