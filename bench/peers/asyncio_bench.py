"""W1-W7 of WORKLOADS.md for CPython asyncio (and uvloop with --uvloop).

    python3 asyncio_bench.py W1 [--scale S]
    /usr/bin/python3 asyncio_bench.py W1 --uvloop

Runs one workload once and prints one JSON line:
{"workload", "ops", "seconds", "ops_per_sec", "peak_rss_mib", "note"}.
The clock starts on the loop, in the first callback or at the top of the
first coroutine, and stops on the loop when completion is detected. Counts
and checksums are checked after the loop returns; a mismatch exits 1.
"""

import argparse
import asyncio
import json
import resource
import sys
import threading
import time


class Mismatch(Exception):
    """A count or checksum the workload asserts did not hold."""


def scaled(n, scale):
    return max(1, int(n * scale))


def check(ok, msg):
    if not ok:
        raise Mismatch(msg)


def w1(loop, scale):
    """call_soon fan-out: N counting callbacks, then a sentinel."""
    n = scaled(1_000_000, scale)
    count, t0, t1 = 0, 0.0, 0.0

    def cb():
        nonlocal count
        count += 1

    def finish():
        nonlocal t1
        t1 = time.perf_counter()
        loop.stop()

    def start():
        nonlocal t0
        t0 = time.perf_counter()
        for _ in range(n):
            loop.call_soon(cb)
        loop.call_soon(finish)

    loop.call_soon(start)
    loop.run_forever()
    check(count == n, f"W1: counter {count}, want {n}")
    return n, t1 - t0, ""


def w2(loop, scale):
    """call_soon chain: each callback schedules the next."""
    n = scaled(1_000_000, scale)
    count, t0, t1 = 0, 0.0, 0.0

    def cb():
        nonlocal count, t1
        count += 1
        if count < n:
            loop.call_soon(cb)
            return
        t1 = time.perf_counter()
        loop.stop()

    def start():
        nonlocal t0
        t0 = time.perf_counter()
        loop.call_soon(cb)

    loop.call_soon(start)
    loop.run_forever()
    check(count == n, f"W2: counter {count}, want {n}")
    return n, t1 - t0, ""


def w3_delays(n):
    """The W3 delays in ms: a 32-bit LCG from 12345, each x/2^32 of 50 ms."""
    delays = []
    x = 12345
    for _ in range(n):
        x = (1664525 * x + 1013904223) % (1 << 32)
        delays.append(x / (1 << 32) * 50)
    return delays


def w3(loop, scale):
    """Timers: N call_later with the LCG delays, the odd ones cancelled."""
    n = scaled(200_000, scale)
    delays = w3_delays(n)
    want = (n + 1) // 2
    fired, wrong, t0, t1 = 0, 0, 0.0, 0.0

    def cb(i):
        nonlocal fired, wrong, t1
        if i % 2:
            wrong += 1
            return
        fired += 1
        if fired == want:
            t1 = time.perf_counter()
            loop.stop()

    def start():
        nonlocal t0
        t0 = time.perf_counter()
        hs = [loop.call_later(d / 1000, cb, i) for i, d in enumerate(delays)]
        for h in hs[1::2]:
            h.cancel()

    loop.call_soon(start)
    loop.run_forever()
    check(fired == want and wrong == 0,
          f"W3: fired {fired} (want {want}), cancelled timers fired {wrong}")
    return n + n // 2, t1 - t0, f"delay_sum_ms={sum(delays):.3f}"


def w4(loop, scale):
    """Threadsafe submission: 4 threads released by a gate, N/4 each."""
    producers = 4
    n = scaled(1_000_000, scale)
    count, t0, t1 = 0, 0.0, 0.0
    gate = threading.Event()

    def cb():
        nonlocal count, t1
        count += 1
        if count == n:
            t1 = time.perf_counter()
            loop.stop()

    def produce(k):
        gate.wait()
        for _ in range(k):
            loop.call_soon_threadsafe(cb)

    threads = [threading.Thread(target=produce, args=(n // producers + (p < n % producers),))
               for p in range(producers)]
    for t in threads:
        t.start()

    def start():
        nonlocal t0
        t0 = time.perf_counter()
        gate.set()

    loop.call_soon(start)
    loop.run_forever()
    for t in threads:
        t.join()
    check(count == n, f"W4: counter {count}, want {n}")
    return n, t1 - t0, ""


def w5(loop, scale):
    """Future resolution: create, add a done-callback, set the result."""
    n = scaled(1_000_000, scale)
    count, total, t0, t1 = 0, 0, 0.0, 0.0

    def cb(f):
        nonlocal count, total, t1
        count += 1
        total += f.result()
        if count == n:
            t1 = time.perf_counter()
            loop.stop()

    def start():
        nonlocal t0
        t0 = time.perf_counter()
        for i in range(n):
            f = loop.create_future()
            f.add_done_callback(cb)
            f.set_result(i)

    loop.call_soon(start)
    loop.run_forever()
    want = n * (n - 1) // 2
    check(count == n and total == want, f"W5: counter {count} sum {total}, want {n} and {want}")
    return n, t1 - t0, ""


def w6(loop, scale):
    """Await ping-pong: one task awaits N futures resolved by call_soon."""
    n = scaled(200_000, scale)

    async def main():
        t0 = time.perf_counter()
        s = 0
        for i in range(n):
            f = loop.create_future()
            loop.call_soon(f.set_result, i)
            s += await f
        return s, time.perf_counter() - t0

    s, el = loop.run_until_complete(main())
    want = n * (n - 1) // 2
    check(s == want, f"W6: sum {s}, want {want}")
    return n, el, f"{el / n * 1e9:.0f} ns/await"


def w7(loop, scale):
    """Many tasks: T tasks each sleep(0) 10 times; main gathers them."""
    t = scaled(100_000, scale)
    steps = 10
    done = 0

    async def worker():
        nonlocal done
        for _ in range(steps):
            await asyncio.sleep(0)
            done += 1

    async def main():
        t0 = time.perf_counter()
        tasks = [loop.create_task(worker()) for _ in range(t)]
        await asyncio.gather(*tasks)
        return time.perf_counter() - t0

    el = loop.run_until_complete(main())
    check(done == steps * t, f"W7: steps {done}, want {steps * t}")
    return steps * t, el, ""


WORKLOADS = {"W1": w1, "W2": w2, "W3": w3, "W4": w4, "W5": w5, "W6": w6, "W7": w7}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("workload", choices=sorted(WORKLOADS))
    ap.add_argument("--scale", type=float, default=1.0, help="multiply every N by this factor")
    ap.add_argument("--uvloop", action="store_true", help="run on uvloop's event loop")
    args = ap.parse_args()
    if args.uvloop:
        import uvloop
        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        ops, seconds, note = WORKLOADS[args.workload](loop, args.scale)
    except Mismatch as e:
        print(f"asyncio_bench: {e}", file=sys.stderr)
        return 1
    finally:
        loop.close()
    print(json.dumps({
        "workload": args.workload,
        "ops": ops,
        "seconds": seconds,
        "ops_per_sec": ops / seconds,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "note": note,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
