"""Sleeps chosen by argument values: a callee's tests of its parameters, judged per
call (analysis.guards.decide) and for inherited sleeps (recall case 028)."""

from __future__ import annotations

from patchlint.analysis.facts import FileFacts
from patchlint.analysis.guards import ALWAYS, NEVER, OPEN, UNDECIDED, decide, flag_values
from patchlint.analysis.inherited import inherited_sleep
from patchlint.analysis.sleep import SleepSummary, sleep_summary
from patchlint.source.parse import parse_c

CODE = """
#define REQ_NOSEND 4
#define REQ_SYNC BIT(1)

struct demo { spinlock_t lock; int running; struct completion done; };

static void unhook(struct demo *d, bool sync)
{
	d->running = 0;
	if (sync)
		synchronize_net();
}

static int request(struct demo *d, int flags)
{
	if (flags & REQ_NOSEND)
		return 0;
	if ((flags & REQ_SYNC) && d->running)
		wait_for_completion(&d->done);
	return 0;
}

static void rewritten(struct demo *d, bool sync)
{
	sync = sync || d->running;
	if (sync)
		synchronize_net();
}

void with_lock(struct demo *d)
{
	spin_lock(&d->lock);
	unhook(d, true);
	spin_unlock(&d->lock);
}

void without_lock(struct demo *d)
{
	unhook(d, false);
}
"""


def _summary(name: str) -> tuple[FileFacts, SleepSummary]:
    source = parse_c(CODE, "t.c")
    ff = FileFacts(source, "t.c")
    fn = source.function(name)
    assert fn is not None
    summary = sleep_summary(ff, fn)
    assert isinstance(summary, SleepSummary) and summary.guarded
    return ff, summary


def test_bool_parameter_decides_per_value() -> None:
    _, summary = _summary("unhook")
    assert summary.when == (((1, "", True),),)
    assert decide(summary.when, ("d", "true"), None) == ALWAYS
    assert decide(summary.when, ("d", "false"), None) == NEVER
    assert decide(summary.when, ("d", "1"), None) == ALWAYS
    # Another function's variable: unknown.
    assert decide(summary.when, ("d", "wait"), None) is None


def test_flags_by_the_files_values() -> None:
    ff, summary = _summary("request")
    values = flag_values(ff.source.text)
    assert values == {"REQ_NOSEND": 4, "REQ_SYNC": 2}
    assert decide(summary.when, ("d", "REQ_NOSEND"), None, values) == NEVER
    assert decide(summary.when, ("d", "0"), None, values) == NEVER
    # The flag tests pass; the object's state (d->running) still guards the wait.
    assert decide(summary.when, ("d", "REQ_SYNC"), None, values) == OPEN
    # Without the values: REQ_NOSEND among the flags takes the early return by name.
    assert decide(summary.when, ("d", "REQ_SYNC|REQ_NOSEND"), None) == NEVER
    assert decide(summary.when, ("d", "OTHER"), None) is None


def test_written_parameter_is_undecided() -> None:
    _, summary = _summary("rewritten")
    assert summary.when == ((UNDECIDED,),)
    assert decide(summary.when, ("d", "false"), None) is None


def test_inherited_sleep_skips_callers_kept_off_by_their_constant() -> None:
    source = parse_c(CODE, "t.c")
    ff = FileFacts(source, "t.c")
    fn = source.function("unhook")
    assert fn is not None
    found = inherited_sleep(ff, fn)
    assert found is not None and found.call.name == "synchronize_net"
    assert [name for _path, name, _line in found.callers.chain] == ["with_lock"]


def test_constant_mark_is_per_callee_across_files() -> None:
    """A variable passed to one external callee does not lift the constant passed to
    another on the same path (macii_queue_poll(): ffs(x) and adb_request(..,
    ADBREQ_NOSEND, ..)): each name keeps its own mark for the table's answer."""
    from patchlint.analysis.external import TREE_KEY, DeferringSummaries
    from patchlint.analysis.sleep import Deferred

    code = """
static void queue_poll(struct demo *d)
{
	d->running = ffs(d->running);
	other_request(d, REQ_NOSEND, 1);
}

void interrupt(struct demo *d)
{
	spin_lock(&d->lock);
	queue_poll(d);
	spin_unlock(&d->lock);
}
"""
    source = parse_c(code, "t.c")
    ff = FileFacts(source, "t.c")
    ff.memo[TREE_KEY] = DeferringSummaries()
    fn = source.function("queue_poll")
    assert fn is not None
    summary = sleep_summary(ff, fn)
    assert isinstance(summary, Deferred)
    assert set(summary.names) == {"ffs", "other_request"}
    assert summary.constant == frozenset({"other_request"})


def test_a_label_between_the_test_and_the_sleep_undecides_it() -> None:
    code = """
static void settle(struct demo *d, int flags)
{
	if (flags & REQ_NOSEND)
		goto wait;
	d->running = 1;
wait:
	msleep(10);
}
"""
    source = parse_c(code, "t.c")
    ff = FileFacts(source, "t.c")
    fn = source.function("settle")
    assert fn is not None
    summary = sleep_summary(ff, fn)
    # The goto lands on the sleep: it sleeps whatever the flags.
    assert isinstance(summary, SleepSummary) and not summary.guarded
