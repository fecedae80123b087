"""Awaiting one thing unless another comes first: a stop, or a turn another task asks for."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

T = TypeVar("T")


async def unless_first(work: Awaitable[T], interrupt: Awaitable[object]) -> T | None:
    """`work`'s result, or None when `interrupt` comes first: `work` is then cancelled and
    waited for, so its own clean-up (a scan that stops) is done before this returns."""
    working = asyncio.ensure_future(work)
    interrupting = asyncio.ensure_future(interrupt)
    try:
        await asyncio.wait({working, interrupting}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        interrupting.cancel()
        if not working.done():
            working.cancel()
            await asyncio.wait({working})
    return None if working.cancelled() else working.result()
