#!/usr/bin/env python3
"""metamanip_client: the metamanip gateway from Python, in one file you can copy.

Needs only websockets (Debian 12's 10.4 or any newer release), msgpack and numpy.

    from metamanip_client import MetamanipEnv, MetamanipVectorEnv, PolicyClient, run_trial

    # A Gymnasium-style env over the gateway's controller role (ws://host:port/controller).
    env = MetamanipEnv("ws://127.0.0.1:8765", benchmark="ML1:reach", split="test", task=0, seed=1)
    obs, info = env.reset(seed=0)                      # obs: float32 (39,)
    obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
    obs, info = env.reset(options={"task": 3})         # another task of the benchmark (ML10: of any family)

    # Several sims on one connection, stepped together with step_batch (Gymnasium's NEXT_STEP autoreset).
    envs = MetamanipVectorEnv("ws://127.0.0.1:8765", 8, family="reach")
    obs, infos = envs.reset(seed=0)                    # (8, 39); sub-env i seeded 0 + i
    obs, rewards, terminated, truncated, infos = envs.step(np.zeros((8, 4), np.float32))

    # The gateway's policy role (serve --policy, npm start): an RL2 policy that adapts as it acts,
    # so every observation carries the reward of the last action and whether a new episode began.
    policy = PolicyClient("ws://127.0.0.1:8765/")
    results = run_trial(env, policy, episodes=3)       # one task, three episodes, memory kept

Spaces describe themselves (Box: shape, low, high, dtype; sample(), contains()). Errors of the
gateway raise GatewayError(code, message) (codes: docs/PROTOCOL.md); the connection stays usable.
A token (serve --token) rides in the subprotocol metamanip.token.<T>. The socket runs on a
background thread, so the gateway's heartbeat is answered while your code thinks between steps.

Run it as a script for a demo against a running gateway (`npm start`):

    python3 clients/python/metamanip_client.py [ws://127.0.0.1:8765] [--episodes 3] [--task 0] [--seed 1] [--token T]

Wire format and every request: docs/PROTOCOL.md; the policy role: docs/POLICY_SERVER.md.
"""

import argparse
import asyncio
import sys
import threading

import msgpack
import numpy as np
import websockets

__all__ = ["Box", "GatewayError", "PolicyServerError", "MetamanipEnv", "MetamanipVectorEnv", "PolicyClient", "run_trial", "pack_array", "unpack_array"]

DEFAULT_URL = "ws://127.0.0.1:8765"
AUTORESET_NEXT_STEP = "NextStep"  # gymnasium.vector.AutoresetMode.NEXT_STEP's value


# ---------------------------------------------------------------------------------------------
# Frames: msgpack maps; arrays as openpi's ndarray maps with binary keys (numpy reads them as is).

def pack_array(obj):
    """msgpack `default`: numpy arrays and scalars as openpi's ndarray / npgeneric maps."""
    if isinstance(obj, np.ndarray):
        if obj.dtype.kind in ("V", "O", "c"):
            raise TypeError(f"cannot send arrays of dtype {obj.dtype}")
        array = np.ascontiguousarray(obj)
        return {b"__ndarray__": True, b"data": array.tobytes(), b"dtype": array.dtype.str, b"shape": list(array.shape)}
    if isinstance(obj, np.generic):
        return {b"__npgeneric__": True, b"data": obj.item(), b"dtype": obj.dtype.str}
    raise TypeError(f"cannot send {type(obj).__name__}")


def unpack_array(obj):
    """msgpack `object_hook`: ndarray maps back to numpy (a copy: decoded bytes may be unaligned)."""
    if b"__ndarray__" in obj:
        return np.frombuffer(obj[b"data"], dtype=np.dtype(obj[b"dtype"])).reshape(obj[b"shape"]).copy()
    if b"__npgeneric__" in obj:
        return np.dtype(obj[b"dtype"]).type(obj[b"data"])
    return obj


def packb(message):
    return msgpack.packb(message, default=pack_array, use_bin_type=True)


def unpackb(frame):
    return msgpack.unpackb(frame, raw=False, strict_map_key=False, object_hook=unpack_array)


class GatewayError(RuntimeError):
    """A request the gateway refused: `code` is the wire's error code (bad_action, episode_over, ...)."""

    def __init__(self, code, message):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class PolicyServerError(RuntimeError):
    """The policy role's error report (a text frame); the server has closed the connection."""


# ---------------------------------------------------------------------------------------------
# Spaces.

class Box:
    """A Gymnasium-style Box: `shape`, `low`, `high` (arrays; +-inf where unbounded) and `dtype`."""

    def __init__(self, low, high, shape=None, dtype=np.float32, seed=None):
        self.dtype = np.dtype(dtype)
        shape = tuple(shape) if shape is not None else np.shape(low)
        self.shape = shape
        self.low = np.broadcast_to(np.asarray(low, dtype=np.float64), shape).astype(self.dtype)
        self.high = np.broadcast_to(np.asarray(high, dtype=np.float64), shape).astype(self.dtype)
        self._rng = np.random.default_rng(seed)

    @classmethod
    def from_wire(cls, space, batch=None):
        """A space as the gateway describes it ({type: "Box", shape, dtype, low, high}; null = unbounded)."""
        if space.get("type") != "Box":
            raise ValueError(f"unsupported space {space.get('type')!r}")
        shape = tuple(space["shape"])

        def bound(values, infinite):
            if values is None:
                return np.full(shape, infinite)
            return np.array([infinite if v is None else v for v in np.ravel(values)], dtype=np.float64).reshape(shape)

        low, high = bound(space.get("low"), -np.inf), bound(space.get("high"), np.inf)
        if batch is not None:
            low, high, shape = np.broadcast_to(low, (batch,) + shape), np.broadcast_to(high, (batch,) + shape), (batch,) + shape
        return cls(low, high, shape, space.get("dtype", "float32"))

    def seed(self, seed=None):
        self._rng = np.random.default_rng(seed)

    def sample(self):
        """Uniform within bounds; a normal draw where a side is unbounded (as Gymnasium's Box)."""
        low, high = self.low.astype(np.float64), self.high.astype(np.float64)
        bounded = np.isfinite(low) & np.isfinite(high)
        out = self._rng.normal(size=self.shape)
        out = np.where(bounded, self._rng.uniform(np.where(bounded, low, 0), np.where(bounded, high, 1)), out)
        out = np.where(np.isfinite(low) & ~np.isfinite(high), low + self._rng.exponential(size=self.shape), out)
        out = np.where(~np.isfinite(low) & np.isfinite(high), high - self._rng.exponential(size=self.shape), out)
        return out.astype(self.dtype)

    def contains(self, x):
        x = np.asarray(x)
        return x.shape == self.shape and bool(np.all(x >= self.low) and np.all(x <= self.high))

    def __repr__(self):
        return f"Box({self.low.min()}, {self.high.max()}, {self.shape}, {self.dtype})"


# ---------------------------------------------------------------------------------------------
# One WebSocket on a background event loop, so a synchronous API can sit on top and the
# connection still answers the gateway's pings while the caller is busy.

class _Link:
    def __init__(self, url, subprotocols=None, open_timeout=10.0, call_timeout=60.0):
        self.call_timeout = call_timeout
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="metamanip-client", daemon=True)
        self._thread.start()
        self._ws = None
        try:
            self._ws = self.run(self._open(url, subprotocols, open_timeout), timeout=None)
        except BaseException:
            self._stop()
            raise

    @staticmethod
    async def _open(url, subprotocols, open_timeout):
        # Created inside the loop: websockets 10.x looks the event loop up when the connection is made.
        # compression=None: the gateway does not deflate; max_size=None: scenes can be large.
        return await websockets.connect(url, subprotocols=subprotocols or None, compression=None, max_size=None, open_timeout=open_timeout)

    def run(self, coroutine, timeout="default"):
        """Runs a coroutine on the link's loop and returns its result (or raises its exception)."""
        if timeout == "default":
            timeout = self.call_timeout
        if timeout is not None:
            coroutine = asyncio.wait_for(coroutine, timeout)
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

    async def recv(self):
        return await self._ws.recv()

    async def send(self, frame):
        await self._ws.send(frame)

    def close(self):
        if self._ws is not None:
            try:
                self.run(self._ws.close(), timeout=5.0)
            except Exception:
                pass
            self._ws = None
        self._stop()

    def _stop(self):
        if self._loop.is_running():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=5.0)
        if not self._loop.is_running():
            self._loop.close()


def _with_token(protocols, token):
    return list(protocols) + ([f"metamanip.token.{token}"] if token else [])


class _Controller:
    """The controller role: requests with ids, replies matched by id (they come in order)."""

    def __init__(self, url, token=None, open_timeout=10.0, call_timeout=60.0):
        base = url.rstrip("/")
        if base.endswith("/controller"):
            base = base[: -len("/controller")]
        self.link = _Link(f"{base}/controller", _with_token(["metamanip.v1"], token), open_timeout, call_timeout)
        try:
            self.hello = unpackb(self.link.run(self.link.recv()))
        except BaseException:
            self.link.close()
            raise
        if self.hello.get("type") != "hello":
            self.link.close()
            raise GatewayError("bad_frame", f"expected the controller role's hello, got {self.hello!r}")
        self._next_id = 1
        self.closed = False

    def call(self, **message):
        return self.call_many([message])[0]

    def call_many(self, messages):
        """Sends every request at once (pipelined), returns their replies in order; raises the first error."""
        ids = []
        for message in messages:
            message["id"] = self._next_id
            ids.append(self._next_id)
            self._next_id += 1

        async def exchange():
            for message in messages:
                await self.link.send(packb(message))
            replies = {}
            while len(replies) < len(ids):
                reply = unpackb(await self.link.recv())
                if reply.get("id") in ids:
                    replies[reply["id"]] = reply
            return [replies[i] for i in ids]

        replies = self.link.run(exchange())
        for reply in replies:
            if reply.get("type") == "error":
                raise GatewayError(reply.get("code", "error"), reply.get("message", ""))
        return replies

    def close(self):
        if not self.closed:
            self.closed = True
            self.link.close()


def _task_fields(family, benchmark, split, task, seed):
    if (family is None) == (benchmark is None):
        raise ValueError('give exactly one of family (e.g. "reach": its MT1 tasks) or benchmark (e.g. "ML1:reach", "ML10")')
    fields = {"family": family} if family is not None else {"benchmark": benchmark}
    fields.update(split=split, task=int(task), seed=int(seed))
    return fields


def _reset_fields(seed, options):
    fields = {}
    if seed is not None:
        fields["seed"] = int(seed)
    for key, value in (options or {}).items():
        if key not in ("task", "split"):
            raise ValueError(f"unknown reset option {key!r}: the gateway takes 'task' and 'split'")
        fields[key] = int(value) if key == "task" else value
    return fields


def _action(action, shape):
    array = np.asarray(action, dtype=np.float32)
    if array.shape != shape:
        array = array.reshape(shape)
    return array


# ---------------------------------------------------------------------------------------------
# Environments.

class MetamanipEnv:
    """One simulated robot on the gateway, with Gymnasium's reset/step/close and spaces.

    family: a task family ("reach": its MT1 tasks, goal visible), or benchmark: "ML1:reach",
    "MT1:push", "MT10", "ML10" (ML benchmarks hide the goal). split "train" or "test", task its
    index there, seed the benchmark seed (test tasks are drawn with seed + 1). record=True records
    every episode as MCAP on the gateway (docs/RECORDING.md).
    """

    metadata = {"render_modes": []}
    render_mode = None

    def __init__(self, url=DEFAULT_URL, *, family=None, benchmark=None, split="train", task=0, seed=0, record=False, token=None, call_timeout=60.0):
        request = _task_fields(family, benchmark, split, task, seed)
        if record:
            request["record"] = True
        self._controller = _Controller(url, token, call_timeout=call_timeout)
        try:
            opened = self._controller.call(type="open", **request)
        except BaseException:
            self._controller.close()
            raise
        self.sim = opened["sim"]
        #: The sim as the gateway describes it: id, family, benchmark, split, task, seed, episode, step.
        self.sim_info = opened["info"]
        self.record_dir = opened.get("recordDir")
        self.observation_space = Box.from_wire(opened["observationSpace"])
        self.action_space = Box.from_wire(opened["actionSpace"])

    def reset(self, *, seed=None, options=None):
        """Starts an episode: (obs, info). options: {"task": index, "split": "train"|"test"} switch task
        (ML10: of any family; sim_info follows); seed seeds the episode's random stream."""
        reply, listing = self._controller.call_many([
            {"type": "reset", "sim": self.sim, **_reset_fields(seed, options)},
            {"type": "list"},
        ])
        self.sim_info = next((s for s in listing["sims"] if s["id"] == self.sim), self.sim_info)
        return reply["obs"], reply["info"]

    def step(self, action):
        """(obs, reward, terminated, truncated, info); truncated at step 500, then reset before stepping again."""
        reply = self._controller.call(type="step", sim=self.sim, action=_action(action, self.action_space.shape))
        return reply["obs"], float(reply["reward"]), bool(reply["terminated"]), bool(reply["truncated"]), reply["info"]

    def close(self):
        if self._controller.closed:
            return
        try:
            self._controller.call(type="close", sim=self.sim)
        except Exception:
            pass
        self._controller.close()

    @property
    def unwrapped(self):
        return self

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        return f"<MetamanipEnv {self.sim}: {self.sim_info.get('benchmark') or self.sim_info.get('family')} {self.sim_info.get('split')} task {self.sim_info.get('task')}>"


def _stack_infos(infos):
    """Gymnasium's vector info: per key an array over sub-envs, and a boolean mask `_key` of those that have it."""
    keys = []
    for info in infos:
        keys.extend(k for k in info if k not in keys)
    out = {}
    for key in keys:
        present = np.array([key in info for info in infos])
        values = [info.get(key) for info in infos]
        arrays = [np.asarray(v) for v in values if v is not None]
        try:
            fill = np.zeros_like(arrays[0])
            stacked = np.stack([np.asarray(v) if v is not None else fill for v in values])
        except (ValueError, TypeError, IndexError):
            stacked = np.empty(len(values), dtype=object)
            stacked[:] = values
        out[key] = stacked
        out["_" + key] = present
    return out


class MetamanipVectorEnv:
    """`num_envs` sims on one connection, stepped together with one step_batch frame.

    Autoreset is Gymnasium's NEXT_STEP: the step after a sub-env's episode ends resets it instead of
    stepping it, returning its reset observation, reward 0 and terminated = truncated = False.
    reset(seed=s) seeds sub-env i with s + i. tasks: one task index per sub-env (default all `task`).
    """

    metadata = {"autoreset_mode": AUTORESET_NEXT_STEP, "render_modes": []}
    autoreset_mode = AUTORESET_NEXT_STEP
    render_mode = None

    def __init__(self, url=DEFAULT_URL, num_envs=1, *, family=None, benchmark=None, split="train", task=0, tasks=None, seed=0, token=None, call_timeout=60.0):
        if tasks is not None and len(tasks) != num_envs:
            raise ValueError(f"tasks has {len(tasks)} entries for {num_envs} envs")
        self.num_envs = int(num_envs)
        self._controller = _Controller(url, token, call_timeout=call_timeout)
        try:
            limit = self._controller.hello["limits"]["maxSimsPerConnection"]
            if self.num_envs > limit:
                raise ValueError(f"num_envs {self.num_envs} is over the gateway's {limit} sims per connection")
            opened = self._controller.call_many([
                {"type": "open", **_task_fields(family, benchmark, split, tasks[i] if tasks is not None else task, seed)} for i in range(self.num_envs)
            ])
        except BaseException:
            self._controller.close()
            raise
        self.sims = [o["sim"] for o in opened]
        self.sim_infos = [o["info"] for o in opened]
        self.single_observation_space = Box.from_wire(opened[0]["observationSpace"])
        self.single_action_space = Box.from_wire(opened[0]["actionSpace"])
        self.observation_space = Box.from_wire(opened[0]["observationSpace"], batch=self.num_envs)
        self.action_space = Box.from_wire(opened[0]["actionSpace"], batch=self.num_envs)
        self._needs_reset = np.ones(self.num_envs, dtype=bool)

    def reset(self, *, seed=None, options=None):
        """Resets every sub-env: (obs (n, obs_dim), infos). seed: an int (sub-env i gets seed + i) or a list;
        options as MetamanipEnv.reset, a list value giving one per sub-env (e.g. {"task": [0, 1, 2]})."""
        seeds = [None] * self.num_envs if seed is None else [seed + i for i in range(self.num_envs)] if np.isscalar(seed) else list(seed)
        requests = []
        for i, sim in enumerate(self.sims):
            own = {k: (v[i] if isinstance(v, (list, tuple, np.ndarray)) else v) for k, v in (options or {}).items()}
            requests.append({"type": "reset", "sim": sim, **_reset_fields(seeds[i], own)})
        replies = self._controller.call_many(requests)
        self._needs_reset[:] = False
        return np.stack([r["obs"] for r in replies]), _stack_infos([r["info"] for r in replies])

    def step(self, actions):
        """(obs, rewards, terminated, truncated, infos), each with a leading axis of num_envs."""
        actions = _action(actions, self.action_space.shape)
        resetting = np.flatnonzero(self._needs_reset)
        stepping = np.flatnonzero(~self._needs_reset)
        requests = [{"type": "reset", "sim": self.sims[i]} for i in resetting]
        if len(stepping):
            requests.append({"type": "step_batch", "sims": [self.sims[i] for i in stepping], "actions": np.ascontiguousarray(actions[stepping])})
        replies = self._controller.call_many(requests)
        obs = np.zeros(self.observation_space.shape, dtype=self.single_observation_space.dtype)
        rewards = np.zeros(self.num_envs, dtype=np.float64)
        terminated = np.zeros(self.num_envs, dtype=bool)
        truncated = np.zeros(self.num_envs, dtype=bool)
        infos = [None] * self.num_envs
        for i, reply in zip(resetting, replies):
            obs[i], infos[i] = reply["obs"], reply["info"]
        if len(stepping):
            for i, result in zip(stepping, replies[-1]["results"]):
                obs[i], rewards[i], infos[i] = result["obs"], result["reward"], result["info"]
                terminated[i], truncated[i] = result["terminated"], result["truncated"]
        self._needs_reset = terminated | truncated
        return obs, rewards, terminated, truncated, _stack_infos(infos)

    def close(self):
        if self._controller.closed:
            return
        try:
            self._controller.call_many([{"type": "close", "sim": sim} for sim in self.sims])
        except Exception:
            pass
        self._controller.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# ---------------------------------------------------------------------------------------------
# The policy role (openpi's websocket protocol, RL2's extra inputs).

class PolicyClient:
    """A robot's connection to the gateway's policy role (ws://host:port/, `serve --policy`).

    RL2 adapts in its memory: each observation carries `reward`, what the previous action earned,
    and `episode_start`, whether this observation begins a new episode of the same task. A
    connection is one robot; reset() starts a new trial (a new task: memory cleared).
    """

    def __init__(self, url=DEFAULT_URL + "/", *, token=None, call_timeout=60.0):
        self.link = _Link(url, _with_token([], token), call_timeout=call_timeout)
        try:
            self.metadata = unpackb(self.link.run(self.link.recv()))
        except BaseException:
            self.link.close()
            raise
        #: The server's last reply (actions, trial, step, value, server_timing).
        self.last_reply = None
        self.closed = False

    def infer(self, observation):
        """Sends one map, returns the server's map. Raises PolicyServerError on its text-frame error report."""
        async def exchange():
            await self.link.send(packb(observation))
            return await self.link.recv()

        try:
            reply = self.link.run(exchange())
        except websockets.exceptions.ConnectionClosed as closed:
            raise PolicyServerError(f"the policy server closed the connection ({closed})") from None
        if isinstance(reply, str):
            self.close()
            raise PolicyServerError(reply)
        self.last_reply = unpackb(reply)
        return self.last_reply

    def act(self, obs, reward=0.0, episode_start=False):
        """The action for `obs` (float32 (action_dim,)); `reward` earned by the previous action, and
        `episode_start` true on the first observation of a new episode of the same trial."""
        reply = self.infer({
            "observation/state": np.asarray(obs, dtype=np.float32),
            "reward": float(reward),
            "episode_start": bool(episode_start),
        })
        return reply["actions"][0]

    def reset(self, seed=None, deterministic=None):
        """Starts a new trial; seed (unsigned 32-bit) the trial's action-noise seed. Returns the acknowledgement."""
        message = {"reset": True}
        if seed is not None:
            message["seed"] = int(seed)
        if deterministic is not None:
            message["deterministic"] = bool(deterministic)
        return self.infer(message)

    def close(self):
        if not self.closed:
            self.closed = True
            self.link.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def run_trial(env, policy, episodes, *, policy_seed=None, env_seed=None, options=None, new_trial=True):
    """One RL2 trial: `episodes` episodes of one task, the policy's memory kept across them.

    The policy gets each observation with the reward of the previous action, and episode_start on
    the first observation of every episode after the first (with the last reward of the episode
    before). new_trial: start with policy.reset(policy_seed) (a fresh memory). Episode k is reset
    with env_seed + k when env_seed is given; options (e.g. {"task": 3}) apply to the first reset.
    Returns one {"return", "success", "steps"} per episode.
    """
    if new_trial:
        policy.reset(seed=policy_seed)
    results = []
    reward, episode_start = 0.0, False
    for k in range(episodes):
        obs, info = env.reset(seed=None if env_seed is None else env_seed + k, options=options if k == 0 else None)
        total, success, steps = 0.0, False, 0
        while True:
            action = policy.act(obs, reward, episode_start)
            episode_start = False
            obs, reward, terminated, truncated, info = env.step(action)
            total += reward
            success = success or info.get("success") == 1
            steps += 1
            if terminated or truncated:
                break
        # The next observation (the next episode's first) carries this episode's last reward.
        episode_start = True
        results.append({"return": total, "success": success, "steps": steps})
    return results


# ---------------------------------------------------------------------------------------------

def _demo(argv=None):
    parser = argparse.ArgumentParser(description="Run a trial of the gateway's policy (or a proportional controller) on a sim over the controller role.")
    parser.add_argument("url", nargs="?", default=DEFAULT_URL, help=f"the gateway (default {DEFAULT_URL})")
    parser.add_argument("--episodes", type=int, default=3)
    parser.add_argument("--task", type=int, default=0, help="test task index (default 0)")
    parser.add_argument("--seed", type=int, default=1, help="benchmark seed: use the one the policy was trained with, so its test tasks are held out (default 1, as npm start)")
    parser.add_argument("--token", default=None)
    args = parser.parse_args(argv)
    try:
        policy = PolicyClient(args.url.rstrip("/") + "/", token=args.token)
    except Exception as error:
        policy = None
        print(f"no policy role ({error}); a proportional controller on MT1 reach instead", file=sys.stderr)
    if policy is not None:
        meta = policy.metadata
        with MetamanipEnv(args.url, benchmark=meta["benchmark"], split="test", task=args.task, seed=args.seed, token=args.token) as env:
            print(f"{env!r}, policy {meta['policy']} ({meta['benchmark']})")
            for k, result in enumerate(run_trial(env, policy, args.episodes)):
                print(f"episode {k}: return {result['return']:.1f}, success {result['success']}")
        policy.close()
        return 0
    with MetamanipEnv(args.url, family="reach", split="test", task=args.task, token=args.token) as env:
        for k in range(args.episodes):
            obs, info = env.reset(seed=k)
            total, done = 0.0, False
            while not done:
                # MT1 tasks show the goal (obs[36:39]): steer the hand (obs[0:3]) to it.
                action = np.append(np.clip((obs[36:39] - obs[0:3]) * 20.0, -1.0, 1.0), -1.0)
                obs, reward, terminated, truncated, info = env.step(action)
                total += reward
                done = terminated or truncated
            print(f"episode {k}: return {total:.1f}, success {info['success'] == 1}")
    return 0


if __name__ == "__main__":
    sys.exit(_demo())
