"""A TCP relay in front of Redis that counts round trips, for
scripts/replicas-bench.sh.

Usage: python redis_relay.py LISTEN_PORT REDIS_PORT COUNT_FILE

On each connection, the client's writes up to the next reply from Redis
count as one round trip: commands sent together (pipelined, or in one
MULTI/EXEC) are one, a command sent after its predecessor's reply is
another. COUNT_FILE holds the total so far, rewritten after each.
"""

import asyncio
import os
import sys

listen_port, redis_port, count_file = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
total = 0


def record():
    with open(count_file + ".tmp", "w") as f:
        f.write(str(total))
    os.replace(count_file + ".tmp", count_file)


async def handle(client_reader, client_writer):
    redis_reader, redis_writer = await asyncio.open_connection("127.0.0.1", redis_port)
    # True once Redis has answered since the client last wrote.
    state = {"answered": True}

    async def upstream():
        global total
        while data := await client_reader.read(65536):
            if state["answered"]:
                state["answered"] = False
                total += 1
                record()
            redis_writer.write(data)
            await redis_writer.drain()
        redis_writer.close()

    async def downstream():
        while data := await redis_reader.read(65536):
            state["answered"] = True
            client_writer.write(data)
            await client_writer.drain()
        client_writer.close()

    await asyncio.gather(upstream(), downstream(), return_exceptions=True)


async def main():
    record()
    server = await asyncio.start_server(handle, "127.0.0.1", listen_port)
    async with server:
        await server.serve_forever()


asyncio.run(main())
