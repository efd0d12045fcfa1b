"""A Python robot client of metamanip's policy server, as openpi clients talk (websockets + msgpack + numpy).

Run with Debian's interpreter (/usr/bin/python3: python3-websockets 10.4, python3-msgpack, python3-numpy).
test/bridge/python-policy.test.ts starts the server and runs it in two modes:

  policy_client.py episode URL   the test is the robot's world: it writes one JSON line per control step
                                 to stdin ({"obs": [...], "reward": r, "episode_start": b}, or {"reset": true,
                                 "seed": n}, or {"end": true}); this client asks the server for the action and
                                 writes {"actions": [...], ...} back on stdout. The first stdout line is the
                                 server's metadata.
  policy_client.py synthetic URL sends synthetic observations, checks action shapes and dtypes, reset, and the
                                 error convention (text frame, then close 1011); prints one JSON summary line.
"""

import asyncio
import functools
import json
import sys

import msgpack
import numpy as np
import websockets


# openpi's msgpack_numpy conventions: arrays as maps with binary keys and raw C-order bytes.
def pack_array(obj):
    if isinstance(obj, np.ndarray):
        if obj.dtype.kind in ("V", "O", "c"):
            raise ValueError(f"unsupported dtype {obj.dtype}")
        return {b"__ndarray__": True, b"data": np.ascontiguousarray(obj).tobytes(), b"dtype": obj.dtype.str, b"shape": obj.shape}
    if isinstance(obj, np.generic):
        return {b"__npgeneric__": True, b"data": obj.item(), b"dtype": obj.dtype.str}
    return obj


def unpack_array(obj):
    if b"__ndarray__" in obj:
        return np.ndarray(buffer=obj[b"data"], dtype=np.dtype(obj[b"dtype"]), shape=obj[b"shape"])
    if b"__npgeneric__" in obj:
        return np.dtype(obj[b"dtype"]).type(obj[b"data"])
    return obj


packb = functools.partial(msgpack.packb, default=pack_array)
unpackb = functools.partial(msgpack.unpackb, object_hook=unpack_array)


class ServerError(RuntimeError):
    pass


async def connect(url):
    # As openpi's client: no compression, no size limit; the first frame is the metadata map.
    ws = await websockets.connect(url, compression=None, max_size=None)
    metadata = unpackb(await ws.recv())
    return ws, metadata


async def infer(ws, obs):
    await ws.send(packb(obs))
    reply = await ws.recv()
    if isinstance(reply, str):
        # Any text frame is an error report (openpi's convention).
        raise ServerError(reply)
    return unpackb(reply)


def check_actions(reply, metadata):
    actions = reply["actions"]
    assert isinstance(actions, np.ndarray), type(actions)
    assert actions.dtype == np.float32, actions.dtype
    assert actions.shape == (metadata["action_horizon"], metadata["action_dim"]), actions.shape
    low, high = metadata["action_space"]["low"], metadata["action_space"]["high"]
    assert np.all(actions >= low) and np.all(actions <= high), actions
    timing = reply["server_timing"]
    assert timing["infer_ms"] >= 0, timing
    return actions


def emit(message):
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


async def episode(url):
    ws, metadata = await connect(url)
    emit({"metadata": metadata})
    loop = asyncio.get_running_loop()
    steps = 0
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line:
            break
        message = json.loads(line)
        if message.get("end"):
            break
        if message.get("reset"):
            reply = await infer(ws, {"reset": True, "seed": int(message["seed"])})
            assert reply["reset"] is True and "actions" not in reply, reply
            emit({"reset": True, "trial": reply["trial"], "seed": reply["seed"]})
            continue
        obs = {
            "observation/state": np.asarray(message["obs"], dtype=np.float32),
            # numpy scalars travel as __npgeneric__ maps.
            "reward": np.float32(message["reward"]),
            "episode_start": np.bool_(message["episode_start"]),
            "prompt": "reach the goal",
        }
        reply = await infer(ws, obs)
        actions = check_actions(reply, metadata)
        steps += 1
        answer = {"actions": actions[0].tolist(), "step": reply["step"], "trial": reply["trial"], "infer_ms": reply["server_timing"]["infer_ms"]}
        if "adapted" in reply:
            # A MAML policy says whether the server has taken this connection's inner step.
            answer["adapted"] = bool(reply["adapted"])
        emit(answer)
    await ws.close()
    assert ws.close_code == 1000, ws.close_code
    emit({"done": True, "steps": steps})


async def expect_error(url, frame):
    """Sends one bad frame; returns the text the server sent and its close code."""
    ws, _ = await connect(url)
    await ws.send(frame)
    reply = await ws.recv()
    assert isinstance(reply, str), f"expected a text frame, got {type(reply)}"
    try:
        await ws.recv()
        raise AssertionError("the server kept the connection open after an error")
    except websockets.ConnectionClosed as closed:
        return reply, closed.code


async def synthetic(url):
    rng = np.random.default_rng(0)
    ws, metadata = await connect(url)
    assert metadata["server"] == "metamanip" and metadata["obs_size"] == 39, metadata
    size = metadata["obs_size"]
    first = None
    for step in range(50):
        obs = {"observation/state": rng.uniform(-1, 1, size).astype(np.float32), "reward": float(step % 3), "episode_start": False}
        reply = await infer(ws, obs)
        actions = check_actions(reply, metadata)
        assert reply["step"] == step, reply["step"]
        if step == 0:
            first = (obs["observation/state"], actions.copy())
        else:
            assert "prev_total_ms" in reply["server_timing"], reply["server_timing"]
    # A new trial with the connection's first seed replays the first action; float64 input is accepted.
    ack = await infer(ws, {"reset": True, "seed": metadata["seed"]})
    assert ack["reset"] is True and ack["trial"] == 2, ack
    replay = await infer(ws, {"observation/state": first[0].astype(np.float64).reshape(1, size)})
    assert np.array_equal(check_actions(replay, metadata), first[1]), (replay["actions"], first[1])
    await ws.close()

    errors = {}
    for name, frame in [
        ("short", packb({"observation/state": np.zeros(size - 1, np.float32)})),
        ("nan", packb({"observation/state": np.full(size, np.nan, np.float32)})),
        ("missing", packb({"image": np.zeros((2, 2, 3), np.uint8)})),
        ("text", "hello"),
        ("garbage", b"\x85\xa3o"),
    ]:
        text, code = await expect_error(url, frame)
        assert code == 1011, (name, code)
        errors[name] = text
    emit({"ok": True, "steps": 50, "errors": errors})


def main():
    mode, url = sys.argv[1], sys.argv[2]
    asyncio.run({"episode": episode, "synthetic": synthetic}[mode](url))


if __name__ == "__main__":
    main()
