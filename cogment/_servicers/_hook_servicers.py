"""The gRPC servicers for pre-trial hooks (``TrialHooksSP``) and datalogs (``DatalogSP``)."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any, TypeAlias

import grpc
import grpc.aio

from cogment._datalog import DatalogSession
from cogment._log import logger
from cogment._parameters import TrialParameters
from cogment._prehook import PrehookSession
from cogment._servicers._common import HookImpl, metadata_value, status_reply, version_info
from cogment._servicers._runner import EOF
from cogment._specs import Specs
from cogment.api import common_pb2, datalog_pb2, datalog_pb2_grpc, hooks_pb2, hooks_pb2_grpc

__all__ = ["DatalogServicer", "PrehookServicer"]

Context: TypeAlias = "grpc.aio.ServicerContext[Any, Any]"


async def _ids(context: Context, what: str) -> tuple[str, str]:
    trial_id = metadata_value(context, "trial-id")
    user_id = metadata_value(context, "user-id")
    missing = [
        key
        for key, value in (("trial-id", trial_id or None), ("user-id", user_id))
        if value is None
    ]
    if missing:
        msg = f"{what} call without {' and '.join(missing)} metadata"
        logger.error(msg)
        await context.abort(grpc.StatusCode.INVALID_ARGUMENT, msg)
    assert trial_id is not None and user_id is not None
    return trial_id, user_id


class PrehookServicer(hooks_pb2_grpc.TrialHooksSPServicer):
    """Serves ``TrialHooksSP.OnPreTrial`` with the registered pre-trial hook."""

    def __init__(self, hook: HookImpl, specs: Specs) -> None:
        self._hook = hook
        self._specs = specs

    async def OnPreTrial(
        self, request: hooks_pb2.PreTrialParams, context: Context
    ) -> hooks_pb2.PreTrialParams:
        trial_id, user_id = await _ids(context, "OnPreTrial")
        where = f"Trial [{trial_id}] - pre-trial hook"
        params = TrialParameters.from_proto(self._specs.cog_settings, request.params, copy=False)
        session: PrehookSession[Any] = PrehookSession(trial_id, user_id, params)
        try:
            await self._hook.impl(session)
            session.validate()
            reply_params = session._reply_params()
        except asyncio.CancelledError:
            logger.debug("%s: cancelled", where)
            raise
        except Exception as exc:
            logger.error("%s: the hook implementation raised an exception", where, exc_info=exc)
            await context.abort(
                grpc.StatusCode.UNKNOWN, f"Pre-trial hook implementation raised {exc!r}"
            )
            raise  # pragma: no cover - abort raises
        return hooks_pb2.PreTrialParams(params=reply_params)

    async def Version(
        self, request: common_pb2.VersionRequest, context: Context
    ) -> common_pb2.VersionInfo:
        return version_info()

    async def Status(
        self, request: common_pb2.StatusRequest, context: Context
    ) -> common_pb2.StatusReply:
        return status_reply(request.names, None)


class DatalogServicer(datalog_pb2_grpc.DatalogSPServicer):
    """Serves ``DatalogSP.RunTrialDatalog`` with the registered datalog."""

    def __init__(self, datalog: HookImpl, specs: Specs) -> None:
        self._datalog = datalog
        self._specs = specs
        self._sessions: set[str] = set()

    async def RunTrialDatalog(  # type: ignore[override]  # pyright: ignore[reportIncompatibleMethodOverride]
        self, request_iterator: Any, context: Context
    ) -> None:
        trial_id, user_id = await _ids(context, "RunTrialDatalog")
        where = f"Trial [{trial_id}] - datalog"
        first = await context.read()
        if first is EOF:
            logger.info("%s: the orchestrator closed the stream before the parameters", where)
            return
        if first.WhichOneof("msg") != "trial_params":
            msg = f"{where}: the first message must be the trial parameters"
            logger.error(msg)
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, msg)
        params = TrialParameters.from_proto(self._specs.cog_settings, first.trial_params)
        session = DatalogSession(trial_id, user_id, params)
        user_task = asyncio.ensure_future(self._datalog.impl(session))
        reader = asyncio.ensure_future(self._read(context, session, where))
        self._sessions.add(trial_id)
        try:
            await user_task
        except asyncio.CancelledError:
            if not user_task.cancelled():
                raise
        except Exception as exc:
            logger.error("%s: the datalog implementation raised an exception", where, exc_info=exc)
            await context.abort(grpc.StatusCode.UNKNOWN, f"Datalog implementation raised {exc!r}")
        finally:
            self._sessions.discard(trial_id)
            for task in (user_task, reader):
                if not task.done():
                    task.cancel()
            for task in (user_task, reader):
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task  # errors were already logged

    async def _read(self, context: Context, session: DatalogSession, where: str) -> None:
        ended = common_pb2.ENDED
        try:
            while True:
                request: Any = await context.read()
                if request is EOF:
                    logger.debug("%s: the orchestrator closed the stream", where)
                    return
                if request.WhichOneof("msg") == "sample":
                    sample: datalog_pb2.DatalogSample = request.sample
                    session._new_sample(sample)
                    if sample.info.state == ended:
                        return
                else:
                    logger.warning("%s: unexpected message ignored", where)
        except grpc.aio.AioRpcError as exc:
            logger.warning("%s: stream failed: %s", where, exc.code())
        finally:
            session._end()

    async def Version(
        self, request: common_pb2.VersionRequest, context: Context
    ) -> common_pb2.VersionInfo:
        return version_info()

    async def Status(
        self, request: common_pb2.StatusRequest, context: Context
    ) -> common_pb2.StatusReply:
        return status_reply(request.names, len(self._sessions))
