"""The README's Python example runs as written, so that it cannot rot."""

import re
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readme_example_runs(capsys):
    text = README.read_text()
    section = text[text.index("\n## Python\n"):]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    assert len(blocks) == 1, "the Python section has one example"
    code = blocks[0]
    assert len(code.strip().splitlines()) <= 16
    exec(compile(code, str(README), "exec"), {"__name__": "__readme__"})
    assert "ACC_reid" in capsys.readouterr().out
