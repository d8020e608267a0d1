"""Rewrite the README's options table from the option table in the code (tests/test_docs.py checks it)."""

from __future__ import annotations

import re
from pathlib import Path

from sysimage_containers.options_doc import markdown_table

README = Path(__file__).resolve().parent.parent / "README.md"
text = README.read_text()
new = re.sub(r"<!-- options-table:begin.*?<!-- options-table:end -->\n", lambda _: markdown_table(), text, flags=re.S)
README.write_text(new)
print("README.md options table", "updated" if new != text else "already up to date")
