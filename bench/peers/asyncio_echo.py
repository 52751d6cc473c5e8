"""Echo server for N1-N3 of WORKLOADS.md on CPython asyncio (uvloop with --uvloop).

    python3 asyncio_echo.py --style streams                 # start_server, reader.read + writer.write
    /usr/bin/python3 asyncio_echo.py --style protocol --uvloop --listen 127.0.0.1:0

It prints "listening on HOST:PORT" first and serves until SIGINT or SIGTERM,
then exits 0. Every connection sets TCP_NODELAY.
"""

import argparse
import asyncio
import signal
import socket


def nodelay(transport):
    sock = transport.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class EchoProtocol(asyncio.Protocol):
    """create_server's echo: data_received writes back what arrives.

    While the transport's write buffer is over its high-water mark it stops
    reading, as aio's protocol echo does, so a client that does not read is
    held to the buffer's limit.
    """

    def connection_made(self, transport):
        self.transport = transport
        nodelay(transport)

    def data_received(self, data):
        self.transport.write(data)

    def pause_writing(self):
        self.transport.pause_reading()

    def resume_writing(self):
        self.transport.resume_reading()


async def echo_streams(reader, writer):
    """start_server's echo: read up to 100 KiB, write it, drain."""
    nodelay(writer.transport)
    try:
        while True:
            data = await reader.read(102400)
            if not data:
                break
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()


async def serve(style, host, port):
    loop = asyncio.get_running_loop()
    if style == "streams":
        server = await asyncio.start_server(echo_streams, host, port, backlog=4096)
    else:
        server = await loop.create_server(EchoProtocol, host, port, backlog=4096)
    addr = server.sockets[0].getsockname()
    print(f"listening on {addr[0]}:{addr[1]}", flush=True)
    stop = loop.create_future()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, lambda: stop.done() or stop.set_result(None))
    await stop
    server.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--style", choices=("streams", "protocol"), required=True)
    ap.add_argument("--uvloop", action="store_true", help="run on uvloop's event loop")
    ap.add_argument("--listen", default="127.0.0.1:0", help="HOST:PORT to listen on")
    args = ap.parse_args()
    if args.uvloop:
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    host, _, port = args.listen.rpartition(":")
    asyncio.run(serve(args.style, host, int(port)))


if __name__ == "__main__":
    main()
