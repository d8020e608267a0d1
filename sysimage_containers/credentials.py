"""Does a value look like a credential? For values that would be stored in an image or its builder stages.

By shape, not by name alone: the prefixes providers put on their tokens so that scanners find them (GitHub's
ghp_/gho_/ghu_/ghs_/ghr_/github_pat_, GitLab's glpat-, Slack's xox?-, AWS access key ids AKIA/ASIA, OpenAI and
Stripe keys, Google API keys AIza, npm_, PyPI's pypi-, Hugging Face hf_), PEM blocks, JSON Web Tokens, a URL with a
password or a token parameter, and long random-looking strings (32+ characters, mixed letters and digits, over 4
bits of entropy per character: a 40-character hex commit id or a UUID stays under it).
"""

from __future__ import annotations

import math
import re
from collections import Counter

from sysimage_containers.urls import strip_credentials

TOKEN_SHAPES = (
    ("a GitHub token", re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})")),
    ("a GitLab token", re.compile(r"\bgl(?:pat|dt|rt|ptt|cbt|oas)-[A-Za-z0-9_-]{20,}")),
    ("a Slack token", re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}")),
    ("an AWS access key id", re.compile(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b")),
    ("an API secret key", re.compile(r"\b(?:sk|rk)[-_](?:live_|test_|proj-|ant-)?[A-Za-z0-9_-]{20,}")),
    ("a Google API key", re.compile(r"\bAIza[A-Za-z0-9_-]{35}")),
    ("an npm token", re.compile(r"\bnpm_[A-Za-z0-9]{36}")),
    ("a PyPI token", re.compile(r"\bpypi-[A-Za-z0-9_-]{50,}")),
    ("a Hugging Face token", re.compile(r"\bhf_[A-Za-z0-9]{30,}")),
    ("a PEM block", re.compile(r"-----BEGIN [A-Z0-9 ]+-----")),
    ("a JSON Web Token", re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*")),
)
RANDOM_RUN = re.compile(r"[A-Za-z0-9+=_-]{32,}")
MIN_ENTROPY = 4.0  # bits per character


def _entropy(text: str) -> float:
    counts = Counter(text)
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())


def looks_like(value: str) -> str | None:
    """What the value looks like ("a GitHub token", ...), or None when it looks like an ordinary value."""
    for what, pattern in TOKEN_SHAPES:
        if pattern.search(value):
            return what
    if "://" in value and strip_credentials(value) != value:
        return "a URL with credentials"
    for run in RANDOM_RUN.findall(value):
        if re.search(r"[A-Za-z]", run) and re.search(r"\d", run) and _entropy(run) > MIN_ENTROPY:
            return "a long random string"
    return None
