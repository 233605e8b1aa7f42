"""Mail stage: read mailing-list input into classified messages, threads and series.

Public API (other stages depend on exactly these names)."""

from patchlint.mail.inputs import iter_inputs, iter_messages
from patchlint.mail.model import (
    Collection,
    InputError,
    Message,
    Series,
    SeriesProblem,
    SubjectInfo,
    Trailer,
)
from patchlint.mail.subject import parse_subject
from patchlint.mail.thread import collect, patch_problems
from patchlint.mail.trailers import parse_trailers

__all__ = [
    "Collection",
    "InputError",
    "Message",
    "Series",
    "SeriesProblem",
    "SubjectInfo",
    "Trailer",
    "collect",
    "iter_inputs",
    "iter_messages",
    "parse_subject",
    "parse_trailers",
    "patch_problems",
]
