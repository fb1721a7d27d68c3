"""The payer policy: whether a therapy's orders need prior authorization (CRD `pa-needed`).

Data, never code: the shipped policy is rulesets/davinci/payer-policy.yaml (cited there); a
deployment replaces it with its payer's own file (`cds serve --payer-policy FILE`), validated
here so that a bad file stops the service at start with a message naming the problem.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from ..yamlfile import safe_load

# The CRD 2.0.1 coveragePaDetail codes this service can assert: `satisfied` needs a PA id
# (crd-ci-q5) and `conditional` needs info-needed naming what decides it, neither of which a
# static policy can give.
PaNeeded = Literal["no-auth", "auth-needed", "performpa"]
SHIPPED = Path("davinci") / "payer-policy.yaml"


class PolicyError(ValueError):
    """A payer policy file that cannot be used; the message names the file and the problem."""


class PayerPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    # Where the policy comes from (the shipped file cites; a deployment's file may).
    sources: dict[str, str] = {}
    default: PaNeeded = "auth-needed"
    # therapy id -> code; a therapy not listed takes the default.
    therapies: dict[str, PaNeeded] = {}

    def pa_needed(self, therapy: str) -> PaNeeded:
        return self.therapies.get(therapy, self.default)


def load(path: Path, therapies: Iterable[str]) -> PayerPolicy:
    """The policy of a YAML file, every therapy it names one of `therapies`."""
    return _load(str(path), tuple(sorted(therapies)))


@lru_cache(maxsize=8)
def _load(path: str, therapies: tuple[str, ...]) -> PayerPolicy:
    try:
        data = safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise PolicyError(f"payer policy {path}: cannot be read ({exc.strerror or exc})") from None
    except yaml.YAMLError as exc:
        raise PolicyError(f"payer policy {path}: not YAML ({exc})") from None
    try:
        policy = PayerPolicy.model_validate(data if data is not None else {})
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'file'}: {e['msg']}" for e in exc.errors())
        raise PolicyError(f"payer policy {path}: {problems}") from None
    unknown = sorted(set(policy.therapies) - set(therapies))
    if unknown:
        raise PolicyError(f"payer policy {path}: no ruleset for {', '.join(unknown)} "
                          f"(loaded: {', '.join(therapies)})")
    return policy


def policy_for(rulesets_folder: Path, therapies: Iterable[str], override: Path | None = None) -> PayerPolicy:
    """The deployment's policy when it gives one, else the one shipped with the rulesets."""
    return load(override if override is not None else rulesets_folder / SHIPPED, therapies)
