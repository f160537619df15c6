#!/usr/bin/env python3
"""Print the config reference table (Markdown) generated from the schema; ``--write`` updates README.md
between its ``<!-- config-reference -->`` markers."""
import sys
from pathlib import Path

from synthblend.core.schema_doc import markdown

START, END = "<!-- config-reference:start -->", "<!-- config-reference:end -->"

if __name__ == "__main__":
    table = markdown()
    if "--write" in sys.argv:
        readme = Path(__file__).resolve().parents[1] / "README.md"
        text = readme.read_text()
        a, b = text.index(START) + len(START), text.index(END)
        readme.write_text(text[:a] + "\n" + table + text[b:])
    else:
        sys.stdout.write(table)
