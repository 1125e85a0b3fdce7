"""A refused command ends its flow run Failed, with the reason in one line and no traceback.

A flow that raises is logged by Prefect with its whole traceback, which buries the one line a
coordinator needs. An expected refusal (``MobilityError``: bad input, an illegal transition,
someone who may not act; or input a model refused) is returned as a ``Failed`` state whose
message is the reason; anything else still raises, with its traceback, because it is a bug or
an outage someone has to look into.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, ParamSpec, TypeVar

from pydantic import ValidationError

from states.errors import MobilityError

P = ParamSpec("P")
R = TypeVar("R")

EXPECTED: tuple[type[Exception], ...] = (MobilityError, ValidationError)


def one_line(error: Exception) -> str:
    """The reason as one line: a model's errors as ``field: message; …``, a multi-line
    refusal (every error of a file) with its lines joined."""
    if isinstance(error, ValidationError):
        return "; ".join(
            f"{'.'.join(str(part) for part in problem['loc']) or 'input'}: "
            f"{problem['msg'].removeprefix('Value error, ')}"
            for problem in error.errors()
        )
    return "; ".join(line.strip() for line in str(error).splitlines() if line.strip())


def refusals_fail(
    fn: Callable[P, Awaitable[R]],
) -> Callable[P, Coroutine[Any, Any, R | Any]]:
    """Wrap a flow's function (under ``@flow``): an expected refusal becomes a Failed state."""

    @functools.wraps(fn)
    async def run(*args: P.args, **kwargs: P.kwargs) -> R | Any:
        try:
            return await fn(*args, **kwargs)
        except EXPECTED as error:
            from prefect import get_run_logger
            from prefect.states import Failed

            message = one_line(error)
            get_run_logger().error("Refused: %s", message)
            return Failed(message=message)

    # The signature with its annotations resolved where the flow is written: Prefect reads it
    # for the form and the validation, and would look string annotations up in this module.
    run.__signature__ = inspect.signature(fn, eval_str=True)  # type: ignore[attr-defined]
    return run


def refusal_as_error(call: Coroutine[Any, Any, R]) -> R:
    """Run a flow from the command line: a refusal is a ``MobilityError`` again (the CLI prints
    its one line); an unexpected error still raises as itself."""
    import asyncio

    from prefect.exceptions import FailedRun

    try:
        return asyncio.run(call)
    except FailedRun as refused:  # a Failed state the flow returned: a refusal
        raise MobilityError(str(refused)) from None
