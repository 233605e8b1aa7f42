"""The reviewer report: the shared model, the HTML file and the Markdown file."""

from __future__ import annotations

import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
from report_sample import REPO, build_result

from patchlint.report.html import render_html
from patchlint.report.markdown import md, render_markdown
from patchlint.report.reviewer import build_report, missing_items, patch_status

SEED = REPO / "fixtures" / "mail" / "seed-v9-thread.mbox"


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.hrefs: list[str] = []
        self.tags: set[str] = set()
        self.open: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        values = dict(attrs)
        if values.get("id"):
            self.ids.add(values["id"] or "")
        if tag == "a" and values.get("href"):
            self.hrefs.append(values["href"] or "")


def parse(html: str) -> _Collector:
    collector = _Collector()
    collector.feed(html)
    return collector


def test_model_overview() -> None:
    report = build_report(build_result())
    patch = report.patches[0]
    assert report.title == "Do not freeze OOM victims"
    assert patch.position == "1/2" and patch.version == 9
    assert patch.status == "findings"
    assert [v.finding.rule for v in patch.introduced] == ["thread-action-on-group"]
    assert [v.finding.rule for v in patch.resolved] == ["thread-flag-as-group"]
    assert [v.finding.rule for v in patch.suppressed] == ["task-iter-unlocked"]
    assert any("mhocko@kernel.org" in item for item in patch.missing)
    assert patch.trailers[1].reply_anchor == "reply-2"


def test_excerpts_pre_and_post() -> None:
    view = build_report(build_result()).patches[0].introduced[0]
    pre, post = view.excerpts
    assert (pre.image, post.image) == ("pre-image", "post-image")
    focus = [line for line in post.lines if line.mark == "focus"]
    assert len(focus) == 1 and "__thaw_task(t);" in focus[0].text
    assert any(line.mark == "added" for line in post.lines)
    resolved = build_report(build_result()).patches[0].resolved[0]
    pre_focus = next(line for line in resolved.excerpts[0].lines if line.mark == "focus")
    post_focus = next(line for line in resolved.excerpts[1].lines if line.mark == "focus")
    assert "test_tsk_thread_flag" in pre_focus.text
    assert "tsk_is_oom_victim" in post_focus.text


def test_statuses_and_missing() -> None:
    result = build_result()
    patch = result.patches[0]
    patch.findings = []
    assert patch_status(patch) == "clean"
    patch.partial = True
    assert patch_status(patch) == "partial analysis"
    patch.files[1].apply_state = "does not apply"
    assert patch_status(patch) == "does not apply"
    message = patch.message
    message.trailers = message.trailers[1:]
    assert "no Signed-off-by" in missing_items(message)


def test_discussion_links_quoted_hunk() -> None:
    report = build_report(build_result())
    reply = report.replies[0]
    assert reply.answers == "patch-1"
    assert [t.tag for t in reply.trailers] == ["Acked-by"]
    hunk = next(h for h in report.patches[0].hunks if h.anchor == reply.quotes[0].anchor)
    assert hunk.path == "kernel/freezer.c" and hunk.header.startswith("@@ -40,7")
    # The reviewer's own words, the quoted context collapsed to the line they answer.
    assert "right question" in reply.text
    assert reply.text.startswith("> [… 1 quoted line …]\n> +\tif (tsk_is_oom_victim(p))\n")


def test_own_words_collapse_quotes_and_drop_attribution_and_signature() -> None:
    from patchlint.report.reviewer import own_words

    body = (
        "On Mon, 3 Mar 2025, Alice wrote:\n> one\n> two\n>\n> three\n\n"
        "This needs a lock.\n\n> four\nAgreed otherwise.\n\n> tail quote\n-- \nBob\n"
    )
    assert own_words(body) == (
        "> [… 3 quoted lines …]\n> three\nThis needs a lock.\n\n> four\nAgreed otherwise."
    )


def test_report_keeps_reply_bodies_and_check_drops_them() -> None:
    from patchlint.mail import iter_messages
    from patchlint.pipeline import CheckOptions, run_check

    seed = REPO / "fixtures" / "mail" / "seed-v9-thread.mbox"
    kept = run_check(iter_messages(str(seed)), CheckOptions(simulate=False), ["s"])
    assert all(m.body for m in kept.messages if m.kind == "reply")
    dropped = run_check(
        iter_messages(str(seed)), CheckOptions(simulate=False, keep_images=False), ["s"]
    )
    assert not any(m.body for m in dropped.messages)


def test_html_self_contained_and_escaped() -> None:
    html = render_html(build_result())
    parsed = parse(html)
    for anchor in (
        "toc",
        "overview",
        "patch-1",
        "patch-1-introduced",
        "patch-1-resolved",
        "patch-1-simulation",
        "discussion",
        "reply-2",
    ):
        assert anchor in parsed.ids, anchor
    internal = [h[1:] for h in parsed.hrefs if h.startswith("#")]
    assert internal and all(target in parsed.ids for target in internal)
    assert not {"script", "link", "img", "iframe"} & parsed.tags
    assert "http://" not in html.replace('"http://www.w3.org', "") and "https://" not in html
    assert "<script>alert" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;indeed&gt;" in html
    assert "@media print" in html
    assert re.search(r'<span class="focus"><span class="ln">\d+</span>\t\t__thaw_task\(t\);', html)
    assert "victim-thread-2" in html and "the patch fixes the scenario" in html
    documented = [r for r in build_report(build_result()).rules if r.doc_text]
    for rule in documented:  # the pages travel with the report
        assert f'id="rule-{rule.id}"' in html and f'href="#rule-{rule.id}"' in html


def test_markdown() -> None:
    text = render_markdown(build_result())
    assert text.startswith("# Do not freeze OOM victims\n")
    assert "## Series overview" in text and "## Review discussion" in text
    assert "| Task | Before the patch | After the patch | Details |" in text
    assert "| `victim-thread-2` | fails | holds | stays frozen → thawed |" in text
    assert "\\<script\\>alert(1)\\</script\\>" in text
    anchors = set(re.findall(r'<a name="([^"]+)"', text))
    links = set(re.findall(r"\]\(#([^)]+)\)", text))
    assert links and links <= anchors
    assert "\n# " not in text.split("## Rule documentation", 1)[-1]
    assert "> 222 |" in text or re.search(r"^> \d+ \| \t\t__thaw_task\(t\);$", text, re.M)


def test_markdown_escape() -> None:
    assert md("a|b *c* <d> [e](f)") == "a\\|b \\*c\\* \\<d\\> \\[e\\](f)"


def test_patch_without_images_or_tree() -> None:
    result = build_result(simulate=False)
    result.patches[0].images = {}
    html = render_html(result)
    assert "patch-1-simulation" not in html
    assert "Findings introduced (1)" in html


@pytest.mark.kernel
@pytest.mark.slow
def test_report_command_on_seed_thread(
    seed_report_html: Path, kernel_tree: Path, tmp_path: Path
) -> None:
    html = seed_report_html.read_text(encoding="utf-8")
    assert "Review discussion" in html and "Michal Hocko" in html
    assert "Acked-by" in html and "Reviewed-by" in html
    assert 'class="simulation"' in html
    out = tmp_path / "report.md"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "patchlint",
            "report",
            "--no-simulate",
            "--tree",
            str(kernel_tree),
            str(SEED),
            "-o",
            str(out),
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert run.returncode == 0, run.stderr
    text = out.read_text(encoding="utf-8")
    assert "## Review discussion" in text and "Reviewed-by" in text


def test_report_command_rejects_unknown_suffix(tmp_path: Path) -> None:
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "patchlint",
            "report",
            "--no-tree",
            str(SEED),
            "-o",
            str(tmp_path / "report.pdf"),
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert run.returncode == 2 and ".html or .md" in run.stderr


def test_excerpt_marks_follow_the_hunk_apply_offset() -> None:
    from patchlint.report.reviewer import _DiffMap

    diff = (
        "diff --git a/f.c b/f.c\n--- a/f.c\n+++ b/f.c\n"
        "@@ -10,3 +10,3 @@\n a\n-b\n+B\n c\n"
        "@@ -30,2 +30,3 @@\n x\n+y\n z\n"
    )
    plain = _DiffMap(diff)
    assert plain.added["f.c"] == {11, 31} and plain.removed["f.c"] == {11}
    # The first hunk applied 5 lines lower, the second 2 lines higher.
    shifted = _DiffMap(diff, {"f.c": [5, -2]})
    assert shifted.added["f.c"] == {16, 29} and shifted.removed["f.c"] == {16}
    assert shifted.counterpart("f.c", 17, True) == 17
