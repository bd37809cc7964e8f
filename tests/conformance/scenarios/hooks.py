# mypy: allow-subclassing-any
"""pre-trial hooks: the orchestrator lists this program's hook twice (the second call sees the
first's output) over default parameters; ``start_trial(trial_config=...)`` goes through them,
explicit ``trial_params`` skip them; a hook that raises makes ``start_trial`` fail.

Needs an orchestrator started with ``pre_trial_hooks=[grpc://127.0.0.1:<port>] * 2`` and the
default parameters of ``HOOKS_DEFAULT_PARAMS`` (test_conformance.py), and ``--port <port>``."""

from __future__ import annotations

from typing import Any

import cog_settings
from _common import Run, main
from _components import ActorScript, EnvScript, register_actor, register_environment

import cogment


def setup(run: Run) -> None:
    register_environment(run, "env", EnvScript())
    register_actor(run, "plays", ["player"], ActorScript())
    register_actor(run, "judges", ["referee"], ActorScript())

    async def hook(session: Any) -> None:
        trial_id = session.get_trial_id()
        params = session.trial_parameters
        run.trace.add(
            trial_id, "hook", "call", user=session.get_user_id(), seen=run.params_data(params)
        )
        config = params.config
        if config.tag == "boom":
            raise RuntimeError("conformance: this hook refuses the trial on purpose")
        properties = dict(params.properties)
        if len(params.actors) == 0:
            properties["hooks"] = "1"
            params.environment_endpoint = run.served
            params.max_steps = config.steps
            params.actors = [
                run.actor(
                    "p1",
                    "player",
                    "plays",
                    config=cog_settings.actor_classes.player.config_type(strength=config.variant),
                ),
                run.actor("ref", "referee", "judges"),
            ]
        else:
            properties["hooks"] = str(int(properties.get("hooks", "0")) + 1)
            params.environment_config = cog_settings.environment.config_type(
                label=config.tag, variant=config.variant
            )
        params.properties = properties

    run.context.register_pre_trial_hook(impl=hook)


async def scenario(run: Run) -> None:
    config = cog_settings.trial.config_type(variant=3, steps=2, tag="hooked")
    hooked = await run.controller.start_trial(
        trial_config=config, trial_id_requested=run.requested_id("hooked")
    )
    if not hooked:
        raise RuntimeError("start_trial(trial_config=...) refused the requested id")
    await run.wait_ended([hooked])
    [info] = await run.controller.get_trial_info([hooked])
    run.record("hooked", properties=dict(sorted(dict(info.properties).items())))

    # A failing hook makes start_trial fail.
    try:
        refused = await run.controller.start_trial(
            trial_config=cog_settings.trial.config_type(tag="boom"),
            trial_id_requested=run.requested_id("boom"),
        )
    except Exception:
        run.record("boom", outcome="raised")
    else:
        run.record("boom", outcome="returned", returned=refused)

    params = run.params([run.actor("p1", "player", "plays")], max_steps=1)
    explicit = await run.start(params, "explicit")
    await run.wait_ended([explicit])
    [info] = await run.controller.get_trial_info([explicit])
    run.record("explicit", properties=dict(info.properties), state=info.state.name)
    assert info.state == cogment.TrialState.ENDED


if __name__ == "__main__":
    main(setup, scenario)
