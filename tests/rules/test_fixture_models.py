"""The thread-group fixtures each carry a copy of the miniature kernel.

A fixture file is its own tree when no tree is given, so it cannot include a shared
header; the copies must stay equal to one of the two models in fixtures/taskscope/,
or the fixtures would silently test different kernels.
"""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
MODELS = {
    path.name: path.read_text(encoding="utf-8")
    for path in sorted((REPO / "fixtures" / "taskscope").glob("model*.h"))
}
START = "/*\n * A kernel in miniature"
END = "/* end of the miniature kernel */\n"
CARRIERS = sorted(
    path
    for path in (REPO / "fixtures" / "rules").rglob("*.c")
    if START in path.read_text(encoding="utf-8")
)


def embedded_model(text: str) -> str:
    start = text.index(START)
    return text[start : text.index(END, start) + len(END)]


def test_models_are_whole_blocks() -> None:
    assert set(MODELS) == {"model.h", "model-extended.h"}
    for text in MODELS.values():
        assert embedded_model(text) == text


def test_there_are_carriers() -> None:
    assert len(CARRIERS) >= 7


@pytest.mark.parametrize("path", CARRIERS, ids=lambda path: path.name)
def test_fixture_carries_a_model_verbatim(path: Path) -> None:
    block = embedded_model(path.read_text(encoding="utf-8"))
    matching = [name for name, text in MODELS.items() if text == block]
    assert matching, f"{path.relative_to(REPO)}: its miniature kernel differs from every model"
