"""Post-generation hook: make the rendered settings file valid YAML for astral characters.

The settings file is rendered with Jinja's ``tojson``, which writes a character outside
the Basic Multilingual Plane (an emoji, say) as a JSON surrogate pair ``\\ud83d\\ude00``.
YAML forbids surrogate escapes, so each pair becomes one ``\\U0001f600`` escape here.
Escaped backslashes (``\\\\``) are matched first, so a literal backslash followed by
``u`` in a value is left alone.
"""

import re
from pathlib import Path

PAIR = re.compile(r"\\\\|\\u(d[89ab][0-9a-f][0-9a-f])\\u(d[c-f][0-9a-f][0-9a-f])", re.I)


def join_pair(match):
    if match.group(1) is None:
        return match.group(0)
    high, low = int(match.group(1), 16), int(match.group(2), 16)
    code = 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)
    return "\\U" + format(code, "08x")


for name in ("study.yaml", "lesson.yaml"):
    path = Path(name)
    if path.is_file():
        text = path.read_text(encoding="utf-8")
        path.write_text(PAIR.sub(join_pair, text), encoding="utf-8")
