"""The documentation cannot rot: guide code runs, public docstrings carry run examples.

Guide pages (docs/**/*.md) are run page by page, top to bottom, in a scratch folder holding
a link to ``examples/``: every ```python block in one shared namespace, every ```bash block
through bash with the virtualenv's ``portcon`` first on PATH. Blocks in any other fence
(```text, ```console, ```toml) are shown, not run.
"""

from __future__ import annotations

import doctest
import inspect
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import portcon

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
FENCE = re.compile(r"^```(?P<lang>[\w-]*)[^\n]*\n(?P<code>.*?)^```\s*$", re.MULTILINE | re.DOTALL)
PAGES = sorted(
    path for path in DOCS.rglob("*.md") if "_build" not in path.parts and path.name != "design.md"
)


def blocks(page: Path) -> list[tuple[str, str]]:
    """The (language, code) of every fenced block of a page, in order."""
    text = page.read_text(encoding="utf-8")
    return [(match["lang"], match["code"]) for match in FENCE.finditer(text)]


def test_the_guide_has_pages_with_code() -> None:
    runnable = [
        page for page in PAGES if any(lang in {"python", "bash"} for lang, _ in blocks(page))
    ]
    assert len(runnable) >= 10, [page.name for page in runnable]


@pytest.mark.parametrize("page", PAGES, ids=[str(page.relative_to(DOCS)) for page in PAGES])
def test_guide_page_runs(page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": "__guide__"}
    environment = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    }
    for number, (lang, code) in enumerate(blocks(page), start=1):
        where = f"{page.relative_to(DOCS)}, block {number}"
        if lang == "python":
            exec(compile(code, where, "exec"), namespace)
        elif lang == "bash":
            done = subprocess.run(
                ["bash", "-euo", "pipefail", "-c", code],
                env=environment,
                capture_output=True,
                text=True,
                timeout=300,
            )
            assert done.returncode == 0, f"{where}:\n{code}\n{done.stdout}\n{done.stderr}"


PUBLIC = sorted(portcon.__all__)
# Every public function and class; PRESETS is data (a mapping), documented in docs/api.md.
CALLABLE = [
    name
    for name in PUBLIC
    if inspect.isclass(getattr(portcon, name)) or inspect.isfunction(getattr(portcon, name))
]


def test_only_data_is_left_out() -> None:
    assert sorted(set(PUBLIC) - set(CALLABLE)) == ["PRESETS"]


@pytest.mark.parametrize("name", CALLABLE)
def test_public_name_has_a_run_example(name: str) -> None:
    value = getattr(portcon, name)
    docstring = inspect.getdoc(value) or ""
    assert "Examples\n--------" in docstring, f"portcon.{name}: no numpydoc Examples section"
    finder = doctest.DocTestFinder(recurse=False)
    tests = [test for test in finder.find(value, f"portcon.{name}") if test.examples]
    assert tests, f"portcon.{name}: the Examples section has no >>> lines"
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for test in tests:
        test.globs = {"portcon": portcon, "__name__": "__doctest__"}
        old = Path.cwd()
        os.chdir(ROOT)
        try:
            result = runner.run(test, out=lambda text: pytest.fail(text))
        finally:
            os.chdir(old)
        assert result.failed == 0


def test_api_reference_lists_every_public_name() -> None:
    reference = (DOCS / "api.md").read_text(encoding="utf-8")
    missing = [name for name in PUBLIC if f"portcon.{name}\n" not in reference]
    assert not missing, f"docs/api.md does not document {missing}"
