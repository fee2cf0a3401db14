"""How a failure is put in one line, for the job's error_message and the Dagster step alike."""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError

from listings_pipeline.configs.loader import ConfigError
from listings_pipeline.importing.connectors import ImportFailed
from listings_pipeline.locks import SourceBusy
from listings_pipeline.net.secrets import mask
from listings_pipeline.promotion.promote import PromotionRefused
from listings_pipeline.review.source_change import SourceChangeFailed

MESSAGE_LIMIT = 2000  # characters; the full chain stays in the step's log


class StageNotReady(Exception):
    """A stage was asked to run before the stage it depends on completed."""


class JobSuperseded(Exception):
    """A newer job of the same source has started its transform: this one is out of date."""


# Errors whose message already says what is wrong; shown without the exception's class name.
EXPLAINED = (
    ImportFailed,
    StageNotReady,
    PromotionRefused,
    ConfigError,
    SourceBusy,
    JobSuperseded,
    SourceChangeFailed,
)


def describe(err: BaseException) -> str:
    """One readable line (or a few: a database error keeps its DETAIL and HINT) for `err`."""
    if isinstance(err, EXPLAINED):
        message = str(err)
    elif isinstance(err, DBAPIError) and err.orig is not None:
        # The driver's message without the statement and parameters SQLAlchemy appends: they
        # can be pages long and hold record data.
        message = f"{type(err.orig).__name__}: {str(err.orig).strip()}"
    else:
        message = f"{type(err).__name__}: {err}"
    message = mask(message)  # a secret value a connector read never reaches a job row
    return message if len(message) <= MESSAGE_LIMIT else message[: MESSAGE_LIMIT - 1] + "…"
