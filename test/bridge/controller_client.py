#!/usr/bin/python3
"""A Python controller client of the metamanip gateway, as a robotics user would write one:
websockets + msgpack + numpy, arrays as openpi ndarray maps. Runs one full 500-step reach
episode with a proportional controller, a batched step and a refused NaN action, then prints a
JSON report (actions included, so the test can replay them locally).

Usage: controller_client.py ws://127.0.0.1:PORT [TOKEN]
"""

import asyncio
import json
import sys

import msgpack
import numpy as np
import websockets


def pack_array(array):
    array = np.ascontiguousarray(array)
    return {b"__ndarray__": True, b"data": array.tobytes(), b"dtype": array.dtype.str, b"shape": list(array.shape)}


def unpack_array(value):
    if isinstance(value, dict) and value.get(b"__ndarray__"):
        return np.frombuffer(value[b"data"], dtype=np.dtype(value[b"dtype"])).reshape(value[b"shape"])
    return value


def encode(message):
    return msgpack.packb(message, use_bin_type=True)


def decode(frame):
    # object_hook sees every map, nested ones included (as openpi's msgpack_numpy does).
    return msgpack.unpackb(frame, raw=False, strict_map_key=False, object_hook=unpack_array)


class Controller:
    def __init__(self, socket):
        self.socket = socket
        self.next_id = 1

    async def call(self, **message):
        message["id"] = self.next_id
        self.next_id += 1
        await self.socket.send(encode(message))
        while True:
            reply = decode(await self.socket.recv())
            if reply.get("id") == message["id"]:
                return reply


async def main(url, token):
    protocols = ["metamanip.v1"] + ([f"metamanip.token.{token}"] if token else [])
    async with websockets.connect(f"{url}/controller", subprotocols=protocols, compression=None) as socket:
        hello = decode(await socket.recv())
        assert hello["type"] == "hello", hello
        client = Controller(socket)
        opened = await client.call(type="open", family="reach", split="test", task=4, seed=5)
        assert opened["type"] == "open", opened
        sim = opened["sim"]
        assert opened["observationSpace"]["shape"] == [39]

        reset = await client.call(type="reset", sim=sim, seed=0)
        obs = reset["obs"]
        assert obs.dtype == np.float32 and obs.shape == (39,), (obs.dtype, obs.shape)
        first_obs = obs.tolist()
        actions, total, success, steps, truncated = [], 0.0, False, 0, False
        while not truncated:
            # Proportional control of the hand towards the goal (obs[36:39], visible in MT1 tasks).
            delta = np.clip((obs[36:39] - obs[0:3]) * 20.0, -1.0, 1.0)
            action = np.concatenate([delta, [-1.0]]).astype(np.float32)
            reply = await client.call(type="step", sim=sim, action=pack_array(action))
            assert reply["type"] == "step", reply
            obs = reply["obs"]
            total += reply["reward"]
            success = success or reply["info"]["success"] == 1
            truncated = reply["truncated"]
            steps += 1
            actions.append(action.tolist())

        refused = await client.call(type="reset", sim=sim, task=1)
        nan = await client.call(type="step", sim=sim, action=pack_array(np.array([np.nan, 0, 0, 0], dtype=np.float32)))
        short = await client.call(type="step", sim=sim, action=[0.0, 0.0])
        second = await client.call(type="open", benchmark="ML1:reach", split="train", task=0)
        await client.call(type="reset", sim=second["sim"])
        batch = await client.call(type="step_batch", sims=[sim, second["sim"]], actions=pack_array(np.zeros((2, 4), dtype=np.float32)))
        closed = await client.call(type="close", sim=sim)
        report = {
            "steps": steps,
            "return": total,
            "success": success,
            "first_obs": first_obs,
            "last_obs": obs.tolist(),
            "actions": actions,
            "refused": [nan["type"], nan.get("code"), nan.get("message"), short.get("code"), refused["type"]],
            "batch": [[r["sim"], list(r["obs"].shape), str(r["obs"].dtype)] for r in batch["results"]],
            "closed": closed["type"],
        }
        print(json.dumps(report))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None))
