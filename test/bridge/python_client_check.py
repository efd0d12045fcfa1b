#!/usr/bin/python3
"""Drives a gateway with clients/python/metamanip_client.py as a user would, and prints a JSON report
for test/bridge/python-client.test.ts to check against local replays of the same episodes.

Usage: python_client_check.py ws://127.0.0.1:PORT TOKEN HEARTBEAT_SECONDS
"""

import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "clients", "python"))

import numpy as np  # noqa: E402
import websockets  # noqa: E402

from metamanip_client import GatewayError, MetamanipEnv, MetamanipVectorEnv, PolicyClient, PolicyServerError, run_trial  # noqa: E402


def floats(array):
    return np.asarray(array, dtype=np.float64).tolist()


def single_env(url, token, heartbeat):
    """A full MT1 reach episode with a proportional controller, then the errors and a task switch."""
    with MetamanipEnv(url, family="reach", split="test", task=4, seed=5, token=token) as env:
        spaces = {
            "obs": [list(env.observation_space.shape), str(env.observation_space.dtype)],
            "action": [list(env.action_space.shape), str(env.action_space.dtype), floats(env.action_space.low), floats(env.action_space.high)],
            "sample_in_bounds": bool(env.action_space.contains(env.action_space.sample())),
        }
        obs, info = env.reset(seed=0)
        first_obs = floats(obs)
        actions, total, success, steps = [], 0.0, False, 0
        truncated = terminated = False
        while not (terminated or truncated):
            action = np.append(np.clip((obs[36:39] - obs[0:3]) * 20.0, -1.0, 1.0), -1.0).astype(np.float32)
            obs, reward, terminated, truncated, info = env.step(action)
            assert obs.dtype == np.float32 and obs.shape == (39,), (obs.dtype, obs.shape)
            total += reward
            success = success or info["success"] == 1
            steps += 1
            actions.append(floats(action))
            if steps == 250:
                # Idle for several of the gateway's heartbeat periods: the client's background loop answers its pings.
                time.sleep(4 * heartbeat)
        last_obs = floats(obs)
        errors = {}
        try:
            env.step(np.zeros(4))
        except GatewayError as error:
            errors["after_end"] = error.code
        env.reset(options={"task": 1})
        try:
            env.step([np.nan, 0, 0, 0])
        except GatewayError as error:
            errors["nan"] = [error.code, error.message]
        try:
            env.reset(options={"task": 50})
        except GatewayError as error:
            errors["bad_task"] = [error.code, error.message]
        try:
            env.reset(options={"tsak": 1})
        except ValueError as error:
            errors["bad_option"] = str(error)
        # Still usable after refused requests.
        obs, info = env.reset(seed=0)
        return {
            "spaces": spaces, "steps": steps, "return": total, "success": success, "terminated": terminated, "truncated": truncated,
            "first_obs": first_obs, "last_obs": last_obs, "actions": actions, "errors": errors,
            "sim_info": env.sim_info, "again_first_obs": floats(obs),
        }


def families(url, token):
    """ML10 through reset options: a task of another family each time, and the test split."""
    out = []
    with MetamanipEnv(url, benchmark="ML10", token=token) as env:
        for options in ({"task": 0}, {"task": 60}, {"split": "test", "task": 0}):
            obs, info = env.reset(seed=1, options=options)
            obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
            out.append({"family": env.sim_info["family"], "split": env.sim_info["split"], "task": env.sim_info["task"], "obs_shape": list(obs.shape)})
    return out


def vector(url, token):
    """Three reach sims stepped together through two episode ends (NEXT_STEP autoreset)."""
    rng = np.random.default_rng(0)
    with MetamanipVectorEnv(url, 3, family="reach", tasks=[0, 1, 2], token=token) as envs:
        obs, infos = envs.reset(seed=10)
        report = {
            "autoreset_mode": envs.metadata["autoreset_mode"], "obs_shape": list(obs.shape), "obs_dtype": str(obs.dtype),
            "single_action_shape": list(envs.single_action_space.shape), "action_shape": list(envs.action_space.shape),
            "reset_obs": [floats(o) for o in obs], "info_keys": sorted(infos.keys()),
            "actions": [], "rewards": [], "truncated": [], "terminated": [], "obs0": [],
        }
        for t in range(502):
            actions = rng.uniform(-1, 1, (3, 4)).astype(np.float32)
            obs, rewards, terminated, truncated, infos = envs.step(actions)
            report["actions"].append(floats(actions[0]))
            report["rewards"].append(floats(rewards))
            report["truncated"].append(truncated.tolist())
            report["terminated"].append(terminated.tolist())
            if t in (498, 499, 500, 501):
                report["obs0"].append(floats(obs[0]))
        report["success_mask"] = infos["_success"].tolist()
        return report


class RecordingPolicy(PolicyClient):
    """The policy client, keeping every action it returned (the test replays them locally)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.actions = []

    def act(self, obs, reward=0.0, episode_start=False):
        action = super().act(obs, reward, episode_start)
        assert action.dtype == np.float32 and action.shape == (4,), (action.dtype, action.shape)
        self.actions.append(floats(action))
        return action


def policy_trial(url, token):
    """Two episodes of one held-out ML1 reach task, the gateway's policy acting through run_trial."""
    with MetamanipEnv(url, benchmark="ML1:reach", split="test", task=0, seed=1, token=token) as env, RecordingPolicy(url + "/", token=token) as policy:
        metadata = {k: policy.metadata[k] for k in ("server", "benchmark", "obs_size", "action_dim", "episode_steps")}
        results = run_trial(env, policy, 2, policy_seed=7, env_seed=21)
        last = {k: policy.last_reply[k] for k in ("trial", "step")}
        errors = {}
        try:
            policy.infer({"observation/state": np.zeros(38, np.float32)})
        except PolicyServerError as error:
            errors["short"] = str(error)
        return {"metadata": metadata, "results": results, "last": last, "actions": policy.actions, "errors": errors}


def main():
    url, token, heartbeat = sys.argv[1], sys.argv[2], float(sys.argv[3])
    report = {"websockets": websockets.__version__}
    report["single"] = single_env(url, token, heartbeat)
    report["families"] = families(url, token)
    report["vector"] = vector(url, token)
    report["policy"] = policy_trial(url, token)
    try:
        MetamanipEnv(url, family="reach", token="wrong-token")
    except Exception as error:
        report["wrong_token"] = type(error).__name__
    print(json.dumps(report))


if __name__ == "__main__":
    main()
