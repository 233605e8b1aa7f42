"""`patchlint rules` lists the rules; `patchlint explain RULE` prints one's documentation.

The module exposes two click commands: `command` (rules) and `explain_command`, also
listed in EXTRA_COMMANDS for the CLI to register.
"""

from __future__ import annotations

import difflib
import json
import textwrap

import click


@click.command("rules")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable list.")
@click.option("--family", help="Only rules of this family (rcu-tasklist, thread-group, mail).")
def command(as_json: bool, family: str | None) -> None:
    """List the rules: id, default severity, family and summary."""
    from patchlint.rules import all_rules, load_rule

    metas = [m for m in all_rules() if family is None or m.family == family]
    if as_json:
        click.echo(
            json.dumps(
                [
                    {
                        "id": m.id,
                        "name": m.name,
                        "severity": m.severity,
                        "confidence": m.confidence,
                        "family": m.family,
                        "scope": m.scope,
                        "facts": list(load_rule(m).facts),
                        "module": m.module,
                        "summary": m.summary,
                        "doc": m.doc,
                    }
                    for m in metas
                ],
                indent=2,
            )
        )
        return
    if not metas:
        click.echo("no rules match")
        return
    width = max(len(m.id) for m in metas)
    family_width = max(len(m.family) for m in metas)
    for meta in metas:
        head = f"{meta.id:<{width}}  {meta.severity:<7}  {meta.family:<{family_width}}  "
        wrapped = textwrap.wrap(meta.summary, width=max(40, 100 - len(head))) or [""]
        click.echo(head + wrapped[0])
        for line in wrapped[1:]:
            click.echo(" " * len(head) + line)


@click.command("explain")
@click.argument("rule_id")
def explain_command(rule_id: str) -> None:
    """Print the documentation of RULE_ID."""
    from patchlint.rules import all_rules, get_rule, load_rule

    meta = get_rule(rule_id)
    if meta is None:
        known = [m.id for m in all_rules()]
        close = difflib.get_close_matches(rule_id, known, n=3)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise click.UsageError(f"unknown rule {rule_id!r}{hint}; `patchlint rules` lists them")
    click.echo(f"{meta.id}: {meta.name}")
    click.echo(
        f"severity {meta.severity}, confidence {meta.confidence}, family {meta.family}, "
        f"scope {meta.scope}, facts {', '.join(load_rule(meta).facts) or 'none'}"
    )
    click.echo("")
    click.echo(textwrap.fill(meta.summary, width=88))
    path = meta.doc_path
    try:
        text = meta.doc_text()
    except OSError:
        click.echo("")
        click.echo(f"(No documentation page yet: {path} does not exist.)")
        return
    click.echo("")
    click.echo(text.rstrip("\n"))


EXTRA_COMMANDS = (explain_command,)
