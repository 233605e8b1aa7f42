"""Mail stage: read mailing-list input into classified messages, threads and series.

Public API (other stages depend on exactly these names). Message, Trailer, Series and
Collection are the stage's typed hand-off to the rest of the pipeline.
"""

from patchlint.mail.address import Address, parse_address, same_address, same_name, same_person
from patchlint.mail.inputs import iter_inputs, iter_messages
from patchlint.mail.model import (
    Collection,
    InputError,
    Message,
    Series,
    SeriesProblem,
    SubjectInfo,
    Trailer,
    TrailerSource,
)
from patchlint.mail.patchid import patch_id
from patchlint.mail.replies import applied_reply_trailers, patch_problems
from patchlint.mail.subject import parse_subject
from patchlint.mail.thread import collect, missing_text
from patchlint.mail.trailers import parse_trailers

__all__ = [
    "Address",
    "Collection",
    "InputError",
    "Message",
    "Series",
    "SeriesProblem",
    "SubjectInfo",
    "Trailer",
    "TrailerSource",
    "applied_reply_trailers",
    "collect",
    "iter_inputs",
    "iter_messages",
    "missing_text",
    "parse_address",
    "parse_subject",
    "parse_trailers",
    "patch_id",
    "patch_problems",
    "same_address",
    "same_name",
    "same_person",
]
