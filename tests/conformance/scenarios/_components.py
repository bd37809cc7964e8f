"""Generic environment and actor implementations, steered per scenario by small script objects.

Every component records what it receives into the run's trace:

- environment ``env``: ``init`` (impl, config, actors), ``actions`` per action set (in order),
  ``message`` (unordered), ``final``, ``exit``;
- actor ``actor:<name>``: ``init`` (class, impl, env, config), ``rewards`` and ``observation`` (in
  order), ``message`` (unordered), ``final``, ``exit``;
- datalog ``datalog``: ``init`` (user, parameters), ``sample`` per sample (in order), ``exit``.
"""

from __future__ import annotations

import json
from typing import Any

import cog_settings
from _common import Run, action_data, message_data, observation_data, proto_data, reward_data

import cogment

ACTIVE = cogment.EventType.ACTIVE
ENDING = cogment.EventType.ENDING
FINAL = cogment.EventType.FINAL


def default_observation(actor_name: str, class_name: str, tick: int) -> Any:
    """The observation the generic environment sends ``actor_name`` at ``tick``."""
    if class_name == "referee":
        return cog_settings.actor_classes.referee.observation_space(
            step=tick, scores=[f"{actor_name}:{tick}"]
        )
    return cog_settings.actor_classes.player.observation_space(
        step=tick, seen=f"{actor_name}@{tick}"
    )


def default_action(session: Any, tick: int) -> Any:
    """The action the generic actor sends at ``tick`` (depends on its config when it has one)."""
    config = session.config
    if session.actor_class == "referee":
        strict = bool(config.strict) if config is not None else False
        return cog_settings.actor_classes.referee.action_space(
            whistle=(tick % 2 == 0) or strict, card=tick
        )
    strength = config.strength if config is not None else 0
    return cog_settings.actor_classes.player.action_space(
        move=tick * 10 + strength, said=f"{session.name}:{tick}"
    )


class EnvScript:
    """What a scenario changes in the generic environment."""

    #: End the trial from the environment after the action set of this tick (``None``: never).
    end_after: int | None = None
    #: ``start(auto_done_sending=...)``; when False the env calls ``sending_done()`` after ``end``.
    auto_done_sending: bool = True
    #: Send every observation as ``("*", obs)`` (only for trials whose actors share a space).
    broadcast: bool = False

    def observation(self, actor_name: str, class_name: str, tick: int) -> Any:
        return default_observation(actor_name, class_name, tick)

    async def on_start(self, run: Run, session: Any) -> None:
        """Called after ``start()`` (initial observations sent)."""

    async def on_actions(self, run: Run, session: Any, tick: int, event: Any) -> bool:
        """Called on each action set, before replying; return False to not reply at all."""
        return True


class ActorScript:
    """What a scenario changes in the generic actor."""

    #: Whether the actor answers observations with ``do_action``.
    acts: bool = True
    #: ``start(auto_done_sending=...)``; when False the actor calls ``sending_done()`` on ENDING.
    auto_done_sending: bool = True

    def action(self, session: Any, tick: int, event: Any) -> Any:
        return default_action(session, tick)

    async def on_observation(self, run: Run, session: Any, tick: int, event: Any) -> None:
        """Called on each ACTIVE observation before acting (may send, may raise)."""


def register_environment(run: Run, impl_name: str, script: EnvScript) -> None:
    """Register the generic environment under ``impl_name``."""

    async def environment(session: Any) -> None:
        trial_id = session.get_trial_id()
        run.enter(trial_id)
        try:
            await _environment(run, script, session)
        finally:
            run.leave(trial_id)

    run.context.register_environment(impl=environment, impl_name=impl_name)


async def _environment(run: Run, script: EnvScript, session: Any) -> None:
    trial_id = session.get_trial_id()

    def record(kind: str, ordered: bool = True, **data: Any) -> None:
        run.trace.add(trial_id, "env", kind, ordered, **data)

    actors = session.get_active_actors()
    record(
        "init",
        name=session.name,
        impl=session.impl_name,
        config=proto_data(session.config),
        actors=[[each.actor_name, each.actor_class_name] for each in actors],
    )

    def observations(tick: int) -> list[Any]:
        if script.broadcast:
            return [("*", script.observation("*", "player", tick))]
        return [
            (each.actor_name, script.observation(each.actor_name, each.actor_class_name, tick))
            for each in actors
        ]

    session.start(observations(0), auto_done_sending=script.auto_done_sending)
    await script.on_start(run, session)
    tick = 0
    ended = False
    last = None
    async for event in session.all_events():
        last = event.type.name
        for message in event.messages:
            record("message", ordered=False, **message_data(message))
        if event.actions:
            record(
                "actions",
                type=event.type.name,
                tick=tick,
                session_tick=session.get_tick_id(),
                actions=[action_data(each) for each in event.actions],
            )
            if ended:
                continue
            reply = await script.on_actions(run, session, tick, event)
            tick += 1
            if not reply:
                continue
            if event.type == ENDING or script.end_after == tick - 1:
                session.end(observations(tick))
                ended = True
                if not script.auto_done_sending:
                    session.sending_done()
            else:
                session.produce_observations(observations(tick))
        elif event.type == FINAL:
            record("final")
    record("exit", last=last, over=session.is_trial_over())


def register_actor(run: Run, impl_name: str, classes: list[str], script: ActorScript) -> None:
    """Register the generic actor under ``impl_name`` for ``classes``."""

    async def actor(session: Any) -> None:
        trial_id = session.get_trial_id()
        run.enter(trial_id)
        try:
            await _actor(run, script, session)
        finally:
            run.leave(trial_id)

    run.context.register_actor(impl=actor, impl_name=impl_name, actor_classes=classes)


async def _actor(run: Run, script: ActorScript, session: Any) -> None:
    trial_id = session.get_trial_id()
    who = f"actor:{session.name}"

    def record(kind: str, ordered: bool = True, **data: Any) -> None:
        run.trace.add(trial_id, who, kind, ordered, **data)

    record(
        "init",
        actor_class=session.actor_class,
        impl=session.impl_name,
        env=session.env_name,
        config=proto_data(session.config),
    )
    session.start(auto_done_sending=script.auto_done_sending)
    last = None
    async for event in session.all_events():
        last = event.type.name
        for message in event.messages:
            record("message", ordered=False, **message_data(message))
        if event.rewards:
            record("rewards", type=event.type.name, rewards=[reward_data(r) for r in event.rewards])
        if event.observation is not None:
            tick = event.observation.tick_id
            record(
                "observation",
                type=event.type.name,
                session_tick=session.get_tick_id(),
                **observation_data(event.observation),
            )
            if event.type == ENDING and not script.auto_done_sending:
                session.sending_done()
            if event.type == ACTIVE:
                await script.on_observation(run, session, tick, event)
                if script.acts:
                    session.do_action(script.action(session, tick, event))
        if event.type == FINAL:
            record("final")
    record("exit", last=last, over=session.is_trial_over())


def register_datalog(run: Run) -> None:
    """Register the recording datalog."""

    async def datalog(session: Any) -> None:
        trial_id = session.trial_id
        run.enter(trial_id)
        try:
            await _datalog(run, session)
        finally:
            run.leave(trial_id)

    run.context.register_datalog(impl=datalog)


def _sample_data(sample: Any, names: list[str]) -> dict[str, Any]:
    actions = {}
    observations = {}
    for name in names:
        action = sample.get_action(name)
        actions[name] = None if action is None else action_data(action)
        observation = sample.get_observation(name)
        observations[name] = None if observation is None else observation_data(observation)
    rewards = sorted(
        (reward_data(each) for each in sample.all_rewards()),
        key=lambda r: json.dumps(r, sort_keys=True),
    )
    messages = sorted(
        (message_data(each) for each in sample.all_messages()),
        key=lambda m: json.dumps(m, sort_keys=True),
    )
    return {
        "tick": sample.tick_id,
        "out_of_sync": sample.out_of_sync,
        "state": sample.state.name if sample.state is not None else None,
        "events": None if sample.events is None else list(sample.events),
        "actions": actions,
        "observations": observations,
        "rewards": rewards,
        "messages": messages,
    }


async def _datalog(run: Run, session: Any) -> None:
    trial_id = session.trial_id
    params = session.trial_parameters
    names = [actor.name for actor in params.actors]
    run.trace.add(
        trial_id, "datalog", "init", user=session.user_id, parameters=run.params_data(params)
    )
    session.start()
    async for sample in session.all_samples():
        run.trace.add(trial_id, "datalog", "sample", **_sample_data(sample, names))
    run.trace.add(trial_id, "datalog", "exit")
