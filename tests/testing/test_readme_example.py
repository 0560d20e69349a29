"""The README's example test, exactly as printed there, passes against the real daemon in
under 10 s with the simulator at instant speed."""

from __future__ import annotations

import re
from pathlib import Path

from tests.testing.runner import run_pytest

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_example() -> str:
    section = README.read_text().split("## Testing your client against localrun", 1)[1]
    found = re.search(r"```python\n(.*?)```", section.split("\n## ", 1)[0], re.S)
    assert found, "the section has a python example"
    return found.group(1)


def test_the_example_is_five_lines_under_its_def() -> None:
    lines = readme_example().strip().splitlines()
    assert lines[0].startswith("def test_") and "localrun_server" in lines[0]
    assert len(lines) == 6


def test_the_readme_example_passes(tmp_path: Path) -> None:
    (tmp_path / "test_example.py").write_text(readme_example())
    outcome = run_pytest(tmp_path, "test_example.py")
    assert outcome.returncode == 0, outcome.output
    assert "1 passed" in outcome.output
    assert "test_cfl_at_30_percent" in outcome.times


def test_the_example_fails_when_the_run_succeeds(tmp_path: Path) -> None:
    """The example can fail: without the script the run succeeds and the assert says so."""
    text = readme_example().replace('"cfl", at_percent=30', '"succeed"')
    (tmp_path / "test_example.py").write_text(text)
    outcome = run_pytest(tmp_path, "test_example.py")
    assert outcome.returncode == 1 and "1 failed" in outcome.output, outcome.output
    assert "Completed successfully" in outcome.output
