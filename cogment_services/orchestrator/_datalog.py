"""Datalog recording of one trial: one ``DatalogSample`` per tick, buffered, streamed to DatalogSP.

- The stream is opened at StartTrial; its first message is the final ``trial_params``.
- A sample is created at each ObservationSet; ``info.state`` is the trial state when the next
  sample is created (the last sample gets ENDED).
- After each non-final tick, samples are sent until ``nb_buffered_ticks - 1`` remain, so a
  reward for a recent past tick can still be added to its sample; at the end all are flushed.
- A reward for a tick whose sample already left is sent at once as an out-of-sync sample.
- ``exclude_fields`` clears fields in every sample (case-sensitive names).
- A failure is logged once; later samples are dropped and the trial goes on.
- Unlike the reference (which waits for garbage collection), the stream is half-closed when
  the trial ends, after the last sample.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque

from cogment.api import common_pb2, datalog_pb2, environment_pb2

from ._links import DatalogLink, LinkError

__all__ = ["DatalogRecorder", "placeholder_action"]

_log = logging.getLogger("cogment.services.orchestrator")

OUT_OF_SYNC_EVENT = "Out of sync reward"


def placeholder_action() -> common_pb2.Action:
    """The action logged for a missing/defaulted actor: tick -2, empty content."""
    return common_pb2.Action(tick_id=-2)


class DatalogRecorder:
    """Buffers and streams the samples of one trial."""

    def __init__(
        self,
        link: DatalogLink,
        trial_id: str,
        nb_actors: int,
        nb_buffered_ticks: int,
        exclude_fields: list[str],
    ) -> None:
        self._link = link
        self._trial_id = trial_id
        self._nb_actors = nb_actors
        self._keep = max(1, nb_buffered_ticks - 1)
        self._exclude = [name for name in exclude_fields]
        self._buffer: deque[datalog_pb2.DatalogSample] = deque()
        self._failed = False
        self._queue: asyncio.Queue[datalog_pb2.RunTrialDatalogInput | None] = asyncio.Queue()
        self._writer: asyncio.Task[None] | None = None
        self._drainer: asyncio.Task[None] | None = None

    # -- stream --------------------------------------------------------------------------------

    def start(self, params: common_pb2.TrialParams) -> None:
        """Queue the ``trial_params`` header and start the writer task."""
        self._queue.put_nowait(datalog_pb2.RunTrialDatalogInput(trial_params=params))
        self._writer = asyncio.create_task(self._write_loop(), name=f"datalog-{self._trial_id}")
        self._drainer = asyncio.create_task(self._drain_replies(), name="datalog-replies")

    async def _write_loop(self) -> None:
        while True:
            message = await self._queue.get()
            if message is None:
                break
            if self._failed:
                continue
            try:
                await self._link.send(message)
            except LinkError as error:
                self._fail(error)
        with contextlib.suppress(LinkError):
            await self._link.close()

    async def _drain_replies(self) -> None:
        # Replies carry nothing; read them so the peer's flow control never blocks.
        try:
            while await self._link.receive() is not None:
                pass
        except LinkError as error:
            self._fail(error)

    def _fail(self, error: BaseException) -> None:
        if not self._failed:
            self._failed = True
            _log.warning(
                "Trial [%s]: datalog failed, samples are dropped from now on: %s",
                self._trial_id,
                error,
            )

    def _emit(self, sample: datalog_pb2.DatalogSample) -> None:
        if self._failed:
            return
        for name in self._exclude:
            with contextlib.suppress(ValueError):
                sample.ClearField(name)  # type: ignore[arg-type]
        self._queue.put_nowait(datalog_pb2.RunTrialDatalogInput(sample=sample))

    # -- samples -------------------------------------------------------------------------------

    @property
    def current(self) -> datalog_pb2.DatalogSample | None:
        """The sample of the current tick (None before the first observation)."""
        return self._buffer[-1] if self._buffer else None

    def new_sample(
        self,
        tick_id: int,
        observations: environment_pb2.ObservationSet,
        previous_state: int,
    ) -> datalog_pb2.DatalogSample:
        """Create the sample of tick ``tick_id``; the previous sample gets ``previous_state``."""
        if self._buffer:
            self._buffer[-1].info.state = previous_state  # type: ignore[assignment]
        sample = datalog_pb2.DatalogSample()
        sample.info.tick_id = tick_id
        sample.info.timestamp = time.time_ns()
        sample.observations.CopyFrom(observations)
        self._buffer.append(sample)
        return sample

    def add_special_event(self, text: str) -> None:
        """Add an event to the newest sample (or send it alone if there is none yet)."""
        if self._buffer:
            self._buffer[-1].info.special_events.append(text)

    def add_reward(self, reward: common_pb2.Reward, tick_id: int, current_tick: int) -> None:
        """Log a reward as received (sender names filled) in the sample of ``tick_id``."""
        if not self._buffer:
            return
        if tick_id < 0 or tick_id >= current_tick:
            self._buffer[-1].rewards.append(reward)
            return
        for sample in self._buffer:
            if sample.info.tick_id == tick_id:
                sample.rewards.append(reward)
                return
        self._out_of_sync(reward, tick_id)

    def _out_of_sync(self, reward: common_pb2.Reward, tick_id: int) -> None:
        sample = datalog_pb2.DatalogSample()
        sample.info.out_of_sync = True
        sample.info.tick_id = tick_id
        sample.info.timestamp = time.time_ns()
        sample.info.state = common_pb2.UNKNOWN
        sample.info.special_events.append(OUT_OF_SYNC_EVENT)
        sample.rewards.append(reward)
        self._emit(sample)

    def add_message(self, message: common_pb2.Message) -> None:
        """Log a message (as received, sender name filled) in the current sample."""
        if self._buffer:
            self._buffer[-1].messages.append(message)

    def send_ready(self) -> None:
        """Send the samples beyond the buffer size (after a non-final tick)."""
        while len(self._buffer) > self._keep:
            self._emit(self._buffer.popleft())

    def finish(self, final_state: int) -> None:
        """Mark the last sample ``final_state`` (ENDED), flush everything and close the stream."""
        if self._buffer:
            last = self._buffer[-1]
            last.info.state = final_state  # type: ignore[assignment]
            if len(last.actions) == 0:
                for _ in range(self._nb_actors):
                    last.actions.append(placeholder_action())
        while self._buffer:
            self._emit(self._buffer.popleft())
        self._queue.put_nowait(None)

    async def wait_closed(self, timeout: float = 5.0) -> None:
        """Wait (bounded) for the writer to send everything and close the stream."""
        tasks = [task for task in (self._writer, self._drainer) if task is not None]
        if not tasks:
            return
        _done, pending = await asyncio.wait(tasks, timeout=timeout)
        for task in pending:
            task.cancel()
        if pending:
            self._link.abort()
